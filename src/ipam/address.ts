// IPv4/IPv6 address arithmetic on BigInt. Parsing and formatting go through `ip-address`;
// everything else is plain integer math so that intervals of any size cost the same.
import { Address6 } from 'ip-address';

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

/** An inclusive interval of addresses of one family. */
export interface IPRange {
  readonly family: Family;
  readonly start: bigint;
  readonly end: bigint;
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
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return undefined;
    const parts = s.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    // Reject leading zeros: they are octal to some tools and ambiguous to users.
    if (s.split('.').some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (!Address6.isValid(s) || s.includes('%')) return undefined;
  try {
    return { family: 6, value: new Address6(s).bigInt() };
  } catch {
    return undefined;
  }
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
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 255n).toString()).join('.');
  }
  return Address6.fromBigInt(value).correctForm();
}

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

export function cidrToRange(c: CIDR): IPRange {
  return { family: c.family, start: c.base, end: c.base | hostMask(c.family, c.prefix) };
}

export function formatCIDR(c: CIDR): string {
  return `${formatValue(c.family, c.base)}/${c.prefix}`;
}

export function formatRange(r: IPRange): string {
  return r.start === r.end ? formatValue(r.family, r.start) : `${formatValue(r.family, r.start)}-${formatValue(r.family, r.end)}`;
}

export function rangeSize(r: IPRange): bigint {
  return r.end - r.start + 1n;
}

export function rangeContains(r: IPRange, ip: IP): boolean {
  return r.family === ip.family && ip.value >= r.start && ip.value <= r.end;
}

export function rangesOverlap(a: IPRange, b: IPRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/** The minimal list of CIDRs covering a range (Go's ipaddr.Summarize). */
export function summarizeRange(r: IPRange): CIDR[] {
  const out: CIDR[] = [];
  const bits = BITS[r.family];
  let cur = r.start;
  while (cur <= r.end) {
    // Largest block aligned at `cur` that still fits in the remaining span.
    let size = bits;
    while (size > 0) {
      const block = 1n << BigInt(bits - size + 1);
      if ((cur & (block - 1n)) !== 0n || cur + block - 1n > r.end) break;
      size--;
    }
    out.push({ family: r.family, base: cur, prefix: size });
    cur += 1n << BigInt(bits - size);
  }
  return out;
}

/** The shortest prefix length among the CIDRs a range summarizes to (used by aggregation checks). */
export function widestPrefix(r: IPRange): number {
  return Math.min(...summarizeRange(r).map((c) => c.prefix));
}

export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
