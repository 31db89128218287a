import fc from 'fast-check';
import { BgpDecodeError, BgpFramer, decode, encode, MessageHeaderSubcode, openMessage, parsePrefix } from '../../../src/protocol/bgp';
import { hex, MARKER } from './bytes';

const ctx = { fourOctetAS: true };
const messages = [
  encode(openMessage({ asn: 65001, holdTime: 90, bgpIdentifier: 1 }), ctx),
  encode({ kind: 'keepalive' }, ctx),
  encode(
    {
      kind: 'update',
      withdrawn: [],
      attributes: [
        { kind: 'origin', value: 0 },
        { kind: 'as-path', segments: [] },
        { kind: 'next-hop', addr: 0xc0000201n },
      ],
      nlri: [parsePrefix('198.51.100.0/24')],
    },
    ctx,
  ),
  encode({ kind: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) }, ctx),
];
const stream = Buffer.concat(messages);

function feed(chunks: Buffer[]): Array<Buffer | BgpDecodeError> {
  const f = new BgpFramer();
  return chunks.flatMap((c) => f.push(c));
}

describe('BgpFramer', () => {
  it('returns whole messages from one chunk', () => {
    expect(feed([stream])).toEqual(messages);
  });

  it('returns the same messages whatever the split point: front, middle or end', () => {
    for (let at = 0; at <= stream.length; at++) {
      expect(feed([stream.subarray(0, at), stream.subarray(at)])).toEqual(messages);
    }
  });

  it('returns the same messages for any chunking', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const chunks = points.slice(1).map((end, i) => stream.subarray(points[i], end));
        expect(feed(chunks)).toEqual(messages);
      }),
    );
  });

  it('returns the same messages fed one octet at a time', () => {
    expect(feed([...stream].map((b) => Buffer.from([b])))).toEqual(messages);
  });

  it('buffers a partial message until the rest arrives', () => {
    const f = new BgpFramer();
    expect(f.push(messages[0].subarray(0, 10))).toEqual([]);
    expect(f.buffered).toBe(10);
    expect(f.push(messages[0].subarray(10))).toEqual([messages[0]]);
    expect(f.buffered).toBe(0);
  });

  it('frames decode to the messages encoded', () => {
    expect(feed([stream]).map((m) => decode(m as Buffer, ctx))).toMatchObject([
      { kind: 'open' },
      { kind: 'keepalive' },
      { kind: 'update' },
      { kind: 'notification' },
    ]);
  });

  it.each([
    ['a broken marker', hex(`${'ff'.repeat(15)}fe 0013 04`), MessageHeaderSubcode.ConnectionNotSynchronized, ''],
    ['a broken marker before a whole header arrived', hex('ff ff 00'), MessageHeaderSubcode.ConnectionNotSynchronized, ''],
    ['a length above 4096', hex(`${MARKER} 1001 02`), MessageHeaderSubcode.BadMessageLength, '1001'],
    ['a length below 19', hex(`${MARKER} 0000 04`), MessageHeaderSubcode.BadMessageLength, '0000'],
  ])('reports %s once, after the messages before it, then stops', (_d, bad, subcode, data) => {
    const f = new BgpFramer();
    const out = f.push(Buffer.concat([messages[1], bad, messages[1]]));
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual(messages[1]);
    expect(out[1]).toBeInstanceOf(BgpDecodeError);
    expect(out[1]).toMatchObject({ code: 1, subcode, data: hex(data) });
    expect(f.failed).toBe(out[1]);
    expect(f.push(messages[1])).toEqual([]);
    expect(f.buffered).toBe(0);
  });

  it('does not let returned frames share memory with the pushed chunk', () => {
    const chunk = Buffer.from(messages[1]);
    const [frame] = new BgpFramer().push(chunk);
    chunk.fill(0);
    expect(frame).toEqual(messages[1]);
  });
});
