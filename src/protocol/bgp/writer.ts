// Growable big-endian writer for outgoing BGP messages. Length fields are reserved and filled in
// once the enclosed bytes are known, like pg-protocol's Writer.flush. Values out of range for
// their field throw RangeError: encoding an impossible message is a programming error.

export class BgpWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  u8(v: number): this {
    checkRange(v, 0xff);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    checkRange(v, 0xffff);
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    checkRange(v, 0xffffffff);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Writes a `width`-octet length field covering whatever `body` writes after it. */
  lengthPrefixed(width: 1 | 2, body: () => void): this {
    const at = this.pos;
    this.ensure(width);
    this.pos += width;
    body();
    const len = this.pos - at - width;
    if (width === 1) {
      checkRange(len, 0xff);
      this.buf[at] = len;
    } else {
      checkRange(len, 0xffff);
      this.buf.writeUInt16BE(len, at);
    }
    return this;
  }

  /** Overwrites a 16-bit field already written at `offset`. */
  patchU16(offset: number, v: number): this {
    checkRange(v, 0xffff);
    if (offset < 0 || offset + 2 > this.pos) throw new RangeError(`patch offset ${offset} outside written bytes`);
    this.buf.writeUInt16BE(v, offset);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

function checkRange(v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`value ${v} does not fit a field of max ${max}`);
}
