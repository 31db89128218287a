// Bounds-checked cursor over untrusted bytes. Every method names the wire type it reads; a read
// past `end` throws TruncatedError and leaves the cursor where it was.
import { TruncatedError } from './errors';

export class BufferReader {
  private pos: number;
  private readonly end: number;

  /** Reads `buffer[start, end)`; `end` defaults to the buffer length and is clamped to it. */
  constructor(
    readonly buffer: Uint8Array,
    start = 0,
    end = buffer.length,
  ) {
    this.end = Math.max(0, Math.min(end, buffer.length));
    this.pos = Math.max(0, Math.min(start, this.end));
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.end) throw new TruncatedError(what, this.pos, n, this.end - this.pos);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what = 'u8'): number {
    return this.buffer[this.need(1, what)];
  }

  u16(what = 'u16'): number {
    const at = this.need(2, what);
    return (this.buffer[at] << 8) | this.buffer[at + 1];
  }

  u32(what = 'u32'): number {
    const at = this.need(4, what);
    const b = this.buffer;
    return ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
  }

  /** A view (no copy) of the next `n` bytes. */
  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.need(n, what);
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset + at, n);
  }

  /** A copy of the next `n` bytes: use for values kept after the input buffer is reused. */
  copy(n: number, what = 'bytes'): Buffer {
    return Buffer.from(this.bytes(n, what));
  }

  mac(what = 'mac'): Buffer {
    return this.copy(6, what);
  }

  ipv4(what = 'ipv4'): Buffer {
    return this.copy(4, what);
  }

  ipv6(what = 'ipv6'): Buffer {
    return this.copy(16, what);
  }

  /** The bytes consumed since the cursor was at `from`, for errors that quote what was read. */
  since(from: number): Buffer {
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset + from, Math.max(0, this.pos - from));
  }

  skip(n: number, what = 'skip'): void {
    this.need(n, what);
  }

  /** A reader over the next `n` bytes; this reader moves past them. */
  sub(n: number, what = 'sub'): BufferReader {
    const at = this.need(n, what);
    return new BufferReader(this.buffer, at, at + n);
  }

  /** A view of everything left; the reader is then at its end. */
  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }
}
