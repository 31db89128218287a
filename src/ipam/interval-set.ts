// A set of BigInt values stored as disjoint, non-adjacent inclusive intervals, so that its cost
// depends on how fragmented it is, never on how many values it holds: a set holding all of an
// IPv6 /64 is as cheap as one holding four values.
//
// Layout: a sorted list of intervals cut into chunks of at most CHUNK_MAX (a B-tree of height two).
// Next to the first start of every chunk sits Number(start): a double, which V8 stores unboxed in
// the array, so the search for the chunk compares plain numbers and only looks at BigInts on a
// tie. Number() rounds monotonically, so the doubles order the starts correctly wherever they
// differ. Inside a chunk the few BigInt comparisons are cheaper than keeping doubles there too,
// which cost a third array to splice on every update. Compared with a pointer-based balanced tree
// this touches a handful of cache lines per lookup instead of two per level, which is what
// dominates once the set holds 100k fragments.
//
// Cost, n = number of intervals: lookups O(log n); add/delete O(log n + CHUNK_MAX), plus moving
// the chunk index (about n / CHUNK_MAX entries, one memmove) when a chunk splits, merges or
// empties, which amortised happens at most once per CHUNK_MAX / 4 updates.

import { sortByBigInt } from './sort-by-bigint';

/** An inclusive interval [lo, hi]. */
export interface Interval {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** A run of consecutive intervals in parallel arrays; never empty. */
interface Chunk {
  readonly los: bigint[];
  readonly his: bigint[];
}

/** Where an interval sits: chunk index and index inside the chunk; chunk -1 when there is none. */
interface Position {
  chunk: number;
  index: number;
}

const CHUNK_MAX = 64;
const BELOW: Position = { chunk: -1, index: -1 };
const ABOVE: Position = { chunk: -1, index: -1 };
const CHUNK_MIN = CHUNK_MAX / 4;

export class IntervalSet {
  // Not readonly: deleteSorted() lays the set out anew.
  private chunks: Chunk[] = [];
  // The first start of every chunk, exact and approximate, for the top-level binary search.
  private chunkLos: bigint[] = [];
  private chunkApprox: number[] = [];
  private valueCount = 0n;
  private count = 0;
  // Filled by locate() and read at once by its callers; shared by all sets (JavaScript runs one
  // call at a time), so lookups allocate nothing and an idle set does not carry them.
  private readonly below: Position = BELOW;
  private readonly above: Position = ABOVE;

  /** Builds the set from intervals in any order; overlapping or adjacent ones are merged. */
  constructor(intervals: Iterable<Interval> = []) {
    const nonEmpty: Interval[] = [];
    for (const i of intervals) if (i.lo <= i.hi) nonEmpty.push(i);
    const sorted = nonEmpty.length < 2 ? nonEmpty : sortByBigInt(nonEmpty, (i) => i.lo);
    // Arrays made at their final size: a pool builds one set per family, and a set that grew from
    // [] by push would carry spare capacity for 17 entries in each of its six arrays.
    const los = sorted.map((i) => i.lo);
    const his = sorted.map((i) => i.hi);
    let count = 0;
    for (let k = 0; k < sorted.length; k++) {
      if (count > 0 && los[k] <= his[count - 1] + 1n) {
        if (his[k] > his[count - 1]) his[count - 1] = his[k];
        continue;
      }
      los[count] = los[k];
      his[count] = his[k];
      count++;
    }
    los.length = count;
    his.length = count;
    this.layOut(los, his);
    for (let i = 0; i < count; i++) this.valueCount += his[i] - los[i] + 1n;
  }

  /** Chunks from sorted, disjoint, non-adjacent intervals; half-full, to leave room to grow before the first split. */
  private layOut(los: bigint[], his: bigint[]): void {
    const count = los.length;
    const step = CHUNK_MAX / 2;
    const starts = Array.from({ length: Math.ceil(count / step) }, (_, c) => c * step);
    this.chunks = starts.map((i) => (count <= step ? { los, his } : { los: los.slice(i, i + step), his: his.slice(i, i + step) }));
    this.chunkLos = this.chunks.map((c) => c.los[0]);
    this.chunkApprox = this.chunkLos.map((lo) => Number(lo));
    this.count = count;
  }

  /**
   * Removes every value of `values` (ascending; repeats allowed) the set holds; returns how many
   * it removed. A few values go one by one; many (a restore marking 100k addresses used) are
   * merged with the intervals in one pass and the chunks laid out anew: O(n + m), where one by
   * one cost m lookups and chunk splits.
   */
  deleteSorted(values: readonly bigint[]): number {
    if (values.length < 16 || values.length * 8 < this.count) {
      let removed = 0;
      for (const v of values) if (this.delete(v)) removed++;
      return removed;
    }
    const los: bigint[] = [];
    const his: bigint[] = [];
    let k = 0;
    let removed = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.los.length; i++) {
        let lo = c.los[i];
        const hi = c.his[i];
        while (k < values.length && values[k] < lo) k++;
        while (k < values.length && values[k] <= hi) {
          const v = values[k++];
          if (v < lo) continue; // a repeat of the value just removed
          if (v > lo) {
            los.push(lo);
            his.push(v - 1n);
          }
          lo = v + 1n;
          removed++;
        }
        if (lo <= hi) {
          los.push(lo);
          his.push(hi);
        }
      }
    }
    this.layOut(los, his);
    this.valueCount -= BigInt(removed);
    return removed;
  }

  /** Number of values in the set. */
  get size(): bigint {
    return this.valueCount;
  }

  /** Number of maximal intervals the set is made of (a measure of fragmentation). */
  get intervalCount(): number {
    return this.count;
  }

  has(value: bigint): boolean {
    this.locate(value);
    return this.below.chunk >= 0 && value <= this.hiAt(this.below);
  }

  /** The smallest value in the set, or undefined when it is empty. */
  first(): bigint | undefined {
    return this.chunks.length > 0 ? this.chunkLos[0] : undefined;
  }

  /** The smallest value in the set that is >= `value`, or undefined. */
  firstAtOrAfter(value: bigint): bigint | undefined {
    this.locate(value);
    if (this.below.chunk >= 0 && value <= this.hiAt(this.below)) return value;
    return this.above.chunk >= 0 ? this.loAt(this.above) : undefined;
  }

  /** Adds one value; returns false when it was already present. */
  add(value: bigint): boolean {
    this.locate(value);
    const { below, above } = this;
    if (below.chunk >= 0 && value <= this.hiAt(below)) return false;
    const joinsBelow = below.chunk >= 0 && this.hiAt(below) + 1n === value;
    const joinsAbove = above.chunk >= 0 && this.loAt(above) - 1n === value;
    if (joinsBelow && joinsAbove) {
      this.setHi(below, this.hiAt(above));
      this.removeAt(above.chunk, above.index);
    } else if (joinsBelow) {
      this.setHi(below, value);
    } else if (joinsAbove) {
      this.setLo(above, value);
    } else if (below.chunk >= 0) {
      this.insertAt(below.chunk, below.index + 1, value, value);
    } else {
      this.insertAt(0, 0, value, value);
    }
    this.valueCount += 1n;
    return true;
  }

  /** Removes one value; returns false when it was not present. */
  delete(value: bigint): boolean {
    this.locate(value);
    const at = this.below;
    if (at.chunk < 0) return false;
    const lo = this.loAt(at);
    const hi = this.hiAt(at);
    if (value > hi) return false;
    if (lo === hi) {
      this.removeAt(at.chunk, at.index);
    } else if (value === lo) {
      this.setLo(at, value + 1n);
    } else if (value === hi) {
      this.setHi(at, value - 1n);
    } else {
      this.setHi(at, value - 1n);
      this.insertAt(at.chunk, at.index + 1, value + 1n, hi);
    }
    this.valueCount -= 1n;
    return true;
  }

  /** The intervals in ascending order. */
  *intervals(): IterableIterator<Interval> {
    for (const c of this.chunks) {
      for (let i = 0; i < c.los.length; i++) yield { lo: c.los[i], hi: c.his[i] };
    }
  }

  /** Sets `below` to the interval with the greatest start <= value and `above` to the next one. */
  private locate(value: bigint): void {
    const approx = Number(value);
    const chunk = lastAtOrBelow(this.chunkApprox, this.chunkLos, approx, value);
    const below = this.below;
    const above = this.above;
    if (chunk < 0) {
      below.chunk = -1;
      above.chunk = this.chunks.length > 0 ? 0 : -1;
      above.index = 0;
      return;
    }
    const c = this.chunks[chunk];
    below.chunk = chunk;
    below.index = lastExactAtOrBelow(c.los, value);
    if (below.index + 1 < c.los.length) {
      above.chunk = chunk;
      above.index = below.index + 1;
    } else {
      above.chunk = chunk + 1 < this.chunks.length ? chunk + 1 : -1;
      above.index = 0;
    }
  }

  private loAt(p: Position): bigint {
    return this.chunks[p.chunk].los[p.index];
  }

  private hiAt(p: Position): bigint {
    return this.chunks[p.chunk].his[p.index];
  }

  private setHi(p: Position, hi: bigint): void {
    this.chunks[p.chunk].his[p.index] = hi;
  }

  // Callers only move a start to a value no other interval covers, so the order stays intact.
  private setLo(p: Position, lo: bigint): void {
    const c = this.chunks[p.chunk];
    c.los[p.index] = lo;
    if (p.index === 0) this.refreshChunkStart(p.chunk);
  }

  private insertAt(chunk: number, index: number, lo: bigint, hi: bigint): void {
    this.count++;
    if (this.chunks.length === 0) {
      this.insertChunk(0, { los: [lo], his: [hi] });
      return;
    }
    const c = this.chunks[chunk];
    c.los.splice(index, 0, lo);
    c.his.splice(index, 0, hi);
    if (index === 0) this.refreshChunkStart(chunk);
    if (c.los.length > CHUNK_MAX) {
      const half = c.los.length >> 1;
      this.insertChunk(chunk + 1, { los: c.los.splice(half), his: c.his.splice(half) });
    }
  }

  private removeAt(chunk: number, index: number): void {
    this.count--;
    const c = this.chunks[chunk];
    c.los.splice(index, 1);
    c.his.splice(index, 1);
    if (c.los.length === 0) {
      this.removeChunk(chunk);
      return;
    }
    if (index === 0) this.refreshChunkStart(chunk);
    // Merge a chunk that got small into its predecessor, so chunks stay a quarter full or more.
    const prev = this.chunks[chunk - 1];
    if (c.los.length < CHUNK_MIN && prev && prev.los.length + c.los.length <= CHUNK_MAX) {
      prev.los.push(...c.los);
      prev.his.push(...c.his);
      this.removeChunk(chunk);
    }
  }

  private insertChunk(at: number, c: Chunk): void {
    this.chunks.splice(at, 0, c);
    this.chunkLos.splice(at, 0, c.los[0]);
    this.chunkApprox.splice(at, 0, Number(c.los[0]));
  }

  private removeChunk(at: number): void {
    this.chunks.splice(at, 1);
    this.chunkLos.splice(at, 1);
    this.chunkApprox.splice(at, 1);
  }

  private refreshChunkStart(chunk: number): void {
    const c = this.chunks[chunk];
    this.chunkLos[chunk] = c.los[0];
    this.chunkApprox[chunk] = Number(c.los[0]);
  }
}

/** Index of the last chunk start <= value (exact: doubles first, BigInts only on a tie); -1 when none. */
function lastAtOrBelow(approx: readonly number[], exact: readonly bigint[], approxValue: number, value: bigint): number {
  let lo = 0;
  let hi = approx.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const a = approx[mid];
    if (a < approxValue || (a === approxValue && exact[mid] <= value)) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** Index of the last start <= value in a chunk (at most CHUNK_MAX, so BigInts are compared directly); -1 when none. */
function lastExactAtOrBelow(exact: readonly bigint[], value: bigint): number {
  let lo = 0;
  let hi = exact.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (exact[mid] <= value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
