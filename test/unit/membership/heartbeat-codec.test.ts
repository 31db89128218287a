import { decodeHeartbeat, encodeHeartbeat, FLAG_ACK, FLAG_LEAVING, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';

const key = Buffer.alloc(32, 7);
const hb: Heartbeat = { node: 'node1', incarnation: 1_700_000_000_123, sequence: 42, timestamp: 1_700_000_001_000, flags: FLAG_ACK, echoTimestamp: 1_700_000_000_900, echoDelayMs: 12 };

describe('heartbeat codec', () => {
  it('round-trips every field', () => {
    const r = decodeHeartbeat(encodeHeartbeat(hb, key), key);
    expect(r).toEqual({ ok: true, heartbeat: hb });
  });

  it('round-trips UTF-8 node names and the leaving flag', () => {
    const x = { ...hb, node: 'nœud-é', flags: FLAG_LEAVING, echoTimestamp: 0, echoDelayMs: 0 };
    expect(decodeHeartbeat(encodeHeartbeat(x, key), key)).toEqual({ ok: true, heartbeat: x });
  });

  it('rejects a packet signed with another key as forged', () => {
    expect(decodeHeartbeat(encodeHeartbeat(hb, Buffer.alloc(32, 8)), key)).toEqual({ ok: false, reason: 'forged' });
  });

  it.each([
    ['node name', 8],
    ['flags', 5],
    ['incarnation', 7 + 5 + 3],
    ['sequence', 7 + 5 + 8 + 7],
    ['timestamp', 7 + 5 + 16 + 7],
    ['echo', 7 + 5 + 24 + 7],
    ['mac', -1],
  ])('rejects a packet whose %s was altered as forged', (_what, offset) => {
    const buf = encodeHeartbeat(hb, key);
    const i = offset < 0 ? buf.length + offset : offset;
    buf[i] ^= 0x01;
    expect(decodeHeartbeat(buf, key)).toEqual({ ok: false, reason: 'forged' });
  });

  it('rejects truncated, oversized and foreign packets as malformed', () => {
    const buf = encodeHeartbeat(hb, key);
    expect(decodeHeartbeat(buf.subarray(0, buf.length - 1), key)).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeHeartbeat(Buffer.concat([buf, Buffer.alloc(1)]), key)).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeHeartbeat(Buffer.from('hello'), key)).toEqual({ ok: false, reason: 'malformed' });
    const wrongMagic = Buffer.from(buf);
    wrongMagic[0] = 0;
    expect(decodeHeartbeat(wrongMagic, key)).toEqual({ ok: false, reason: 'malformed' });
    const wrongVersion = Buffer.from(buf);
    wrongVersion[4] = 2;
    expect(decodeHeartbeat(wrongVersion, key)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses to encode an empty or too long node name', () => {
    expect(() => encodeHeartbeat({ ...hb, node: '' }, key)).toThrow();
    expect(() => encodeHeartbeat({ ...hb, node: 'x'.repeat(256) }, key)).toThrow();
  });
});
