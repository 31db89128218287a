import fc from 'fast-check';
import { BufferReader } from '../../../src/protocol/buffer-reader';
import { BufferWriter } from '../../../src/protocol/buffer-writer';
import { BufferOverflowError, EncodeError, ProtocolError, TruncatedError } from '../../../src/protocol/errors';

describe('BufferReader', () => {
  it('reads big-endian wire types in order', () => {
    const r = new BufferReader(Buffer.from('01020304050607ffffffff', 'hex'));
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0x0203);
    expect(r.u32()).toBe(0x04050607);
    expect(r.u32()).toBe(0xffffffff);
    expect(r.remaining).toBe(0);
  });

  it('throws TruncatedError past the end and does not move the cursor', () => {
    const r = new BufferReader(Buffer.from([1, 2, 3]));
    r.u8();
    expect(() => r.u32('field x')).toThrow(TruncatedError);
    expect(r.offset).toBe(1);
    try {
      r.bytes(5, 'payload');
    } catch (e) {
      expect(e).toBeInstanceOf(ProtocolError);
      expect(e).toMatchObject({ what: 'payload', offset: 1, needed: 5, available: 2 });
    }
    expect(r.u16()).toBe(0x0203);
  });

  it('never reads beyond the given end even when the buffer is longer', () => {
    const buf = Buffer.from([1, 2, 3, 4, 5, 6]);
    const r = new BufferReader(buf, 1, 3);
    expect(r.u16()).toBe(0x0203);
    expect(() => r.u8()).toThrow(TruncatedError);
  });

  it('sub() bounds a nested reader and advances the parent', () => {
    const r = new BufferReader(Buffer.from([1, 2, 3, 4]));
    const s = r.sub(2);
    expect(s.u16()).toBe(0x0102);
    expect(() => s.u8()).toThrow(TruncatedError);
    expect(r.u16()).toBe(0x0304);
  });

  it('bytes() is a view, copy() is not', () => {
    const buf = Buffer.from([1, 2, 3]);
    const view = new BufferReader(buf).bytes(2);
    const copy = new BufferReader(buf).copy(2);
    buf[0] = 9;
    expect(view[0]).toBe(9);
    expect(copy[0]).toBe(1);
  });

  it('rejects negative lengths', () => {
    expect(() => new BufferReader(Buffer.alloc(4)).bytes(-1)).toThrow(TruncatedError);
  });

  it('property: any read sequence either succeeds within bounds or throws TruncatedError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), fc.array(fc.constantFrom(1, 2, 4, 6, 16), { maxLength: 12 }), (bytes, sizes) => {
        const r = new BufferReader(bytes);
        let consumed = 0;
        for (const n of sizes) {
          try {
            if (n === 1) r.u8();
            else if (n === 2) r.u16();
            else if (n === 4) r.u32();
            else r.bytes(n);
            consumed += n;
          } catch (e) {
            expect(e).toBeInstanceOf(TruncatedError);
            expect(consumed + n).toBeGreaterThan(bytes.length);
          }
          expect(r.offset).toBe(consumed);
        }
      }),
    );
  });
});

describe('BufferWriter', () => {
  it('grows when not fixed', () => {
    const w = new BufferWriter(16);
    for (let i = 0; i < 100; i++) w.u32(i);
    expect(w.offset).toBe(400);
    expect(w.toBuffer().readUInt32BE(396)).toBe(99);
  });

  it('throws BufferOverflowError in fixed mode instead of growing', () => {
    const w = new BufferWriter(Buffer.alloc(3));
    w.u16(1);
    expect(() => w.u16(2)).toThrow(BufferOverflowError);
  });

  it('reset() reuses the same buffer', () => {
    const buf = Buffer.alloc(8);
    const w = new BufferWriter(buf);
    w.u32(0xdeadbeef);
    w.reset().u16(0x0102);
    expect(w.view()).toEqual(Buffer.from([1, 2]));
    expect(w.view().buffer).toBe(buf.buffer);
  });

  it('reserve() + setU16At() fill a length in afterwards', () => {
    const w = new BufferWriter();
    const at = w.reserve(2);
    w.bytes(Buffer.from('abc'));
    w.setU16At(at, w.offset - 2);
    expect(w.toBuffer()).toEqual(Buffer.from('0003616263', 'hex'));
    expect(() => w.setU16At(10, 1)).toThrow(EncodeError);
  });

  it('checks value ranges and address lengths', () => {
    const w = new BufferWriter();
    expect(() => w.u8(256)).toThrow(EncodeError);
    expect(() => w.u16(-1)).toThrow(EncodeError);
    expect(() => w.u32(2 ** 32)).toThrow(EncodeError);
    expect(() => w.mac(Buffer.alloc(5))).toThrow(EncodeError);
    expect(() => w.ipv6(Buffer.alloc(4))).toThrow(EncodeError);
  });

  it('padTo() pads with zeros only when shorter', () => {
    const w = new BufferWriter();
    w.u8(1).padTo(4).padTo(2);
    expect(w.toBuffer()).toEqual(Buffer.from([1, 0, 0, 0]));
  });

  it('property: what is written is read back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 20 }), (a, b, c, d) => {
        const w = new BufferWriter(4);
        w.u8(a).u16(b).u32(c).bytes(d);
        const r = new BufferReader(w.toBuffer());
        expect([r.u8(), r.u16(), r.u32(), [...r.bytes(d.length)]]).toEqual([a, b, c, [...d]]);
        expect(r.remaining).toBe(0);
      }),
    );
  });
});
