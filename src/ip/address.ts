// IP addresses, one module for every layer: text <-> (family, BigInt) <-> bytes, RFC 5952
// formatting and CIDR prefixes. Pure (no I/O) and dependent on nothing of ours, so that the
// configuration, the allocator (src/ipam), the codecs (src/protocol), the speakers and the CLI all
// read and print an address the same way.
//
// IPv6 text in plain hex form is parsed and formatted here (the allocator does it per Service,
// and `ip-address` costs several microseconds a call); embedded-IPv4 forms go through
// `ip-address`. Everything else is plain integer math so that prefixes of any size cost the same.
import { Address6 } from 'ip-address';

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export interface CIDR {
  readonly family: Family;
  readonly base: bigint;
  readonly prefix: number;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };
export const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

export class AddressParseError extends Error {}

/** Parses a plain address (no prefix). Returns undefined when the text is not an address. */
export function tryParseIP(text: string): IP | undefined {
  const s = text.trim();
  if (s === '' || s.includes('/')) return undefined;
  if (!s.includes(':')) {
    const v4 = parseIPv4(s);
    return v4 === undefined ? undefined : { family: 4, value: BigInt(v4) };
  }
  const hex = parseIPv6Hex(s);
  if (hex !== undefined) return { family: 6, value: hex };
  if (!Address6.isValid(s) || s.includes('%')) return undefined;
  try {
    return { family: 6, value: new Address6(s).bigInt() };
  } catch {
    return undefined;
  }
}

/**
 * Dotted-quad IPv4 text as an unsigned 32-bit number: four decimal parts of one to three digits,
 * each at most 255, without leading zeros (they are octal to some tools and ambiguous to users).
 * Read character by character: the allocator parses every restored address.
 */
export function parseIPv4(s: string): number | undefined {
  const DOT = 46;
  let value = 0;
  let parts = 0;
  let i = 0;
  while (i < s.length) {
    const first = i;
    let part = 0;
    for (let d = s.charCodeAt(i) - 48; d >= 0 && d <= 9 && i - first < 4; d = s.charCodeAt(++i) - 48) part = part * 10 + d;
    const digits = i - first;
    if (digits === 0 || digits > 3 || part > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return undefined;
    value = value * 256 + part;
    parts++;
    if (i === s.length) break;
    if (s.charCodeAt(i) !== DOT || parts === 4) return undefined;
    i++;
    if (i === s.length) return undefined;
  }
  return parts === 4 ? value : undefined;
}

export function parseIP(text: string): IP {
  const ip = tryParseIP(text);
  if (!ip) throw new AddressParseError(`"${text}" is not a valid IP address`);
  return ip;
}

export function formatIP(ip: IP): string {
  return formatValue(ip.family, ip.value);
}

export function formatValue(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    // join() yields a flat string; concatenation would leave a rope that every Map lookup flattens.
    return [Math.floor(n / 0x1000000), (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
  return formatIPv6(value);
}

// Scratch space for IPv6 text: the eight 16-bit groups are written and read here (big-endian) so
// that a 128-bit value is built from, or split into, two 64-bit halves instead of a chain of
// BigInt shifts, each of which allocates. Only used synchronously, inside one call.
const GROUPS = new DataView(new ArrayBuffer(16));
const MASK64 = (1n << 64n) - 1n;

/**
 * IPv6 text of hex groups and colons, without embedded IPv4 (`2001:db8::1`, `::`, `fe80:0:0::1`).
 * Returns undefined for anything else, including embedded IPv4, which tryParseIP hands to `ip-address`.
 */
export function parseIPv6Hex(text: string): bigint | undefined {
  const COLON = 58;
  const n = text.length;
  if (n < 2 || n > 39) return undefined; // 39 = eight groups of four digits and seven colons
  let count = 0; // groups read
  let gap = -1; // where "::" stands, in groups read before it
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let group = 0;
    let digits = 0;
    for (let d = hexDigit(text.charCodeAt(i)); d >= 0 && digits < 5; d = hexDigit(text.charCodeAt(++i))) {
      group = group * 16 + d;
      digits++;
    }
    if (digits === 0 || digits > 4 || count === 8) return undefined;
    GROUPS.setUint16(2 * count++, group);
    if (i === n) break;
    if (text.charCodeAt(i) !== COLON || ++i === n) return undefined;
    if (text.charCodeAt(i) === COLON) {
      if (gap >= 0) return undefined; // a second "::"
      gap = count;
      i++;
    }
  }
  if (gap >= 0 ? count > 7 : count !== 8) return undefined;
  if (gap >= 0) {
    // Move the groups after "::" to the end and zero the ones it stands for.
    const missing = 8 - count;
    for (let k = count - 1; k >= gap; k--) GROUPS.setUint16(2 * (k + missing), GROUPS.getUint16(2 * k));
    for (let k = gap; k < gap + missing; k++) GROUPS.setUint16(2 * k, 0);
  }
  return (GROUPS.getBigUint64(0) << 64n) | GROUPS.getBigUint64(8);
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** RFC 5952 text: lowercase, no leading zeros, the first longest run of two or more zero groups as `::`. */
export function formatIPv6(value: bigint): string {
  GROUPS.setBigUint64(0, (value >> 64n) & MASK64);
  GROUPS.setBigUint64(8, value & MASK64);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0, runStart = -1; i < 8; i++) {
    if (GROUPS.getUint16(2 * i) !== 0) {
      runStart = -1;
      continue;
    }
    if (runStart < 0) runStart = i;
    if (i - runStart + 1 > bestLength) {
      bestStart = runStart;
      bestLength = i - runStart + 1;
    }
  }
  // The text is built as character codes in a reused array of exactly its length, then turned
  // into one flat string.
  const skip = (i: number): boolean => i >= bestStart && i < bestStart + bestLength;
  let length = bestStart === 0 ? 2 : bestStart > 0 ? 1 : 0;
  for (let i = 0; i < 8; i++) if (!skip(i)) length += hexDigitCount(GROUPS.getUint16(2 * i)) + (i < 7 ? 1 : 0);
  const codes = (CODES[length] ??= new Array<number>(length).fill(0));
  let at = 0;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      if (i === 0) codes[at++] = COLON_CODE;
      codes[at++] = COLON_CODE;
      i += bestLength - 1;
      continue;
    }
    const group = GROUPS.getUint16(2 * i);
    for (let shift = 4 * (hexDigitCount(group) - 1); shift >= 0; shift -= 4) {
      const digit = (group >> shift) & 15;
      codes[at++] = digit < 10 ? 48 + digit : 87 + digit; // 0-9, a-f
    }
    if (i < 7) codes[at++] = COLON_CODE;
  }
  return String.fromCharCode.apply(null, codes);
}

function hexDigitCount(group: number): number {
  return group >= 0x1000 ? 4 : group >= 0x100 ? 3 : group >= 0x10 ? 2 : 1;
}

const COLON_CODE = 58;
/** One array per text length (at most 39), reused: formatIPv6 fills it and reads it at once. */
const CODES: number[][] = [];

/** Canonical text of an address, or undefined when it is not one ("192.0.2.001" stays invalid). */
export function canonicalIP(text: string): string | undefined {
  const ip = tryParseIP(text);
  return ip ? formatIP(ip) : undefined;
}

export function familyOf(text: string): Family | undefined {
  return tryParseIP(text)?.family;
}

export function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

/**
 * Parses `A/N`. A CIDR whose host bits are set is accepted and masked, as Go's
 * net.ParseCIDR (and therefore MetalLB) does; `strictHostBits` reports it instead.
 */
export function parseCIDR(text: string, strictHostBits = false): CIDR {
  const s = text.trim();
  const slash = s.indexOf('/');
  if (slash < 0) throw new AddressParseError(`"${text}" is not a CIDR (missing /prefix)`);
  const ip = tryParseIP(s.slice(0, slash));
  if (!ip) throw new AddressParseError(`"${text}": "${s.slice(0, slash)}" is not a valid IP address`);
  const prefixText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) throw new AddressParseError(`"${text}": invalid prefix length "${prefixText}"`);
  const prefix = Number(prefixText);
  if (prefix > BITS[ip.family]) {
    throw new AddressParseError(`"${text}": prefix length ${prefix} is longer than ${BITS[ip.family]}`);
  }
  const mask = hostMask(ip.family, prefix);
  if (strictHostBits && (ip.value & mask) !== 0n) {
    throw new AddressParseError(`"${text}": host bits are set (did you mean ${formatValue(ip.family, ip.value & ~mask)}/${prefix}?)`);
  }
  return { family: ip.family, base: ip.value & ~mask, prefix };
}

export function formatCIDR(c: CIDR): string {
  return `${formatValue(c.family, c.base)}/${c.prefix}`;
}

export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Network-order bytes of an address: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(ip: IP): Buffer {
  const length = BITS[ip.family] / 8;
  const b = Buffer.alloc(length);
  let v = ip.value;
  for (let i = length - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

/** The address in `length` network-order bytes at `offset` (4: IPv4, 16: IPv6). */
export function ipFromBytes(b: Uint8Array, offset = 0, length: 4 | 16 = b.length - offset === 16 ? 16 : 4): IP {
  if (b.length - offset < length) throw new AddressParseError(`${b.length - offset} bytes are too few for an IPv${length === 4 ? 4 : 6} address`);
  let v = 0n;
  for (let i = 0; i < length; i++) v = (v << 8n) | BigInt(b[offset + i]);
  return { family: length === 4 ? 4 : 6, value: v };
}

/** Parses either family to bytes; undefined for bad text. A zone index (`%eth0`) is not part of the address. */
export function tryParseIPBytes(text: string): { family: Family; bytes: Buffer } | undefined {
  const pct = text.indexOf('%');
  const ip = tryParseIP(pct >= 0 && text.includes(':') ? text.slice(0, pct) : text);
  return ip ? { family: ip.family, bytes: ipToBytes(ip) } : undefined;
}

/** Text of an address held in bytes (4 or 16 of them). */
export function formatIPBytes(b: Uint8Array): string {
  return formatIP(ipFromBytes(b, 0, b.length === 16 ? 16 : 4));
}
