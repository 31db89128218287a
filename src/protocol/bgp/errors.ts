// Decode failures carry the NOTIFICATION the session would send (RFC 4271 §6) plus the
// RFC 7606 handling level, so the session can treat-as-withdraw instead of resetting.
import { ErrorCode, notificationName } from './notification-codes';
import { TruncatedError } from '../errors';

/** RFC 7606 §2, weakest first. */
export type ErrorHandling = 'attribute-discard' | 'treat-as-withdraw' | 'afi-safi-disable' | 'session-reset';

const RANK: Readonly<Record<ErrorHandling, number>> = {
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'afi-safi-disable': 3,
  'session-reset': 4,
};

const EMPTY = Buffer.alloc(0);

export interface BgpDecodeErrorInit {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Buffer;
  readonly handling?: ErrorHandling;
  readonly detail?: string;
  /** Set only when decoding hit an unexpected exception, i.e. a codec bug. */
  readonly cause?: unknown;
}

export class BgpDecodeError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
  readonly handling: ErrorHandling;

  constructor(init: BgpDecodeErrorInit) {
    const name = notificationName(init.code, init.subcode);
    // A verdict on peer input, not a fault: its stack says nothing and capturing it costs more
    // than decoding (garbage from a peer must stay cheap). A codec bug keeps its stack in `cause`.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(init.detail ? `${name}: ${init.detail}` : name, init.cause === undefined ? undefined : { cause: init.cause });
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'BgpDecodeError';
    this.code = init.code;
    this.subcode = init.subcode;
    this.data = init.data ?? EMPTY;
    this.handling = init.handling ?? 'session-reset';
  }

  /** RFC 7606 §3: when several errors are found, the strongest handling wins; ties keep the first. */
  stronger(other: BgpDecodeError | undefined): BgpDecodeError {
    return other !== undefined && RANK[other.handling] > RANK[this.handling] ? other : this;
  }
}

export function headerError(subcode: number, detail: string, data?: Buffer): BgpDecodeError {
  return new BgpDecodeError({ code: ErrorCode.MessageHeader, subcode, data, detail });
}

export function openError(subcode: number, detail: string, data?: Buffer): BgpDecodeError {
  return new BgpDecodeError({ code: ErrorCode.OpenMessage, subcode, data, detail });
}

export function updateError(subcode: number, handling: ErrorHandling, detail: string, data?: Buffer): BgpDecodeError {
  return new BgpDecodeError({ code: ErrorCode.UpdateMessage, subcode, data, handling, detail });
}

/** Runs a decoding step, reporting a read past the end of its field as the error `fail` builds. */
export function readingAs<T>(fail: () => BgpDecodeError, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof TruncatedError) throw fail();
    throw e;
  }
}

/** A 2-octet big-endian field, the form RFC 4271 §6.1/§6.2 use for NOTIFICATION data. */
export function u16Data(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
