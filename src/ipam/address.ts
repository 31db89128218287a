// Address ranges and their arithmetic, for pools and the allocator. Single addresses and CIDR
// prefixes live in src/ip/address.ts (shared with the codecs); they are re-exported here for the
// modules that still import them from this path.
import { BITS, formatValue, hostMask, type CIDR, type Family, type IP } from '../ip/address';

export {
  AddressParseError,
  BITS,
  MAX,
  canonicalIP,
  compareIP,
  familyOf,
  formatCIDR,
  formatIP,
  formatIPv6,
  formatValue,
  hostMask,
  parseCIDR,
  parseIP,
  parseIPv4,
  parseIPv6Hex,
  tryParseIP,
  type CIDR,
  type Family,
  type IP,
} from '../ip/address';

/** An inclusive interval of addresses of one family. */
export interface IPRange {
  readonly family: Family;
  readonly start: bigint;
  readonly end: bigint;
}

export function cidrToRange(c: CIDR): IPRange {
  return { family: c.family, start: c.base, end: c.base | hostMask(c.family, c.prefix) };
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

