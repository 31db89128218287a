// The 19-octet message header (RFC 4271 §4.1) and its checks (§6.1).
import { BgpDecodeError, headerError, u16Data } from './errors';
import { MessageHeaderSubcode } from './notification-codes';
import { BufferWriter } from '../buffer-writer';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1; RFC 8654 extended messages are not negotiated by ironlb. */
export const MAX_MESSAGE_LENGTH = 4096;

/** RFC 4271 §4.1, RFC 2918 §3. */
export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/**
 * Smallest total length per type below which the header's Bad Message Length applies
 * (RFC 4271 §4.2–§4.5). ROUTE-REFRESH length errors have their own code (RFC 7313 §5).
 */
export const MIN_LENGTH: Readonly<Record<MessageTypeCode, number>> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 19,
};

const MARKER = Buffer.alloc(MARKER_LENGTH, 0xff);

export interface Header {
  readonly length: number;
  readonly type: MessageTypeCode;
}

function markerIntact(buf: Buffer): boolean {
  const n = Math.min(buf.length, MARKER_LENGTH);
  for (let i = 0; i < n; i++) if (buf[i] !== 0xff) return false;
  return true;
}

/**
 * The length field of the header at the start of `buf` once the marker is checked
 * (RFC 4271 §6.1: Connection Not Synchronized, then Bad Message Length carrying the field).
 * Returns undefined when fewer than 19 bytes are present and nothing is wrong yet.
 */
export function frameLength(buf: Buffer): number | BgpDecodeError | undefined {
  if (!markerIntact(buf)) return headerError(MessageHeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
  if (buf.length < HEADER_LENGTH) return undefined;
  const length = buf.readUInt16BE(MARKER_LENGTH);
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) {
    return headerError(MessageHeaderSubcode.BadMessageLength, `length ${length} outside 19..4096`, u16Data(length));
  }
  return length;
}

function isMessageType(t: number): t is MessageTypeCode {
  return t >= MessageType.Open && t <= MessageType.RouteRefresh;
}

/** Checks a whole message's header against the bytes actually present (RFC 4271 §6.1). */
export function decodeHeader(buf: Buffer): Header {
  const length = frameLength(buf);
  if (length instanceof BgpDecodeError) throw length;
  if (length === undefined) {
    throw headerError(MessageHeaderSubcode.BadMessageLength, `only ${buf.length} bytes, no complete header`, u16Data(buf.length));
  }
  if (length !== buf.length) {
    throw headerError(MessageHeaderSubcode.BadMessageLength, `length field ${length} but ${buf.length} bytes`, u16Data(length));
  }
  const type = buf[HEADER_LENGTH - 1];
  if (!isMessageType(type)) {
    throw headerError(MessageHeaderSubcode.BadMessageType, `type ${type}`, Buffer.from([type]));
  }
  const tooShort = length < MIN_LENGTH[type];
  // KEEPALIVE is exactly a header (RFC 4271 §4.4).
  const tooLong = type === MessageType.Keepalive && length !== HEADER_LENGTH;
  if (tooShort || tooLong) {
    throw headerError(MessageHeaderSubcode.BadMessageLength, `length ${length} wrong for type ${type}`, u16Data(length));
  }
  return { length, type };
}

/** Frames a message: marker, length (filled in last), type, then whatever `body` writes. */
export function encodeMessage(type: MessageTypeCode, body: (w: BufferWriter) => void): Buffer {
  const w = new BufferWriter();
  w.bytes(MARKER).u16(0).u8(type);
  body(w);
  if (w.offset > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP message of ${w.offset} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  w.setU16At(MARKER_LENGTH, w.offset);
  return w.toBuffer();
}
