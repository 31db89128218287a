// Bounds-checked cursor over a received BGP message. Kept inside protocol/bgp until the shared
// L2 reader lands; the lead may merge the two.

/** A read ran past the end of the bytes the reader was given. */
export class ShortBufferError extends Error {
  constructor(wanted: number, available: number) {
    super(`short buffer: wanted ${wanted} bytes, ${available} available`);
  }
}

export class BgpReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get position(): number {
    return this.pos;
  }

  /** The bytes consumed since `position` was `from`, for errors that quote what was read. */
  since(from: number): Buffer {
    return this.buf.subarray(from, this.pos);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** The next n bytes, sharing memory with the input. */
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** A reader confined to the next n bytes; this reader moves past them. */
  sub(n: number): BgpReader {
    this.need(n);
    const r = new BgpReader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new ShortBufferError(n, this.remaining);
  }
}
