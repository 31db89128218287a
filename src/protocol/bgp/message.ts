// The five BGP messages and the total decode/encode entry points.
import type { CodecContext, DecodeContext } from './context';
import { BgpDecodeError } from './errors';
import { decodeHeader, encodeMessage, HEADER_LENGTH, MessageType } from './header';
import { MessageHeaderSubcode, ErrorCode } from './notification-codes';
import { decodeNotification, encodeNotification, type NotificationMessage } from './notification';
import { decodeOpen, encodeOpen, type OpenMessage } from './open';
import { BufferReader } from '../buffer-reader';
import { decodeRouteRefresh, encodeRouteRefresh, type RouteRefreshMessage } from './route-refresh';
import { decodeUpdate, encodeUpdate, type UpdateMessage } from './update';

/** RFC 4271 §4.4: a KEEPALIVE is the header alone. */
export interface KeepaliveMessage {
  readonly kind: 'keepalive';
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** Encodes a message; throws RangeError when a field is out of range or it exceeds 4096 octets. */
export function encode(m: BgpMessage, ctx: CodecContext): Buffer {
  switch (m.kind) {
    case 'open':
      return encodeMessage(MessageType.Open, (w) => encodeOpen(w, m));
    case 'update':
      return encodeMessage(MessageType.Update, (w) => encodeUpdate(w, m, ctx));
    case 'notification':
      return encodeMessage(MessageType.Notification, (w) => encodeNotification(w, m));
    case 'keepalive':
      return encodeMessage(MessageType.Keepalive, () => undefined);
    case 'route-refresh':
      return encodeMessage(MessageType.RouteRefresh, (w) => encodeRouteRefresh(w, m));
  }
}

/**
 * Decodes one complete message. Total: every byte string yields a message or the
 * BgpDecodeError naming the NOTIFICATION to send; nothing is thrown.
 */
export function decode(buf: Buffer, ctx: DecodeContext): BgpMessage | BgpDecodeError {
  try {
    return decodeMessage(buf, ctx);
  } catch (e) {
    if (e instanceof BgpDecodeError) return e;
    // Only a codec bug gets here; `cause` marks it so tests can tell it from a real verdict.
    return new BgpDecodeError({
      code: ErrorCode.MessageHeader,
      subcode: MessageHeaderSubcode.Unspecific,
      detail: 'internal decoder error',
      cause: e,
    });
  }
}

function decodeMessage(buf: Buffer, ctx: DecodeContext): BgpMessage {
  const { type } = decodeHeader(buf);
  const body = new BufferReader(buf, HEADER_LENGTH);
  switch (type) {
    case MessageType.Open:
      return decodeOpen(body, ctx);
    case MessageType.Update:
      return decodeUpdate(body, ctx);
    case MessageType.Notification:
      return decodeNotification(body);
    case MessageType.Keepalive:
      return { kind: 'keepalive' };
    case MessageType.RouteRefresh:
      return decodeRouteRefresh(body, buf);
  }
}
