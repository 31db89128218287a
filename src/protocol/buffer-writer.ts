// Writer for outgoing packets. Two modes:
//  - growable (default): grows about 1.5x when full, like pg-protocol's Writer;
//  - fixed: writes into a caller's preallocated buffer and throws BufferOverflowError instead of
//    growing (the responder's hot path reuses one buffer per reply kind).
// Length/checksum fields are reserved with `reserve()` and filled in later with `setU16At()`.
import { BufferOverflowError, EncodeError } from './errors';

export class BufferWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly fixed: boolean;

  constructor(initial: number | Buffer = 128) {
    if (typeof initial === 'number') {
      this.buf = Buffer.alloc(Math.max(16, initial));
      this.fixed = false;
    } else {
      this.buf = initial;
      this.fixed = true;
    }
  }

  /** Bytes written so far. */
  get offset(): number {
    return this.pos;
  }

  /** Start over (fixed mode: the same buffer is reused). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  private ensure(n: number): number {
    const need = this.pos + n;
    if (need > this.buf.length) {
      if (this.fixed) throw new BufferOverflowError(need, this.buf.length);
      const next = Buffer.alloc(Math.max(need, Math.floor(this.buf.length * 1.5)));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    const at = this.pos;
    this.pos = need;
    return at;
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`u8 out of range: ${v}`);
    const at = this.ensure(1); // before touching this.buf: ensure() may replace it
    this.buf[at] = v;
    return this;
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new EncodeError(`u16 out of range: ${v}`);
    const at = this.ensure(2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EncodeError(`u32 out of range: ${v}`);
    const at = this.ensure(4);
    this.buf.writeUInt32BE(v, at);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.ensure(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** Writes exactly `len` bytes of `b`, checking the length (addresses). */
  fixedBytes(b: Uint8Array, len: number, what: string): this {
    if (b.length !== len) throw new EncodeError(`${what} must be ${len} bytes, got ${b.length}`);
    return this.bytes(b);
  }

  mac(b: Uint8Array): this {
    return this.fixedBytes(b, 6, 'mac');
  }

  ipv4(b: Uint8Array): this {
    return this.fixedBytes(b, 4, 'ipv4 address');
  }

  ipv6(b: Uint8Array): this {
    return this.fixedBytes(b, 16, 'ipv6 address');
  }

  zeros(n: number): this {
    const at = this.ensure(n);
    this.buf.fill(0, at, at + n);
    return this;
  }

  /** Pads with zeros up to a total length (no-op when already that long). */
  padTo(total: number): this {
    if (this.pos < total) this.zeros(total - this.pos);
    return this;
  }

  /** Reserves `n` zero bytes and returns their offset, to be filled later. */
  reserve(n: number): number {
    const at = this.pos;
    this.zeros(n);
    return at;
  }

  setU16At(offset: number, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new EncodeError(`u16 out of range: ${v}`);
    if (offset < 0 || offset + 2 > this.pos) throw new EncodeError(`setU16At outside written bytes: ${offset}`);
    this.buf.writeUInt16BE(v, offset);
    return this;
  }

  /** Writes a `width`-octet length field covering whatever `body` writes after it. */
  lengthPrefixed(width: 1 | 2, body: () => void): this {
    const at = this.reserve(width);
    body();
    const len = this.pos - at - width;
    if (width === 1) {
      if (len > 0xff) throw new EncodeError(`length ${len} does not fit a 1-octet field`);
      this.buf[at] = len;
    } else {
      if (len > 0xffff) throw new EncodeError(`length ${len} does not fit a 2-octet field`);
      this.buf.writeUInt16BE(len, at);
    }
    return this;
  }

  /** The bytes written so far: a view of the internal buffer (no copy). */
  view(start = 0, end = this.pos): Buffer {
    return this.buf.subarray(start, end);
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.view());
  }
}
