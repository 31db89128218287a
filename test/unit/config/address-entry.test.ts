import fc from 'fast-check';
import { findOverlaps, parseAddressEntry, type Located } from '../../../src/config/address-entry';

describe('parseAddressEntry', () => {
  test('a range keeps its text and summarizes into CIDRs', () => {
    const parsed = parseAddressEntry(' 10.0.0.0 - 10.0.0.255 ');
    expect(parsed).toEqual({
      ok: true,
      value: { text: '10.0.0.0 - 10.0.0.255', range: { family: 4, start: 0x0a000000n, end: 0x0a0000ffn }, cidrs: [{ family: 4, base: 0x0a000000n, prefix: 24 }] },
    });
  });

  test('a single address written as A-A', () => {
    expect(parseAddressEntry('fd00::5-fd00::5')).toMatchObject({ ok: true, value: { cidrs: [{ family: 6, prefix: 128 }] } });
  });

  test('an empty entry', () => {
    expect(parseAddressEntry('  ')).toEqual({ ok: false, error: 'empty address entry; write a CIDR (198.51.100.0/24) or a range (A-B)' });
  });
});

describe('findOverlaps', () => {
  const interval = fc
    .tuple(fc.constantFrom<4 | 6>(4, 6), fc.nat(200), fc.nat(20))
    .map(([family, start, span]) => ({ family, start: BigInt(start), end: BigInt(start + span) }));

  // Starts above 2^100 round to the same double: the exact tie-break decides the order there.
  const high = interval.map(({ family, start, end }) => ({ family, start: (1n << 100n) + start, end: (1n << 100n) + end }));

  test('flags exactly the intervals that overlap another, earlier one first in each pair', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(interval, high), { maxLength: 30 }), fc.boolean(), (ranges, reversed) => {
        // Items may come in any order; `order` is what says which one was written first.
        const written: Located[] = ranges.map((range, order) => ({ range, order }));
        const items = reversed ? [...written].reverse() : written;
        const overlapping = (a: Located, b: Located): boolean =>
          a.range.family === b.range.family && a.range.start <= b.range.end && b.range.start <= a.range.end;
        const want = new Set(items.filter((a) => items.some((b) => b !== a && overlapping(a, b))).map((a) => a.order));
        const pairs = findOverlaps(items);
        const got = new Set(pairs.flatMap(([a, b]) => [a.order, b.order]));
        expect(got).toEqual(want);
        for (const [a, b] of pairs) {
          expect(a.order).toBeLessThan(b.order);
          expect(overlapping(a, b)).toBe(true);
        }
      }),
    );
  });
});
