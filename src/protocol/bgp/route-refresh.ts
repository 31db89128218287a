// ROUTE-REFRESH message (RFC 2918 §3; the reserved octet became the subtype in RFC 7313 §3.2).
import { BgpDecodeError } from './errors';
import { ErrorCode, RouteRefreshSubcode } from './notification-codes';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

/** RFC 7313 §3.2; 3–254 are unassigned and such messages are ignored, not rejected. */
export const RouteRefreshSubtype = {
  Normal: 0,
  BeginningOfRouteRefresh: 1,
  EndOfRouteRefresh: 2,
} as const;

export interface RouteRefreshMessage {
  readonly kind: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

const BODY_LENGTH = 4;

export function encodeRouteRefresh(w: BufferWriter, m: RouteRefreshMessage): void {
  w.u16(m.afi).u8(m.subtype).u8(m.safi);
}

/** `message` is the whole message: a wrong length is reported with it as data (RFC 7313 §5). */
export function decodeRouteRefresh(r: BufferReader, message: Buffer): RouteRefreshMessage {
  if (r.remaining !== BODY_LENGTH) {
    throw new BgpDecodeError({
      code: ErrorCode.RouteRefreshMessage,
      subcode: RouteRefreshSubcode.InvalidMessageLength,
      data: Buffer.from(message),
      detail: `body of ${r.remaining} octets`,
    });
  }
  const afi = r.u16();
  const subtype = r.u8();
  return { kind: 'route-refresh', afi, safi: r.u8(), subtype };
}
