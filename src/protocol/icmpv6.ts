// ICMPv6 (RFC 4443): header and the checksum over the IPv6 pseudo-header (RFC 8200 §8.1).
import { BufferReader } from './buffer-reader';
import { Decoded, drop, ok, TruncatedError } from './errors';
import { NextHeader } from './ipv6';

export const Icmpv6Type = {
  DestinationUnreachable: 1,
  EchoRequest: 128,
  EchoReply: 129,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  Redirect: 137,
} as const;

export const ICMPV6_HEADER_LENGTH = 4;
/** Offset of the checksum inside the ICMPv6 message. */
export const ICMPV6_CHECKSUM_OFFSET = 2;

export interface Icmpv6Message {
  type: number;
  code: number;
  checksum: number;
  /** View of the bytes after type/code/checksum. */
  body: Buffer;
}

export type Icmpv6DropReason = 'truncated' | 'badChecksum';

function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (i < end) acc += b[i] << 8;
  return acc;
}

/**
 * The Internet checksum of `message[0, length)` with the pseudo-header for `source`/`destination`.
 * Computed over the message as given, so a correct message (checksum field filled in) sums to 0.
 */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array, length = message.length): number {
  let acc = 0;
  acc = sum16(source, 0, 16, acc);
  acc = sum16(destination, 0, 16, acc);
  acc += (length >>> 16) + (length & 0xffff);
  acc += NextHeader.ICMPv6;
  acc = sum16(message, 0, length, acc);
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

/** Fills in the checksum of `message` (its checksum field is zeroed first). */
export function setIcmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Buffer): void {
  message.writeUInt16BE(0, ICMPV6_CHECKSUM_OFFSET);
  message.writeUInt16BE(icmpv6Checksum(source, destination, message), ICMPV6_CHECKSUM_OFFSET);
}

export function verifyIcmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array, length = message.length): boolean {
  return icmpv6Checksum(source, destination, message, length) === 0;
}

/** Decodes an ICMPv6 message and verifies its checksum against the pseudo-header. */
export function decodeIcmpv6(
  source: Uint8Array,
  destination: Uint8Array,
  message: Uint8Array,
  length = message.length,
): Decoded<Icmpv6Message, Icmpv6DropReason> {
  const r = new BufferReader(message, 0, length);
  try {
    const type = r.u8('icmpv6 type');
    const code = r.u8('icmpv6 code');
    const checksum = r.u16('icmpv6 checksum');
    if (!verifyIcmpv6Checksum(source, destination, message, length)) {
      return drop('badChecksum', `checksum 0x${checksum.toString(16)}`);
    }
    return ok({ type, code, checksum, body: r.rest() });
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}
