// Numbers the addresses a pool may hand out (for one family) as 0..size-1 in hand-out order.
// The allocator then keeps free space as intervals of these numbers, so:
//  - "lowest free" is the smallest free number, and the pool's declaration order is kept the way
//    MetalLB walks it (entries in the order written, each entry upward);
//  - avoid-buggy-ips addresses simply have no number, so they are skipped without scanning and the
//    pool's totals exclude exactly the .0 and .255 addresses.
import type { Family, IPRange } from './address';

/** Dense ranking of the usable values of an address family. */
interface Density {
  /** How many usable values are below `value`. */
  below(value: bigint): bigint;
  /** The usable value with the given rank. */
  at(rank: bigint): bigint;
  usable(value: bigint): boolean;
}

const EVERY_ADDRESS: Density = { below: (v) => v, at: (r) => r, usable: () => true };

/** IPv4 only: the .0 and .255 addresses of every /24 are left out (254 usable per /24). */
const WITHOUT_BUGGY_IPV4: Density = {
  below: (v) => (v >> 8n) * 254n + clamp((v & 255n) - 1n, 0n, 254n),
  at: (r) => ((r / 254n) << 8n) | ((r % 254n) + 1n),
  usable: (v) => !confusesBuggyFirmware(4, v),
};

/**
 * True for the addresses avoid-buggy-ips never hands out: IPv4 ending in .0 or .255. Some old
 * firmware treats them as network or broadcast addresses whatever the prefix. IPv6 is unaffected,
 * as in MetalLB.
 */
export function confusesBuggyFirmware(family: Family, value: bigint): boolean {
  if (family !== 4) return false;
  const last = value & 255n;
  return last === 0n || last === 255n;
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
    const pieces: Piece[] = [];
    let next = 0n;
    for (const r of ranges) {
      if (r.family !== family) continue;
      for (const [lo, hi] of subtractAll([r.start, r.end], pieces)) {
        const rankOfLo = this.density.below(lo);
        const size = this.density.below(hi + 1n) - rankOfLo;
        if (size === 0n) continue;
        pieces.push({ lo, hi, firstOrdinal: next, rankOfLo, size });
        next += size;
      }
    }
    this.size = next;
    this.inHandOutOrder = pieces;
    this.byAddress = [...pieces].sort((a, b) => (a.lo < b.lo ? -1 : 1));
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

function clamp(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v;
}

/** The parts of [lo, hi] not covered by any of `taken`. */
function subtractAll(span: [bigint, bigint], taken: readonly Piece[]): [bigint, bigint][] {
  let parts: [bigint, bigint][] = [span];
  for (const t of taken) {
    parts = parts.flatMap(([lo, hi]): [bigint, bigint][] => {
      if (t.hi < lo || t.lo > hi) return [[lo, hi]];
      const left: [bigint, bigint][] = t.lo > lo ? [[lo, t.lo - 1n]] : [];
      const right: [bigint, bigint][] = t.hi < hi ? [[t.hi + 1n, hi]] : [];
      return [...left, ...right];
    });
  }
  return parts;
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
