// Which pools contain an address, without asking every pool. The allocator needs this on every
// assignment and release (an address held through one pool must not look free in another that
// also contains it) and for every held address when the pools change; asking each pool in turn
// made a configuration change O(held addresses × pools): 8,000 pools with 8,000 held addresses
// took seconds.
//
// The entries of all pools, per family, are sorted by start and searched as an implicit binary
// tree (the middle of each slice is its root) in which every node knows the highest end in its
// subtree. A lookup descends only into subtrees that can reach the address: O(log n) when
// entries do not overlap (the config parser refuses overlaps), O(log n + k log n) for k hits when
// they do. The answer is then checked with PoolState.contains, which applies avoid-buggy-ips.
import type { Family, IP } from './address';
import type { PoolState } from './pool';
import { orderByBigInt } from './sort-by-bigint';

interface Entries {
  readonly los: readonly bigint[];
  readonly his: readonly bigint[];
  /** Index of the entry's pool in pool order. */
  readonly owners: readonly number[];
  /** Highest end among the entries of the subtree rooted at each index. */
  readonly reach: readonly bigint[];
}

const NONE: readonly PoolState[] = [];

export class PoolIndex {
  private readonly entries: Record<Family, Entries>;
  // The last lookup: the allocator asks about one address several times in a row (which pool
  // holds it, then marking it used), so the answer is kept for the next question.
  private lastFamily: Family = 4;
  private lastValue = -1n;
  private lastAnswer: readonly PoolState[] = NONE;
  /** A one-pool answer for each pool, made once. */
  private readonly alone: readonly (readonly PoolState[])[];

  /** `pools` in pool order; answers keep that order. */
  constructor(private readonly pools: readonly PoolState[]) {
    this.entries = { 4: indexEntries(pools, 4), 6: indexEntries(pools, 6) };
    this.alone = pools.map((p) => [p]);
  }

  /** The pools that may hand out the address, in pool order. */
  containing(ip: IP): readonly PoolState[] {
    if (ip.value === this.lastValue && ip.family === this.lastFamily) return this.lastAnswer;
    const e = this.entries[ip.family];
    const owners = OWNERS;
    owners.length = 0;
    collect(e, ip.value, 0, e.los.length - 1, owners);
    let answer = NONE;
    if (owners.length === 1) {
      if (this.pools[owners[0]].contains(ip)) answer = this.alone[owners[0]];
    } else if (owners.length > 1) {
      // A pool whose own entries overlap shows up once per entry; pool order is index order.
      const unique = [...new Set(owners)].sort((a, b) => a - b);
      answer = unique.map((i) => this.pools[i]).filter((p) => p.contains(ip));
    }
    this.lastFamily = ip.family;
    this.lastValue = ip.value;
    this.lastAnswer = answer;
    return answer;
  }

  /** The first pool, in pool order, that may hand out every one of the addresses. */
  firstHoldingAll(ips: readonly IP[]): PoolState | undefined {
    if (ips.length === 0) return this.pools[0];
    for (const p of this.containing(ips[0])) {
      let all = true;
      for (let k = 1; k < ips.length && all; k++) all = p.contains(ips[k]);
      if (all) return p;
    }
    return undefined;
  }
}

// Reused by every lookup (they never nest), so that the usual answer, one pool, allocates nothing.
const OWNERS: number[] = [];

function indexEntries(pools: readonly PoolState[], family: Family): Entries {
  const all: { lo: bigint; hi: bigint; owner: number }[] = [];
  pools.forEach((p, owner) => {
    for (const a of p.config.addresses) {
      if (a.range.family === family && a.range.start <= a.range.end) all.push({ lo: a.range.start, hi: a.range.end, owner });
    }
  });
  const sorted = orderByBigInt(all.map((x) => x.lo)).map((i) => all[i]);
  const his = sorted.map((x) => x.hi);
  const reach = [...his];
  computeReach(his, reach, 0, sorted.length - 1);
  return { los: sorted.map((x) => x.lo), his, owners: sorted.map((x) => x.owner), reach };
}

/** Fills `reach` for the subtree of the slice [first, last]; returns its highest end. */
function computeReach(his: readonly bigint[], reach: bigint[], first: number, last: number): bigint {
  if (first > last) return -1n;
  const mid = (first + last) >> 1;
  const left = computeReach(his, reach, first, mid - 1);
  const right = computeReach(his, reach, mid + 1, last);
  let high = his[mid];
  if (left > high) high = left;
  if (right > high) high = right;
  reach[mid] = high;
  return high;
}

/** Adds the owners of the entries of the slice [first, last] that contain `value`. */
function collect(e: Entries, value: bigint, first: number, last: number, out: number[]): void {
  while (first <= last) {
    const mid = (first + last) >> 1;
    if (e.reach[mid] < value) return; // nothing in this subtree ends at or after the value
    collect(e, value, first, mid - 1, out);
    if (e.los[mid] > value) return; // this entry and everything to its right start after it
    if (e.his[mid] >= value) out.push(e.owners[mid]);
    first = mid + 1;
  }
}
