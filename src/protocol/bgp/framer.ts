// Splits a TCP byte stream into whole BGP messages, like pg-protocol's Parser joins chunks.
// Framing errors (bad marker, length outside 19..4096) lose synchronisation for good, so the
// framer reports the error once and then refuses further input.
import { BgpDecodeError } from './errors';
import { frameLength } from './header';

const EMPTY = Buffer.alloc(0);

export class BgpFramer {
  private pending: Buffer = EMPTY;
  private error: BgpDecodeError | undefined;

  /** The framing error that stopped the stream, if any. */
  get failed(): BgpDecodeError | undefined {
    return this.error;
  }

  /** Octets received but not yet part of a complete message. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * Appends a chunk and returns every message it completes, in order, as raw frames for
   * `decode` (which needs the context negotiated so far). A framing error is returned once,
   * after the frames before it.
   */
  push(chunk: Buffer): Array<Buffer | BgpDecodeError> {
    const out: Array<Buffer | BgpDecodeError> = [];
    // Copied so a frame never pins the chunk it came from.
    this.forEach(chunk, (frame) => {
      out.push(frame instanceof BgpDecodeError ? frame : Buffer.from(frame));
    });
    return out;
  }

  /**
   * Like push, without copying: each frame is a view into the stream's buffers, valid only
   * during the call (copy what must outlive it). For messages looked at once and dropped.
   * `visit` returning false stops the walk after that frame: the rest stays buffered for the
   * next call (an empty chunk continues), and forEach returns false.
   */
  forEach(chunk: Buffer, visit: (frame: Buffer | BgpDecodeError) => boolean | void): boolean {
    if (this.error) return true;
    let buf = this.pending.length === 0 ? chunk : chunk.length === 0 ? this.pending : Buffer.concat([this.pending, chunk]);
    let more = true;
    while (more) {
      const length = frameLength(buf);
      if (length instanceof BgpDecodeError) {
        this.error = length;
        this.pending = EMPTY;
        visit(length);
        return true;
      }
      if (length === undefined || buf.length < length) break;
      const frame = buf.subarray(0, length);
      buf = buf.subarray(length);
      more = visit(frame) !== false;
    }
    this.pending = buf.length === 0 ? EMPTY : Buffer.from(buf);
    return more;
  }
}
