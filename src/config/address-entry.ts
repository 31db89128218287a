// One `addresses:` entry of a pool: a CIDR (`198.51.100.0/24`) or a range (`A-B`).
import {
  AddressParseError,
  cidrToRange,
  formatValue,
  parseCIDR,
  summarizeRange,
  tryParseIP,
  type IPRange,
} from '../ipam/address';
import { orderByBigInt } from '../ipam/sort-by-bigint';
import { fail, ok, type Outcome } from './outcome';
import type { PoolAddressEntry } from './types';

function parseRange(text: string, dash: number): Outcome<IPRange> {
  const startText = text.slice(0, dash).trim();
  const endText = text.slice(dash + 1).trim();
  const start = tryParseIP(startText);
  if (!start) return fail(`invalid range "${text}": "${startText}" is not a valid IP address`);
  const end = tryParseIP(endText);
  if (!end) return fail(`invalid range "${text}": "${endText}" is not a valid IP address`);
  if (start.family !== end.family) {
    return fail(`invalid range "${text}": start is IPv${start.family} but end is IPv${end.family}`);
  }
  if (start.value > end.value) {
    return fail(`range start ${formatValue(start.family, start.value)} is after end ${formatValue(end.family, end.value)}`);
  }
  return ok({ family: start.family, start: start.value, end: end.value });
}

export function parseAddressEntry(raw: string): Outcome<PoolAddressEntry> {
  const text = raw.trim();
  if (text === '') return fail('empty address entry; write a CIDR (198.51.100.0/24) or a range (A-B)');
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const range = parseRange(text, dash);
    return range.ok ? ok({ text, range: range.value, cidrs: summarizeRange(range.value) }) : range;
  }
  if (!text.includes('/')) {
    const ip = tryParseIP(text);
    const bits = ip?.family === 6 ? 128 : 32;
    const hint = ip ? ` (for a single address write ${text}/${bits} or ${text}-${text})` : '';
    return fail(`"${text}" is neither a CIDR nor a range${hint}`);
  }
  try {
    const cidr = parseCIDR(text);
    return ok({ text, range: cidrToRange(cidr), cidrs: [cidr] });
  } catch (e) {
    if (e instanceof AddressParseError) return fail(`invalid CIDR ${e.message}`);
    throw e;
  }
}

/** Anything that carries an address interval and its place in document order. */
export interface Located {
  readonly range: IPRange;
  readonly order: number;
}

/**
 * Pairs of overlapping intervals as [earlier, later] in document order; every interval that
 * overlaps any other appears in at least one pair. Sorting first keeps this O(n log n).
 */
export function findOverlaps<T extends Located>(items: readonly T[]): [T, T][] {
  const pairs: [T, T][] = [];
  for (const family of [4, 6]) {
    // By start, ties in document order (orderByBigInt keeps equal starts in input order).
    const mine = items.filter((i) => i.range.family === family).sort((a, b) => a.order - b.order);
    let reach: T | undefined; // the interval seen so far that extends furthest
    for (const k of orderByBigInt(mine.map((i) => i.range.start))) {
      const item = mine[k];
      if (reach && item.range.start <= reach.range.end) pairs.push(reach.order < item.order ? [reach, item] : [item, reach]);
      if (!reach || item.range.end > reach.range.end) reach = item;
    }
  }
  return pairs;
}
