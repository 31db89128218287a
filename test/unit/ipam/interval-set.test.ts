import fc from 'fast-check';
import { IntervalSet } from '../../../src/ipam/interval-set';

const list = (s: IntervalSet): [bigint, bigint][] => [...s.intervals()].map((i) => [i.lo, i.hi]);

describe('IntervalSet', () => {
  it('merges overlapping and adjacent intervals given in any order', () => {
    const s = new IntervalSet([
      { lo: 10n, hi: 12n },
      { lo: 1n, hi: 3n },
      { lo: 4n, hi: 5n },
      { lo: 11n, hi: 20n },
      { lo: 30n, hi: 29n }, // empty, ignored
    ]);
    expect(list(s)).toEqual([
      [1n, 5n],
      [10n, 20n],
    ]);
    expect(s.size).toBe(16n);
    expect(s.intervalCount).toBe(2);
  });

  it('splits an interval when a middle value is deleted and joins it back when re-added', () => {
    const s = new IntervalSet([{ lo: 0n, hi: 9n }]);
    expect(s.delete(5n)).toBe(true);
    expect(list(s)).toEqual([
      [0n, 4n],
      [6n, 9n],
    ]);
    expect(s.delete(5n)).toBe(false);
    expect(s.add(5n)).toBe(true);
    expect(s.add(5n)).toBe(false);
    expect(list(s)).toEqual([[0n, 9n]]);
    expect(s.size).toBe(10n);
  });

  it('answers first / firstAtOrAfter across gaps', () => {
    const s = new IntervalSet([
      { lo: 5n, hi: 6n },
      { lo: 10n, hi: 10n },
    ]);
    expect(s.first()).toBe(5n);
    expect(s.firstAtOrAfter(0n)).toBe(5n);
    expect(s.firstAtOrAfter(6n)).toBe(6n);
    expect(s.firstAtOrAfter(7n)).toBe(10n);
    expect(s.firstAtOrAfter(11n)).toBeUndefined();
    expect(new IntervalSet().first()).toBeUndefined();
  });

  it('handles a whole IPv6 /64 as one interval', () => {
    const lo = 0x20010db8n << 96n;
    const hi = lo + (1n << 64n) - 1n;
    const s = new IntervalSet([{ lo, hi }]);
    for (let i = 0n; i < 1000n; i++) s.delete(lo + i);
    expect(s.first()).toBe(lo + 1000n);
    expect(s.size).toBe((1n << 64n) - 1000n);
    expect(s.intervalCount).toBe(1);
  });

  it('stays ordered through many scattered inserts and deletes', () => {
    const s = new IntervalSet();
    for (let i = 0n; i < 20000n; i++) s.add((i * 7919n) % 40000n);
    for (let i = 0n; i < 40000n; i += 3n) s.delete(i);
    const ivs = list(s);
    expect(ivs.every(([lo], k) => k === 0 || lo > ivs[k - 1][1] + 1n)).toBe(true);
    expect(s.intervalCount).toBe(ivs.length);
  });

  it('matches a plain Set under random add/delete sequences (property)', () => {
    const op = fc.record({ add: fc.boolean(), value: fc.bigInt({ min: 0n, max: 63n }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.bigInt({ min: 0n, max: 70n }), (ops, probe) => {
        const s = new IntervalSet();
        const model = new Set<bigint>();
        for (const { add, value } of ops) {
          expect(add ? s.add(value) : s.delete(value)).toBe(add ? !model.has(value) : model.has(value));
          if (add) model.add(value);
          else model.delete(value);
        }
        const sorted = [...model].sort((a, b) => (a < b ? -1 : 1));
        const expanded = list(s).flatMap(([lo, hi]) => Array.from({ length: Number(hi - lo + 1n) }, (_, i) => lo + BigInt(i)));
        expect(expanded).toEqual(sorted);
        expect(s.size).toBe(BigInt(model.size));
        expect(s.has(probe)).toBe(model.has(probe));
        expect(s.firstAtOrAfter(probe)).toBe(sorted.find((v) => v >= probe));
        // maximal intervals: no two touch
        const ivs = list(s);
        expect(ivs.every(([lo], k) => k === 0 || lo > ivs[k - 1][1] + 1n)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('IntervalSet with many fragments', () => {
  // Hundreds of intervals force chunk splits and merges; values above 2^64 make neighbouring
  // starts round to the same double, so the exact BigInt tie-break is exercised too.
  it.each([
    ['small values', 0n],
    ['values above 2^64', 1n << 64n],
  ])('matches a plain Set under random add/delete sequences (%s)', (_, base) => {
    const op = fc.record({ add: fc.boolean(), value: fc.integer({ min: 0, max: 3000 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 200, maxLength: 3000 }), fc.integer({ min: 0, max: 3100 }), (ops, probe) => {
        const s = new IntervalSet([{ lo: base, hi: base + 1500n }]);
        const model = new Set<number>(Array.from({ length: 1501 }, (_, i) => i));
        for (const { add, value } of ops) {
          const v = base + BigInt(value);
          const changed = add ? s.add(v) : s.delete(v);
          if (changed !== (add ? !model.has(value) : model.has(value))) throw new Error(`${add ? 'add' : 'delete'} ${value}`);
          if (add) model.add(value);
          else model.delete(value);
        }
        const sorted = [...model].sort((a, b) => a - b);
        const expanded = list(s).flatMap(([lo, hi]) => Array.from({ length: Number(hi - lo + 1n) }, (_, i) => Number(lo - base) + i));
        expect(expanded).toEqual(sorted);
        const ivs = list(s);
        expect(ivs.every(([lo], k) => k === 0 || lo > ivs[k - 1][1] + 1n)).toBe(true);
        expect(s.intervalCount).toBe(ivs.length);
        expect(s.size).toBe(BigInt(model.size));
        expect(s.first()).toBe(sorted.length > 0 ? base + BigInt(sorted[0]) : undefined);
        const next = sorted.find((v) => v >= probe);
        expect(s.firstAtOrAfter(base + BigInt(probe))).toBe(next === undefined ? undefined : base + BigInt(next));
        expect(s.has(base + BigInt(probe))).toBe(model.has(probe));
      }),
      { numRuns: 60 },
    );
  });

  it('builds from many intervals and empties completely', () => {
    const s = new IntervalSet(Array.from({ length: 500 }, (_, i) => ({ lo: BigInt(3 * i), hi: BigInt(3 * i + 1) })));
    expect(s.intervalCount).toBe(500);
    expect(s.size).toBe(1000n);
    for (let i = 0n; i < 1500n; i++) s.delete(i);
    expect(s.intervalCount).toBe(0);
    expect(s.first()).toBeUndefined();
    expect(s.add(7n)).toBe(true);
    expect(list(s)).toEqual([[7n, 7n]]);
  });

  it.each([
    ['ascending', false],
    ['descending', true],
  ])('joins hundreds of fragments back into one interval (%s)', (_, descending) => {
    const s = new IntervalSet(Array.from({ length: 500 }, (_, i) => ({ lo: BigInt(2 * i), hi: BigInt(2 * i) })));
    const odd = Array.from({ length: 499 }, (_, i) => BigInt(2 * i + 1));
    for (const v of descending ? odd.reverse() : odd) {
      expect(s.add(v)).toBe(true);
      expect(s.has(v)).toBe(true);
    }
    expect(list(s)).toEqual([[0n, 998n]]);
    expect(s.intervalCount).toBe(1);
  });
});

describe('IntervalSet.deleteSorted', () => {
  // Against a plain Set: the bulk path (many values: merged with the intervals, chunks laid out
  // anew) and the one-by-one path (few values) must both remove exactly the values present, and
  // the set must go on working (adds, deletes, lookups) after it.
  it.each([
    ['small values', 0n],
    ['values above 2^64', 1n << 64n],
  ])('matches a plain Set, followed by more adds and deletes (%s)', (_, base) => {
    let bulkRuns = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 400, size: 'max' }), // values deleted one by one first: fragments
        fc.array(fc.integer({ min: -5, max: 2010 }), { maxLength: 1500, size: 'max' }), // then in bulk, repeats and strangers included
        fc.array(fc.record({ add: fc.boolean(), value: fc.integer({ min: 0, max: 2000 }) }), { maxLength: 200 }),
        (before, bulk, after) => {
          const s = new IntervalSet([{ lo: base, hi: base + 2000n }]);
          const model = new Set<number>(Array.from({ length: 2001 }, (_, i) => i));
          for (const v of before) {
            s.delete(base + BigInt(v));
            model.delete(v);
          }
          const sorted = [...bulk].sort((a, b) => a - b).filter((v) => base > 0n || v >= 0);
          let expectedRemoved = 0;
          for (const v of sorted) if (model.delete(v)) expectedRemoved++;
          if (sorted.length >= 16 && sorted.length * 8 >= s.intervalCount) bulkRuns++;
          expect(s.deleteSorted(sorted.map((v) => base + BigInt(v)))).toBe(expectedRemoved);
          for (const { add, value } of after) {
            const v = base + BigInt(value);
            expect(add ? s.add(v) : s.delete(v)).toBe(add ? !model.has(value) : model.has(value));
            if (add) model.add(value);
            else model.delete(value);
          }
          const want = [...model].sort((a, b) => a - b);
          const expanded = list(s).flatMap(([lo, hi]) => Array.from({ length: Number(hi - lo + 1n) }, (_, i) => Number(lo - base) + i));
          expect(expanded).toEqual(want);
          const ivs = list(s);
          expect(ivs.every(([lo], k) => k === 0 || lo > ivs[k - 1][1] + 1n)).toBe(true);
          expect(s.intervalCount).toBe(ivs.length);
          expect(s.size).toBe(BigInt(model.size));
          expect(s.first()).toBe(want.length > 0 ? base + BigInt(want[0]) : undefined);
        },
      ),
      { numRuns: 150 },
    );
    expect(bulkRuns).toBeGreaterThan(100); // the merge path, not only the one-by-one one
  });

  it('empties a set whole and leaves it usable', () => {
    const s = new IntervalSet([{ lo: 0n, hi: 99n }]);
    expect(s.deleteSorted(Array.from({ length: 100 }, (_, i) => BigInt(i)))).toBe(100);
    expect(s.size).toBe(0n);
    expect(s.intervalCount).toBe(0);
    expect(s.first()).toBeUndefined();
    expect(s.add(42n)).toBe(true);
    expect(list(s)).toEqual([[42n, 42n]]);
  });
});
