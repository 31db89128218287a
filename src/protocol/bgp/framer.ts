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
    if (this.error) return [];
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Array<Buffer | BgpDecodeError> = [];
    for (;;) {
      const length = frameLength(buf);
      if (length instanceof BgpDecodeError) {
        this.error = length;
        this.pending = EMPTY;
        out.push(length);
        return out;
      }
      if (length === undefined || buf.length < length) break;
      // Copied so a frame never pins the chunk it came from.
      out.push(Buffer.from(buf.subarray(0, length)));
      buf = buf.subarray(length);
    }
    this.pending = Buffer.from(buf);
    return out;
  }
}
