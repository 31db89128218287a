// NOTIFICATION message (RFC 4271 §4.5).
import { BgpDecodeError } from './errors';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export interface NotificationMessage {
  readonly kind: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export function encodeNotification(w: BufferWriter, m: NotificationMessage): void {
  w.u8(m.code).u8(m.subcode).bytes(m.data);
}

/** Unknown codes are kept as numbers: a NOTIFICATION ends the session whatever it says. */
export function decodeNotification(r: BufferReader): NotificationMessage {
  return { kind: 'notification', code: r.u8(), subcode: r.u8(), data: Buffer.from(r.rest()) };
}

/** The NOTIFICATION to send for a decode error that resets the session. */
export function notificationFor(e: BgpDecodeError): NotificationMessage {
  return { kind: 'notification', code: e.code, subcode: e.subcode, data: e.data };
}
