// One configured pool at run time: which addresses it may hand out, per family, and which are free.
import type { AddressPool } from '../config/types';
import type { Family, IP } from './address';
import { AddressNumbering } from './address-numbering';
import { IntervalSet } from './interval-set';
import { orderByBigInt } from './sort-by-bigint';

interface FamilySpace {
  readonly numbering: AddressNumbering;
  /** Free addresses, as numbers from `numbering`. */
  readonly free: IntervalSet;
}

/**
 * The space of a family the pool has no addresses of, shared by all such pools (most pools are
 * single-family). Nothing ever changes it: every address is outside it, so markUsed and markFree
 * never reach its free set.
 */
const NOTHING: FamilySpace = { numbering: new AddressNumbering(4, [], false), free: new IntervalSet() };

export class PoolState {
  private readonly spaces: Record<Family, FamilySpace>;
  // The last address ranked: the allocator asks about one address several times in a row (does
  // the pool contain it, then mark it used), and ranking allocates BigInts.
  private lastFamily: Family = 4;
  private lastValue = -1n;
  private lastOrdinal: bigint | undefined;
  /**
   * Ordinals marked used but not yet taken out of the free set. Marking is deferred until
   * something reads the free set (freeOf): a restore marks every held address and reads
   * nothing, so 100k marks become one sorted merge instead of 100k interval splits.
   */
  private readonly pendingUsed: Record<Family, bigint[]> = { 4: [], 6: [] };

  constructor(readonly config: AddressPool) {
    const space = (family: Family): FamilySpace => {
      const numbering = new AddressNumbering(family, config.addresses.map((a) => a.range), config.avoidBuggyIPs);
      if (numbering.size === 0n) return NOTHING;
      return { numbering, free: new IntervalSet([{ lo: 0n, hi: numbering.size - 1n }]) };
    };
    this.spaces = { 4: space(4), 6: space(6) };
  }

  get name(): string {
    return this.config.name;
  }

  offers(family: Family): boolean {
    return this.spaces[family].numbering.size > 0n;
  }

  /** True when the pool may hand out this address (avoid-buggy-ips applied). */
  contains(ip: IP): boolean {
    return this.ordinalOf(ip) !== undefined;
  }

  /** Position of the address in the pool's hand-out order; lower is handed out first. */
  ordinalOf(ip: IP): bigint | undefined {
    if (ip.value === this.lastValue && ip.family === this.lastFamily) return this.lastOrdinal;
    const ordinal = this.spaces[ip.family].numbering.ordinalOf(ip.value);
    this.lastFamily = ip.family;
    this.lastValue = ip.value;
    this.lastOrdinal = ordinal;
    return ordinal;
  }

  addressAt(family: Family, ordinal: bigint): IP {
    return { family, value: this.spaces[family].numbering.valueAt(ordinal) };
  }

  /** Hand-out position of the first free address of the family. */
  firstFreeOrdinal(family: Family): bigint | undefined {
    return this.freeOf(family).first();
  }

  /** Marks the address as held; a no-op when it is not in this pool. */
  markUsed(ip: IP): void {
    const ordinal = this.ordinalOf(ip);
    if (ordinal !== undefined) this.pendingUsed[ip.family].push(ordinal);
  }

  /** Marks the address as free again; a no-op when it is not in this pool. */
  markFree(ip: IP): void {
    const ordinal = this.ordinalOf(ip);
    if (ordinal !== undefined) this.freeOf(ip.family).add(ordinal);
  }

  total(family: Family): bigint {
    return this.spaces[family].numbering.size;
  }

  inUse(family: Family): bigint {
    return this.spaces[family].numbering.size - this.freeOf(family).size;
  }

  /** The family's free set with every pending mark applied: the only way the free sets are read. */
  private freeOf(family: Family): IntervalSet {
    const space = this.spaces[family];
    const pending = this.pendingUsed[family];
    if (pending.length === 0) return space.free; // the allocation path: nothing deferred since the last read
    if (pending.length === 1) space.free.delete(pending[0]);
    else space.free.deleteSorted(sortedOrdinals(pending, space.numbering.size));
    pending.length = 0;
    return space.free;
  }
}

const MAX_U64 = (1n << 64n) - 1n;

/** Ascending; through a BigUint64Array's native sort when every ordinal fits (pools up to 2^64 addresses). */
function sortedOrdinals(ordinals: readonly bigint[], poolSize: bigint): bigint[] {
  if (poolSize - 1n <= MAX_U64) return Array.from(BigUint64Array.from(ordinals).sort());
  return orderByBigInt(ordinals).map((i) => ordinals[i]);
}
