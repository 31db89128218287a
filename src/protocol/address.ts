// Text <-> bytes for the addresses the layer-2 codecs carry: MAC (6 bytes), IPv4 (4), IPv6 (16).
// Parsers return undefined for bad text (try*) or throw EncodeError (parse*).
import { EncodeError } from './errors';
import { formatValue, tryParseIP as ipamTryParseIP } from '../ipam/address';

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

// Text forms are parsed and printed by the allocator's address module, so that an address means
// the same thing on the wire as in the configuration; this module only converts to bytes.
function toBytes(value: bigint, length: number): Buffer {
  const b = Buffer.alloc(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

function toBigInt(b: Uint8Array, length: number): bigint {
  let v = 0n;
  for (let i = 0; i < length; i++) v = (v << 8n) | BigInt(b[i]);
  return v;
}

export function tryParseIPv4(text: string): Buffer | undefined {
  const ip = ipamTryParseIP(text);
  return ip?.family === 4 ? toBytes(ip.value, 4) : undefined;
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
  const pct = text.indexOf('%');
  const ip = ipamTryParseIP(pct >= 0 ? text.slice(0, pct) : text); // a zone index is not part of the address
  return ip?.family === 6 ? toBytes(ip.value, 16) : undefined;
}

export function parseIPv6(text: string): Buffer {
  const b = tryParseIPv6(text);
  if (!b) throw new EncodeError(`invalid IPv6 address: ${JSON.stringify(text)}`);
  return b;
}

/** RFC 5952 text: lower case, longest run (>= 2) of zero groups compressed, first one on a tie. */
export function formatIPv6(b: Uint8Array): string {
  return formatValue(6, toBigInt(b, 16));
}

export type IpFamily = 4 | 6;

/** Parses either family; undefined for bad text. */
export function tryParseIP(text: string): { family: IpFamily; bytes: Buffer } | undefined {
  const v4 = tryParseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = tryParseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

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
