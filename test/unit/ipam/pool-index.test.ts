// PoolIndex answers "which pools contain this address" without asking every pool; the answers are
// checked against asking every pool by brute force (helpers' poolHands, written apart from src/ipam).
import fc from 'fast-check';
import { formatValue } from '../../../src/ipam/address';
import { PoolIndex } from '../../../src/ipam/pool-index';
import { PoolState } from '../../../src/ipam/pool';
import { orderByBigInt } from '../../../src/ipam/sort-by-bigint';
import { pool, poolHands } from './helpers';

/** Entries inside 10.0.0.250-10.0.2.10 (across two /24 boundaries) and 2001:db8::/120, overlapping freely. */
const entry = fc.oneof(
  fc.tuple(fc.integer({ min: 250, max: 520 }), fc.integer({ min: 0, max: 30 })).map(([start, len]) => `${ipv4(start)}-${ipv4(Math.min(start + len, 522))}`),
  fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })).map(([start, len]) => `2001:db8::${start.toString(16)}-2001:db8::${(start + len).toString(16)}`),
);

function ipv4(offset: number): string {
  return `10.0.${offset >> 8}.${offset & 255}`;
}

const PROBES = [...Array.from({ length: 280 }, (_, i) => ipv4(245 + i)), ...Array.from({ length: 230 }, (_, i) => formatValue(6, (0x20010db8n << 96n) + BigInt(i)))];

describe('PoolIndex', () => {
  it('finds exactly the pools that may hand out an address, in pool order (property)', () => {
    const pools = fc.array(fc.record({ entries: fc.array(entry, { minLength: 1, maxLength: 6 }), avoid: fc.boolean() }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(pools, (specs) => {
        const configs = specs.map((s, i) => pool(`p${i}`, s.entries, { avoidBuggyIPs: s.avoid }));
        const states = configs.map((c) => new PoolState(c));
        const index = new PoolIndex(states);
        const holders = (texts: string[]): string[] => configs.filter((c) => texts.every((t) => poolHands(c, t))).map((c) => c.name);
        const names = (texts: string[]): string[] => index.containing(probe(texts[0])).map((p) => p.name);
        // Each address is asked about twice in a row: the second answer comes from the index's memory.
        expect(PROBES.map((t) => [names([t]), names([t])])).toEqual(PROBES.map((t) => [holders([t]), holders([t])]));
        const pairs = Array.from({ length: 60 }, (_, k) => [PROBES[(k * 37) % 280], PROBES[280 + ((k * 53) % 230)]]);
        expect(pairs.map((pair) => index.firstHoldingAll(pair.map(probe))?.name)).toEqual(pairs.map((pair) => holders(pair)[0]));
      }),
      { numRuns: 120 },
    );
  });

/** The probes' text read by hand (they are dotted quads and 2001:db8::x only), not by src/ipam. */
function probe(text: string): { family: 4 | 6; value: bigint } {
  if (!text.includes(':')) return { family: 4, value: text.split('.').reduce((v, part) => v * 256n + BigInt(part), 0n) };
  return { family: 6, value: (0x20010db8n << 96n) + BigInt(parseInt(text.slice(text.lastIndexOf(':') + 1) || '0', 16)) };
}

  it('tells an IPv4 address from the IPv6 address with the same number', () => {
    const states = [new PoolState(pool('v4', ['10.0.0.0/24'])), new PoolState(pool('v6', ['::a00:0/120']))];
    const index = new PoolIndex(states);
    const value = (10n << 24n) + 7n; // 10.0.0.7 and ::a00:7
    expect(index.containing({ family: 4, value }).map((p) => p.name)).toEqual(['v4']);
    expect(index.containing({ family: 6, value }).map((p) => p.name)).toEqual(['v6']);
    expect(index.containing({ family: 4, value: value + 256n })).toEqual([]);
  });

  it('answers with no pools when there are none', () => {
    expect(new PoolIndex([]).containing({ family: 4, value: 1n })).toEqual([]);
    expect(new PoolIndex([]).firstHoldingAll([{ family: 4, value: 1n }])).toBeUndefined();
  });
});

describe('PoolState', () => {
  it('ranks an IPv4 address and the IPv6 address with the same number apart, asked in a row', () => {
    const p = new PoolState(pool('both', ['10.0.0.0/24', '::a00:4/126']));
    const value = (10n << 24n) + 7n; // 10.0.0.7 and ::a00:7
    expect(p.ordinalOf({ family: 4, value })).toBe(7n);
    expect(p.ordinalOf({ family: 6, value })).toBe(3n);
    expect(p.ordinalOf({ family: 4, value })).toBe(7n);
  });
});

describe('orderByBigInt', () => {
  it('sorts like a BigInt comparator and keeps equal keys in input order (property)', () => {
    // Keys near 2^100 round to the same double, so the exact comparison decides there.
    const key = fc.oneof(fc.bigInt({ min: 0n, max: 50n }), fc.bigInt({ min: 0n, max: 50n }).map((k) => (1n << 100n) + k));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 60 }), (keys) => {
        const expected = keys.map((k, i) => ({ k, i })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i)).map((x) => x.i);
        expect(orderByBigInt(keys)).toEqual(expected);
      }),
    );
  });
});
