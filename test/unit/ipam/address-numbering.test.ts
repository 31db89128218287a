import fc from 'fast-check';
import { parseIP, type Family } from '../../../src/ipam/address';
import { AddressNumbering, confusesBuggyFirmware, firstClaims, type Span } from '../../../src/ipam/address-numbering';
import { rangeOf } from './helpers';

const v = (text: string): bigint => parseIP(text).value;
const numbering = (family: Family, texts: string[], avoidBuggy = false): AddressNumbering =>
  new AddressNumbering(family, texts.map(rangeOf), avoidBuggy);

/** Every address of the ranges in hand-out order, by enumeration (the brute-force model). */
function enumerate(family: Family, texts: string[], avoidBuggy: boolean): bigint[] {
  const out = new Set<bigint>();
  for (const r of texts.map(rangeOf)) {
    if (r.family !== family) continue;
    for (let x = r.start; x <= r.end; x++) {
      if (!(avoidBuggy && confusesBuggyFirmware(family, x))) out.add(x);
    }
  }
  return [...out];
}

describe('AddressNumbering', () => {
  it.each([
    { desc: '/24 without avoid-buggy-ips', texts: ['10.0.0.0/24'], avoid: false, size: 256n },
    { desc: '/24 with avoid-buggy-ips drops .0 and .255', texts: ['10.0.0.0/24'], avoid: true, size: 254n },
    { desc: '/16 with avoid-buggy-ips drops two per /24', texts: ['10.0.0.0/16'], avoid: true, size: 256n * 254n },
    { desc: '/30 at the start of a /24 drops only .0', texts: ['10.0.0.0/30'], avoid: true, size: 3n },
    { desc: '/30 at the end of a /24 drops only .255', texts: ['10.0.0.252/30'], avoid: true, size: 3n },
    { desc: 'range across a /24 boundary', texts: ['10.0.0.250-10.0.1.5'], avoid: true, size: 10n },
    { desc: 'single buggy address gives nothing', texts: ['10.0.0.255/32'], avoid: true, size: 0n },
    { desc: 'IPv6 is never affected', texts: ['2001:db8::/120'], avoid: true, size: 256n },
  ])('counts $desc', ({ texts, avoid, size }) => {
    expect(numbering(rangeOf(texts[0]).family, texts, avoid).size).toBe(size);
  });

  it('counts an IPv6 /64 without enumerating it', () => {
    expect(numbering(6, ['2001:db8::/64']).size).toBe(1n << 64n);
  });

  it('numbers entries in declaration order, each upward', () => {
    const n = numbering(4, ['10.0.0.100-10.0.0.101', '10.0.0.10-10.0.0.11']);
    expect([0n, 1n, 2n, 3n].map((o) => n.valueAt(o))).toEqual(['10.0.0.100', '10.0.0.101', '10.0.0.10', '10.0.0.11'].map(v));
    expect(n.ordinalOf(v('10.0.0.10'))).toBe(2n);
    expect(n.ordinalOf(v('10.0.0.12'))).toBeUndefined();
  });

  it('gives no number to avoided addresses and skips them in order', () => {
    const n = numbering(4, ['10.0.0.254-10.0.1.1'], true);
    expect(n.size).toBe(2n);
    expect(n.valueAt(0n)).toBe(v('10.0.0.254'));
    expect(n.valueAt(1n)).toBe(v('10.0.1.1'));
    expect(n.ordinalOf(v('10.0.0.255'))).toBeUndefined();
    expect(n.ordinalOf(v('10.0.1.0'))).toBeUndefined();
  });

  it('lets the earlier entry keep addresses two overlapping entries share', () => {
    const n = numbering(4, ['10.0.0.4-10.0.0.7', '10.0.0.0-10.0.0.9']);
    expect(n.size).toBe(10n);
    expect(n.valueAt(0n)).toBe(v('10.0.0.4'));
    expect(n.valueAt(4n)).toBe(v('10.0.0.0'));
  });

  it('rejects numbers outside the pool', () => {
    const n = numbering(4, ['10.0.0.0/30']);
    expect(() => n.valueAt(4n)).toThrow(RangeError);
    expect(() => n.valueAt(-1n)).toThrow(RangeError);
  });

  it('agrees with enumeration for random IPv4 ranges (property)', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 1200 }), fc.integer({ min: 0, max: 300 }))
      .map(([start, len]) => `10.0.${start >> 8}.${start & 255}-10.0.${(start + len) >> 8}.${(start + len) & 255}`);
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 4 }), fc.boolean(), (texts, avoid) => {
        const n = numbering(4, texts, avoid);
        const all = enumerate(4, texts, avoid);
        expect(n.size).toBe(BigInt(all.length));
        expect(all.map((_, i) => n.valueAt(BigInt(i)))).toEqual(all);
        expect(all.map((x) => n.ordinalOf(x))).toEqual(all.map((_, i) => BigInt(i)));
      }),
      { numRuns: 100 },
    );
  });
});

/**
 * The brute-force model of firstClaims: every value of a small space goes to the lowest-numbered
 * span containing it; each span's claim is read off as maximal runs of consecutive values.
 */
function claimsByEnumeration(spans: readonly Span[], base: bigint, width: number): [bigint, bigint][][] {
  const out = spans.map((): [bigint, bigint][] => []);
  for (let offset = 0; offset < width; offset++) {
    const v = base + BigInt(offset);
    const owner = spans.findIndex(([lo, hi]) => lo <= v && v <= hi);
    if (owner < 0) continue;
    const mine = out[owner];
    const last = mine[mine.length - 1];
    if (last && last[1] === v - 1n) last[1] = v;
    else mine.push([v, v]);
  }
  return out;
}

describe('firstClaims (earlier entries keep shared addresses)', () => {
  const WIDTH = 80;
  // Short and long spans, empty ones (lo > hi) and exact repeats, over a space small enough to enumerate.
  const spansIn = (base: bigint): fc.Arbitrary<Span[]> =>
    fc.array(
      fc.tuple(fc.integer({ min: 0, max: WIDTH - 1 }), fc.integer({ min: -3, max: 40 })).map(([start, len]): Span => [base + BigInt(start), base + BigInt(Math.min(start + len, WIDTH - 1))]),
      { maxLength: 40 },
    );

  it.each([
    ['small values', 0n],
    // Starts above 2^100 round to the same double, so the sort's exact tie-break decides.
    ['values above 2^100', 1n << 100n],
  ])('agrees with enumeration (%s, property)', (_, base) => {
    fc.assert(
      fc.property(spansIn(base), (spans) => {
        expect(firstClaims(spans).map((c) => c.map(([lo, hi]) => [lo, hi]))).toEqual(claimsByEnumeration(spans, base, WIDTH));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps disjoint spans whole, in any order', () => {
    expect(firstClaims([[10n, 19n], [0n, 9n], [30n, 30n]])).toEqual([[[10n, 19n]], [[0n, 9n]], [[30n, 30n]]]);
  });

  it('cuts a later span around an earlier one inside it, and gives a nested later span nothing', () => {
    expect(firstClaims([[5n, 6n], [0n, 10n], [1n, 2n]])).toEqual([[[5n, 6n]], [[0n, 4n], [7n, 10n]], []]);
  });
});

describe('AddressNumbering with many overlapping entries', () => {
  it('agrees with enumeration (IPv4 across /24 boundaries, property)', () => {
    const range = fc
      .tuple(fc.integer({ min: 200, max: 800 }), fc.integer({ min: 0, max: 120 }))
      .map(([start, len]) => `10.0.${start >> 8}.${start & 255}-10.0.${(start + len) >> 8}.${(start + len) & 255}`);
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 30 }), fc.boolean(), (texts, avoid) => {
        const n = numbering(4, texts, avoid);
        const all = enumerate(4, texts, avoid);
        expect(n.size).toBe(BigInt(all.length));
        expect(all.map((_, i) => n.valueAt(BigInt(i)))).toEqual(all);
        expect(all.map((x) => n.ordinalOf(x))).toEqual(all.map((_, i) => BigInt(i)));
        // Addresses around the entries that no entry hands out have no number.
        const numbered = new Set(all);
        for (let x = v('10.0.0.190'); x <= v('10.0.3.160'); x++) {
          if (!numbered.has(x) && n.ordinalOf(x) !== undefined) throw new Error(`${x} is numbered`);
        }
      }),
      { numRuns: 100 },
    );
  });
});
