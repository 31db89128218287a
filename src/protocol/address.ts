// Text <-> bytes for the addresses the layer-2 codecs carry: MAC (6 bytes), IPv4 (4), IPv6 (16).
// Parsers return undefined for bad text (try*) or throw EncodeError (parse*). IP text is read and
// printed by src/ip/address.ts, so that an address means the same on the wire as in the
// configuration; the IPv4/IPv6 helpers here only fix the family and the error type.
import { EncodeError } from './errors';
import { formatIPBytes, ipToBytes, tryParseIP as parseAddress, tryParseIPBytes } from '../ip/address';

export const BROADCAST_MAC: Buffer = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Buffer = Buffer.alloc(6);

export function tryParseMac(text: string): Buffer | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(
    text.trim(),
  );
  if (!m) return undefined;
  return Buffer.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
}

export function parseMac(text: string): Buffer {
  const b = tryParseMac(text);
  if (!b) throw new EncodeError(`invalid MAC address: ${JSON.stringify(text)}`);
  return b;
}

export function formatMac(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < b.length; i++) parts.push(b[i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function tryParseIPv4(text: string): Buffer | undefined {
  const ip = parseAddress(text);
  return ip?.family === 4 ? ipToBytes(ip) : undefined;
}

export function parseIPv4(text: string): Buffer {
  const b = tryParseIPv4(text);
  if (!b) throw new EncodeError(`invalid IPv4 address: ${JSON.stringify(text)}`);
  return b;
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** IPv4 address as an unsigned 32-bit number (the responder's lookup key). */
export function ipv4ToNumber(b: Uint8Array, offset = 0): number {
  return ((b[offset] << 24) >>> 0) + ((b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]);
}

export function numberToIPv4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function tryParseIPv6(text: string): Buffer | undefined {
  const ip = tryParseIPBytes(text); // a zone index is not part of the address
  return ip?.family === 6 ? ip.bytes : undefined;
}

export function parseIPv6(text: string): Buffer {
  const b = tryParseIPv6(text);
  if (!b) throw new EncodeError(`invalid IPv6 address: ${JSON.stringify(text)}`);
  return b;
}

/** RFC 5952 text: lower case, longest run (>= 2) of zero groups compressed, first one on a tie. */
export function formatIPv6(b: Uint8Array): string {
  return formatIPBytes(b.subarray(0, 16));
}

export type { Family as IpFamily } from '../ip/address';

/**
 * Either family, as bytes. The same function as src/ip/address.ts `tryParseIPBytes`, under the
 * name the responder still imports; new code imports it from there.
 */
export const tryParseIP = tryParseIPBytes;

export function isMulticastIPv6(b: Uint8Array): boolean {
  return b[0] === 0xff;
}

export function isUnspecifiedIPv6(b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (b[i] !== 0) return false;
  return true;
}

export function isLinkLocalIPv6(b: Uint8Array): boolean {
  return b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
