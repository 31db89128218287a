// Numbers the addresses a pool may hand out (for one family) as 0..size-1 in hand-out order.
// The allocator then keeps free space as intervals of these numbers, so:
//  - "lowest free" is the smallest free number, and the pool's declaration order is kept the way
//    MetalLB walks it (entries in the order written, each entry upward);
//  - avoid-buggy-ips addresses simply have no number, so they are skipped without scanning and the
//    pool's totals exclude exactly the .0 and .255 addresses.
import type { Family, IPRange } from './address';
import { orderByBigInt, sortByBigInt } from './sort-by-bigint';

/** Dense ranking of the usable values of an address family. */
interface Density {
  /** How many usable values are below `value`. */
  below(value: bigint): bigint;
  /** The usable value with the given rank. */
  at(rank: bigint): bigint;
  usable(value: bigint): boolean;
}

const EVERY_ADDRESS: Density = { below: (v) => v, at: (r) => r, usable: () => true };

/**
 * IPv4 only: the .0 and .255 addresses of every /24 are left out (254 usable per /24). IPv4
 * values and ranks fit in doubles exactly, so the arithmetic is done on numbers: every BigInt
 * operation allocates, and the allocator ranks an address on every restore.
 */
const WITHOUT_BUGGY_IPV4: Density = {
  below: (v) => {
    const n = Number(v);
    const last = n % 256;
    return BigInt(Math.floor(n / 256) * 254 + (last === 0 ? 0 : last - 1));
  },
  at: (r) => {
    const n = Number(r);
    return BigInt(Math.floor(n / 254) * 256 + (n % 254) + 1);
  },
  usable: (v) => !confusesBuggyFirmware(4, v),
};

/**
 * True for the addresses avoid-buggy-ips never hands out: IPv4 ending in .0 or .255. Some old
 * firmware treats them as network or broadcast addresses whatever the prefix. IPv6 is unaffected,
 * as in MetalLB.
 */
export function confusesBuggyFirmware(family: Family, value: bigint): boolean {
  if (family !== 4) return false;
  const last = Number(value) % 256;
  return last === 0 || last === 255;
}

/** A piece of an entry left after removing overlaps, with the numbers its usable addresses get. */
interface Piece {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly firstOrdinal: bigint;
  readonly rankOfLo: bigint;
  readonly size: bigint;
}

export class AddressNumbering {
  /** How many addresses may be handed out. */
  readonly size: bigint;
  private readonly inHandOutOrder: readonly Piece[];
  private readonly byAddress: readonly Piece[];
  private readonly density: Density;

  /**
   * @param ranges the pool's entries of this family, in declaration order. Entries are expected
   *   not to overlap (the config parser rejects that); if they do, the earlier entry keeps the
   *   shared addresses so that every address still gets exactly one number.
   */
  constructor(family: Family, ranges: readonly IPRange[], avoidBuggyIPs: boolean) {
    this.density = avoidBuggyIPs && family === 4 ? WITHOUT_BUGGY_IPV4 : EVERY_ADDRESS;
    const spans = ranges.filter((r) => r.family === family).map((r): Span => [r.start, r.end]);
    const pieces: Piece[] = [];
    let next = 0n;
    for (const claimed of firstClaims(spans)) {
      for (const [lo, hi] of claimed) {
        const rankOfLo = this.density.below(lo);
        const size = this.density.below(hi + 1n) - rankOfLo;
        if (size === 0n) continue;
        pieces.push({ lo, hi, firstOrdinal: next, rankOfLo, size });
        next += size;
      }
    }
    this.size = next;
    this.inHandOutOrder = pieces;
    this.byAddress = sortByBigInt(pieces, (p) => p.lo);
  }

  /** The number of an address, or undefined when the pool may not hand it out. */
  ordinalOf(value: bigint): bigint | undefined {
    const p = this.byAddress[lastIndexAtOrBelow(this.byAddress, (x) => x.lo, value)];
    if (!p || value > p.hi || !this.density.usable(value)) return undefined;
    return p.firstOrdinal + this.density.below(value) - p.rankOfLo;
  }

  /** The address with the given number (0 <= ordinal < size). */
  valueAt(ordinal: bigint): bigint {
    const p = this.inHandOutOrder[lastIndexAtOrBelow(this.inHandOutOrder, (x) => x.firstOrdinal, ordinal)];
    if (!p || ordinal < 0n || ordinal >= p.firstOrdinal + p.size) throw new RangeError(`no address numbered ${ordinal}`);
    return this.density.at(p.rankOfLo + ordinal - p.firstOrdinal);
  }
}

/** An inclusive interval [lo, hi]. */
export type Span = readonly [bigint, bigint];

/**
 * Gives every value covered by `spans` to the earliest span covering it: element i of the result
 * lists, ascending, the maximal pieces of spans[i] that no earlier span covers (empty spans, with
 * lo > hi, get nothing).
 *
 * O(n log n): the spans are sorted by start; when no two overlap (what the config parser lets
 * through) each keeps itself whole; otherwise a sweep hands values out, see claimBySweep.
 * Removing every earlier span from each span in turn, as this once did, was O(n²): 26 s for a
 * pool of 8,000 /32 entries.
 */
export function firstClaims(spans: readonly Span[]): Span[][] {
  const byStart = orderByBigInt(spans.map((s) => s[0])).filter((i) => spans[i][0] <= spans[i][1]);
  let disjoint = true;
  for (let k = 1; k < byStart.length && disjoint; k++) disjoint = spans[byStart[k]][0] > spans[byStart[k - 1]][1];
  if (disjoint) return spans.map((s) => (s[0] <= s[1] ? [s] : []));
  return claimBySweep(spans, byStart);
}

/**
 * The sweep behind firstClaims for overlapping spans, `byStart` being the non-empty spans in order
 * of their starts. The spans open at the sweep point sit in a min-heap by declaration index: the
 * top owns everything up to its end or the next start, where the owner may change. Every piece
 * handed out ends at a span's end or before a span's start, so there are at most 2n of them, each
 * with O(log n) heap work.
 */
function claimBySweep(spans: readonly Span[], byStart: readonly number[]): Span[][] {
  const claims = spans.map((): [bigint, bigint][] => []);
  const open = new MinHeap();
  let next = 0; // the first span of byStart not yet opened
  let at = 0n; // the first value not yet given to anyone
  while (next < byStart.length || open.size > 0) {
    if (open.size === 0 && spans[byStart[next]][0] > at) at = spans[byStart[next]][0];
    while (next < byStart.length && spans[byStart[next]][0] <= at) open.push(byStart[next++]);
    while (open.size > 0 && spans[open.top()][1] < at) open.pop();
    if (open.size === 0) continue;
    const owner = open.top();
    let end = spans[owner][1];
    if (next < byStart.length && spans[byStart[next]][0] <= end) end = spans[byStart[next]][0] - 1n;
    const mine = claims[owner];
    const last = mine[mine.length - 1];
    if (last && last[1] + 1n === at) last[1] = end;
    else mine.push([at, end]);
    at = end + 1n;
  }
  return claims;
}

/** A binary min-heap of small non-negative integers (span indexes). */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  top(): number {
    return this.items[0];
  }

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= value) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = value;
  }

  pop(): void {
    const items = this.items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && items[child + 1] < items[child]) child++;
      if (items[child] >= last) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
  }
}

/** Index of the last item whose key is <= value in a list sorted by key; -1 when none. */
function lastIndexAtOrBelow<T>(items: readonly T[], key: (item: T) => bigint, value: bigint): number {
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(items[mid]) <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
