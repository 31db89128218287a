// Fixed IPv6 header (RFC 8200 §3). Extension headers are not parsed: NDP messages never carry them.
import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';
import { Decoded, drop, ok, TruncatedError } from './errors';

export const IPV6_HEADER_LENGTH = 40;

export const NextHeader = {
  HopByHop: 0,
  TCP: 6,
  UDP: 17,
  ICMPv6: 58,
  NoNext: 59,
} as const;

export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  source: Buffer;
  destination: Buffer;
}

export interface Ipv6Packet {
  header: Ipv6Header;
  /** View of exactly `payloadLength` bytes (link-layer padding is cut off). */
  payload: Buffer;
}

export type Ipv6DropReason = 'truncated' | 'badVersion' | 'badPayloadLength';

export function encodeIpv6Header(w: BufferWriter, h: Ipv6Header): void {
  const first = ((6 << 28) | ((h.trafficClass & 0xff) << 20) | (h.flowLabel & 0xfffff)) >>> 0;
  w.u32(first).u16(h.payloadLength).u8(h.nextHeader).u8(h.hopLimit).ipv6(h.source).ipv6(h.destination);
}

/** Reads the header; throws TruncatedError. Does not check the version. */
export function readIpv6Header(r: BufferReader): Ipv6Header & { version: number } {
  const first = r.u32('ipv6 version/class/flow');
  return {
    version: first >>> 28,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength: r.u16('ipv6 payload length'),
    nextHeader: r.u8('ipv6 next header'),
    hopLimit: r.u8('ipv6 hop limit'),
    source: r.ipv6('ipv6 source'),
    destination: r.ipv6('ipv6 destination'),
  };
}

/** Decodes an IPv6 packet (no link-layer header). Bytes beyond payloadLength are ignored. */
export function decodeIpv6(packet: Uint8Array, length = packet.length): Decoded<Ipv6Packet, Ipv6DropReason> {
  const r = new BufferReader(packet, 0, length);
  try {
    const { version, ...header } = readIpv6Header(r);
    if (version !== 6) return drop('badVersion', `version ${version}`);
    if (header.payloadLength > r.remaining) {
      return drop('badPayloadLength', `payload length ${header.payloadLength}, ${r.remaining} available`);
    }
    return ok({ header, payload: r.bytes(header.payloadLength, 'ipv6 payload') });
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}
