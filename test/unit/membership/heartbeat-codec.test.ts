import {
  decodeHeartbeat,
  encodeHeartbeat,
  FLAG_ACK,
  FLAG_LEAVING,
  HEARTBEAT_MAX_LEN,
  HEARTBEAT_MIN_LEN,
  heartbeatKey,
  parseHeader,
  sequenceOffset,
  type Heartbeat,
} from '../../../src/speaker/membership/heartbeat-codec';

const key = heartbeatKey(Buffer.alloc(32, 7));
const hb: Heartbeat = {
  node: 'node1',
  addressee: 'node2',
  incarnation: 17,
  sequence: 42,
  timestamp: 1_700_000_001_000,
  flags: FLAG_ACK,
  echoTimestamp: 1_700_000_000_900,
  echoDelayMs: 12,
  echoIncarnation: 9,
  echoSequence: 1234,
};

// Hand-computed layout of `hb` (names of 5 bytes each): magic 0-3, version 4, flags 5, key id 6-9,
// sender length 10, sender 11-15, addressee length 16, addressee 17-21, incarnation 22-29,
// sequence 30-37, timestamp 38-45, echo timestamp 46-53, echo delay 54-57, echo incarnation
// 58-65, echo sequence 66-73, MAC 74-105.
const LAYOUT = { flags: 5, keyId: 6, sender: 11, addressee: 17, incarnation: 22, sequence: 30, timestamp: 38, echo: 46, echoDelay: 54, echoIncarnation: 58, echoSequence: 66, mac: 74 };

describe('heartbeat codec (version 2)', () => {
  it('lays the fields out as documented', () => {
    const buf = encodeHeartbeat(hb, key);
    expect(buf.length).toBe(106);
    expect(buf.toString('ascii', 0, 4)).toBe('ILHB');
    expect(buf[4]).toBe(2);
    expect(buf[LAYOUT.flags]).toBe(FLAG_ACK);
    expect(buf.readUInt32BE(LAYOUT.keyId)).toBe(key.id);
    expect(buf.toString('utf8', LAYOUT.sender, LAYOUT.sender + 5)).toBe('node1');
    expect(buf.toString('utf8', LAYOUT.addressee, LAYOUT.addressee + 5)).toBe('node2');
    expect(buf.readBigUInt64BE(LAYOUT.incarnation)).toBe(17n);
    expect(buf.readBigUInt64BE(LAYOUT.sequence)).toBe(42n);
    expect(buf.readUInt32BE(LAYOUT.echoDelay)).toBe(12);
    expect(buf.readBigUInt64BE(LAYOUT.echoIncarnation)).toBe(9n);
    expect(buf.readBigUInt64BE(LAYOUT.echoSequence)).toBe(1234n);
    expect(sequenceOffset(buf)).toBe(LAYOUT.sequence);
  });

  it('round-trips every field', () => {
    expect(decodeHeartbeat(encodeHeartbeat(hb, key), key)).toEqual({ ok: true, heartbeat: hb });
  });

  it('round-trips UTF-8 names and the leaving flag', () => {
    const x = { ...hb, node: 'nœud-é', addressee: 'ノード', flags: FLAG_LEAVING, echoTimestamp: 0, echoDelayMs: 0 };
    expect(decodeHeartbeat(encodeHeartbeat(x, key), key)).toEqual({ ok: true, heartbeat: x });
  });

  it('gives each key its own id and rejects a packet signed with another key as forged', () => {
    const other = heartbeatKey(Buffer.alloc(32, 8));
    expect(other.id).not.toBe(key.id);
    expect(heartbeatKey(Buffer.alloc(32, 7)).id).toBe(key.id);
    expect(decodeHeartbeat(encodeHeartbeat(hb, other), key)).toEqual({ ok: false, reason: 'forged' });
    // Same id (a forger copies it), wrong secret: the MAC still fails.
    expect(decodeHeartbeat(encodeHeartbeat(hb, { id: key.id, secret: other.secret }), key)).toEqual({ ok: false, reason: 'forged' });
  });

  const U64 = new Set(['incarnation', 'sequence', 'timestamp', 'echo', 'echoIncarnation', 'echoSequence']);
  it.each(Object.entries(LAYOUT).filter(([f]) => f !== 'keyId'))('rejects a packet whose %s was altered as forged', (what, offset) => {
    const buf = encodeHeartbeat(hb, key);
    buf[offset + (U64.has(what) ? 7 : 0)] ^= 0x01; // the low byte of a u64 (its top bits make it malformed)
    expect(decodeHeartbeat(buf, key)).toEqual({ ok: false, reason: 'forged' });
  });

  it('covers the addressee: a packet for node2 re-addressed to node3 does not verify', () => {
    const buf = encodeHeartbeat(hb, key);
    buf.write('node3', LAYOUT.addressee, 'utf8');
    expect(decodeHeartbeat(buf, key)).toEqual({ ok: false, reason: 'forged' });
  });

  it('rejects truncated, oversized, foreign and over-2^53 packets as malformed', () => {
    const buf = encodeHeartbeat(hb, key);
    expect(decodeHeartbeat(buf.subarray(0, buf.length - 1), key)).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeHeartbeat(Buffer.concat([buf, Buffer.alloc(1)]), key)).toEqual({ ok: false, reason: 'malformed' });
    expect(decodeHeartbeat(Buffer.from('hello'), key)).toEqual({ ok: false, reason: 'malformed' });
    for (const [at, value] of [
      [0, 0], // magic
      [4, 1], // version 1 (before issue 14)
      [10, 0], // empty sender
      [16, 0], // empty addressee
      [16, 200], // addressee length beyond the datagram
      [LAYOUT.sequence, 0x00200000 >>> 16], // sequence >= 2^53
    ]) {
      const x = Buffer.from(buf);
      x[at] = value;
      expect([at, decodeHeartbeat(x, key)]).toEqual([at, { ok: false, reason: 'malformed' }]);
    }
  });

  it('parses the header without a key, and only heartbeat-shaped datagrams', () => {
    const buf = encodeHeartbeat(hb, key);
    expect(parseHeader(buf)).toEqual({ flags: FLAG_ACK, keyId: key.id, senderStart: 11, senderEnd: 16, addresseeStart: 17, addresseeEnd: 22, incarnation: 17, sequence: 42 });
    expect(parseHeader(Buffer.alloc(HEARTBEAT_MIN_LEN - 1))).toBeUndefined();
    expect(parseHeader(Buffer.alloc(HEARTBEAT_MAX_LEN + 1))).toBeUndefined();
    const longest = encodeHeartbeat({ ...hb, node: 'a'.repeat(255), addressee: 'b'.repeat(255) }, key);
    expect(longest.length).toBe(HEARTBEAT_MAX_LEN);
    expect(encodeHeartbeat({ ...hb, node: 'a', addressee: 'b' }, key).length).toBe(HEARTBEAT_MIN_LEN);
  });

  it('refuses to encode an empty or too long name', () => {
    expect(() => encodeHeartbeat({ ...hb, node: '' }, key)).toThrow();
    expect(() => encodeHeartbeat({ ...hb, addressee: 'x'.repeat(256) }, key)).toThrow();
  });
});
