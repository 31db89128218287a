// Random rows for the C answer path (native/src/l2_answer.c): random owned tables and interfaces,
// frames built as valid requests by src/protocol and then mutated, shaped random bytes and plain
// random bytes. C and TypeScript must agree on every return value and every answer byte.
import fc from 'fast-check';
import { parseIPv4, parseIPv6, parseMac } from '../../../src/protocol/address';
import { buildArpRequest } from '../../../src/protocol/arp';
import { buildNeighborSolicitation } from '../../../src/protocol/ndp';
import { L2OwnedEntry, tryLoadNative } from '../../../src/net/native';
import { agree, arpArb, Case, entriesArb, ifaceArb, Kind, mutated, ndpArb, ndpShapedArb, randomArb, reasonCode, tsTable } from '../../support/l2-answer-diff';

const native = tryLoadNative();
const d = native ? describe : describe.skip;
if (!native) console.warn('skipping the C answer path tests: the addon is not built (npm run build:native)');

const ALL_REASONS = [1, 2, 3, 4, 5, 6, 7].map((i) => -i);

d('C answer path against the TypeScript, random rows', () => {
  const n = native!;

  /** Runs `runs` random tables, each with up to 8 frames; returns the outcomes seen (> 0 as 1). */
  function differential(kind: Kind, cases: fc.Arbitrary<Case>, runs: number): Set<number> {
    const seen = new Set<number>();
    fc.assert(
      fc.property(entriesArb, ifaceArb, fc.array(cases, { minLength: 1, maxLength: 8 }), (entries, iface, frames) => {
        const c = n.l2OwnedTest(entries);
        const ts = tsTable(entries);
        expect([n.l2OwnedSizeTest(c, 4), n.l2OwnedSizeTest(c, 6)]).toEqual([ts.sizeV4, ts.sizeV6]);
        for (const { frame, length } of frames) seen.add(Math.min(1, agree(n, kind, frame, length, iface, c, ts)));
      }),
      { numRuns: runs },
    );
    return seen;
  }

  it('ARP: mutated requests and replies, tagged or not, cut or extended', () => {
    const seen = differential('arp', mutated(arpArb), 4000);
    for (const r of [1, ...ALL_REASONS]) expect([r, seen.has(r)]).toEqual([r, true]);
  });

  it('NDP: mutated solicitations and advertisements (options, checksums, hop limits, tags)', () => {
    const seen = differential('ndp', mutated(ndpArb), 4000);
    for (const r of [1, ...ALL_REASONS]) expect([r, seen.has(r)]).toEqual([r, true]);
  });

  it('NDP: random bytes shaped like an NS or NA (random options past a right checksum)', () => {
    const seen = differential('ndp', ndpShapedArb, 2000);
    expect(seen.has(reasonCode('malformed'))).toBe(true);
    expect(seen.has(1)).toBe(true);
  });

  it('both: plain random bytes and lengths', () => {
    differential('arp', randomArb, 1000);
    differential('ndp', randomArb, 1000);
  });

  it('the other kind: ARP frames to answerNdp and NDP frames to answerArp', () => {
    differential('ndp', mutated(arpArb), 500);
    differential('arp', mutated(ndpArb), 500);
  });

  it('a table of 100,000 addresses of each family, some limited to interfaces', () => {
    const entries: L2OwnedEntry[] = [];
    for (let i = 0; i < 100_000; i++) {
      const v4 = Buffer.alloc(4);
      v4.writeUInt32BE((10 << 24) + i * 3);
      const v6 = parseIPv6('2001:db8::');
      v6.writeUInt32BE(i * 5, 12);
      const ifindexes = i % 4 === 0 ? [1 + (i % 3)] : null;
      entries.push({ ip: v4, ifindexes }, { ip: v6, ifindexes });
    }
    entries.push({ ip: entries[0].ip, ifindexes: [9] }); // replaced, not added
    const c = n.l2OwnedTest(entries);
    const ts = tsTable(entries);
    expect([n.l2OwnedSizeTest(c, 4), n.l2OwnedSizeTest(c, 6)]).toEqual([100_000, 100_000]);
    const client = parseMac('02:00:00:00:00:10');
    const iface = { ifindex: 2, mac: parseMac('02:00:00:00:00:11') };
    const seen = new Set<number>();
    for (let i = 0; i < 310_000; i += 97) {
      const v4 = Buffer.alloc(4);
      v4.writeUInt32BE((10 << 24) + i);
      seen.add(Math.min(1, agree(n, 'arp', buildArpRequest(client, parseIPv4('198.51.100.10'), v4), 60, iface, c, ts)));
      const v6 = parseIPv6('2001:db8::');
      v6.writeUInt32BE(i * 2, 12);
      const f = buildNeighborSolicitation({ sourceMac: client, sourceIp: parseIPv6('2001:db8:1::10'), target: v6 });
      seen.add(Math.min(1, agree(n, 'ndp', f, f.length, iface, c, ts)));
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-5, -1, 1]);
  });
});
