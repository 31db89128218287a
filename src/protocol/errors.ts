// Errors raised by the codecs. Decoders catch these at their public edge and turn them into
// `{ ok: false, reason }` results; they escape only from the low-level reader/writer API.

/** Base class of the errors raised while decoding or writing into a fixed buffer. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A read ran past the end of the available bytes. Nothing is returned from past the end. */
export class TruncatedError extends ProtocolError {
  constructor(
    readonly what: string,
    readonly offset: number,
    readonly needed: number,
    readonly available: number,
  ) {
    super(`truncated: ${what} needs ${needed} byte(s) at offset ${offset}, ${available} available`);
  }
}

/** A write did not fit into a fixed-size output buffer. */
export class BufferOverflowError extends ProtocolError {
  constructor(
    readonly needed: number,
    readonly available: number,
  ) {
    super(`buffer overflow: need ${needed} byte(s), ${available} available`);
  }
}

/**
 * A value handed to an encoder cannot be represented (bad address text, field out of range, ...).
 * A RangeError: encoding an impossible message is the caller's mistake, not bad input from the wire.
 */
export class EncodeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** The result of every public decoder: a value, or a typed reason why the input was dropped. */
export type Decoded<T, R extends string> = { ok: true; value: T } | { ok: false; reason: R; detail?: string };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function drop<R extends string>(reason: R, detail?: string): { ok: false; reason: R; detail?: string } {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}
