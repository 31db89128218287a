import { encode, parsePrefix, type BgpMessage, type UpdateMessage } from '../../../src/protocol/bgp';
import { BufferReader } from '../../../src/protocol/buffer-reader';
import { TruncatedError } from '../../../src/protocol/errors';
import { BufferWriter } from '../../../src/protocol/buffer-writer';
import { hex } from './bytes';

describe('BufferReader', () => {
  it('reads big-endian fields and confines sub-readers to their bytes', () => {
    const r = new BufferReader(hex('01 0203 04050607 aa bb cc'));
    expect([r.u8(), r.u16(), r.u32()]).toEqual([1, 0x0203, 0x04050607]);
    const sub = r.sub(2);
    expect(sub.bytes(2)).toEqual(hex('aa bb'));
    expect(() => sub.u8()).toThrow(TruncatedError);
    expect(r.rest()).toEqual(hex('cc'));
  });

  it.each([
    ['u8', '', (r: BufferReader) => r.u8()],
    ['u16', 'aa', (r: BufferReader) => r.u16()],
    ['u32', 'aabbcc', (r: BufferReader) => r.u32()],
    ['bytes', 'aa', (r: BufferReader) => r.bytes(2)],
    ['sub', 'aa', (r: BufferReader) => r.sub(2)],
  ])('throws TruncatedError when %s runs past the end', (_d, bytes, read) => {
    expect(() => read(new BufferReader(hex(`00 ${bytes}`), 1))).toThrow(TruncatedError);
  });
});

describe('BufferWriter', () => {
  it('fills reserved length fields once the enclosed bytes are written', () => {
    const w = new BufferWriter(1);
    w.u8(7).lengthPrefixed(1, () => w.u16(0xabcd)).lengthPrefixed(2, () => w.bytes(Buffer.alloc(300, 1)));
    const b = w.toBuffer();
    expect(b.subarray(0, 6)).toEqual(hex('07 02 abcd 012c'));
    expect(b.length).toBe(306);
  });

  it.each([
    ['u8', (w: BufferWriter) => w.u8(256)],
    ['u16', (w: BufferWriter) => w.u16(-1)],
    ['u32', (w: BufferWriter) => w.u32(2 ** 32)],
    ['a fraction', (w: BufferWriter) => w.u8(1.5)],
    ['a 1-octet length over 255', (w: BufferWriter) => w.lengthPrefixed(1, () => w.bytes(Buffer.alloc(256)))],
  ])('rejects %s out of range', (_d, write) => {
    expect(() => write(new BufferWriter())).toThrow(RangeError);
  });
});

describe('encode refuses messages that cannot be sent', () => {
  const ctx = { fourOctetAS: true };
  const update = (u: Partial<UpdateMessage>): BgpMessage => ({ kind: 'update', withdrawn: [], attributes: [], nlri: [], ...u });
  it.each<[string, BgpMessage]>([
    ['more than 4096 octets', update({ attributes: [{ kind: 'raw', typeCode: 99, flags: 0xc0, value: Buffer.alloc(4096) }] })],
    ['a prefix longer than its family', update({ nlri: [{ family: 4, addr: 0n, length: 33 }] })],
    ['an address outside its family', update({ nlri: [{ family: 4, addr: 1n << 32n, length: 32 }] })],
    ['IPv6 in the IPv4 NLRI field', update({ nlri: [parsePrefix('2001:db8::/32')] })],
    ['an AS number above 32 bits', update({ attributes: [{ kind: 'as-path', segments: [{ type: 2, asns: [2 ** 32] }] }] })],
    ['an empty AS_PATH segment', update({ attributes: [{ kind: 'as-path', segments: [{ type: 2, asns: [] }] }] })],
    ['empty COMMUNITIES', update({ attributes: [{ kind: 'communities', values: [] }] })],
    ['MP_REACH_NLRI for an unparsed family', update({ attributes: [{ kind: 'mp-reach-nlri', afi: 25, safi: 70, nextHop: { family: 4, addr: 1n }, nlri: [] }] })],
    ['graceful restart time above 12 bits', { kind: 'open', version: 4, myAS: 1, holdTime: 0, bgpIdentifier: 1, capabilities: [{ kind: 'graceful-restart', restartFlags: 0, restartTime: 4096, families: [] }] }],
    ['optional parameters above 255 octets', { kind: 'open', version: 4, myAS: 1, holdTime: 0, bgpIdentifier: 1, capabilities: Array.from({ length: 3 }, () => ({ kind: 'unknown' as const, code: 99, data: Buffer.alloc(100) })) }],
  ])('%s', (_d, m) => {
    expect(() => encode(m, ctx)).toThrow(RangeError);
  });
});
