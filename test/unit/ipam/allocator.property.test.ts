// Random sequences of allocator operations, checked against brute-force recomputation.
import fc from 'fast-check';
import type { AddressPool } from '../../../src/config/types';
import { formatValue, parseIP } from '../../../src/ipam/address';
import { Allocator } from '../../../src/ipam/allocator';
import type { AllocationResult, Assignment, ServiceRequest } from '../../../src/ipam/types';
import { pool, rangeOf } from './helpers';
import { checkInvariants } from './invariants';

// Disjoint building blocks, so generated configs never overlap; they include .0/.255 edges.
const BLOCKS = ['10.0.0.0/30', '10.0.0.254-10.0.1.1', '10.0.2.0/29', '10.0.3.255/32', '2001:db8::/126', '2001:db8:1::/127'];
const POOL_NAMES = ['a', 'b', 'c'];
const KEYS = Array.from({ length: 10 }, (_, i) => `ns/s${i}`);
const ADDRESSES = [
  ...BLOCKS.flatMap((b) => {
    const r = rangeOf(b);
    const out: string[] = [];
    for (let x = r.start; x <= r.end; x++) out.push(formatValue(r.family, x));
    return out;
  }),
  '192.0.2.1',
  '2001:db8:ff::1',
];
const PORTS = [
  { protocol: 'TCP', port: 80 },
  { protocol: 'TCP', port: 443 },
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
  { protocol: 'TCP', port: 8080 },
];

const poolsArb: fc.Arbitrary<AddressPool[]> = fc
  .record({
    owner: fc.array(fc.constantFrom(-1, 0, 1, 2), { minLength: BLOCKS.length, maxLength: BLOCKS.length }),
    opts: fc.array(fc.record({ autoAssign: fc.constantFrom(true, true, true, false), avoidBuggyIPs: fc.boolean(), priority: fc.constantFrom(0, 1) }), {
      minLength: POOL_NAMES.length,
      maxLength: POOL_NAMES.length,
    }),
  })
  .map(({ owner, opts }) =>
    POOL_NAMES.flatMap((name, i) => {
      const blocks = BLOCKS.filter((_, b) => owner[b] === i);
      return blocks.length > 0 ? [pool(name, blocks, opts[i])] : [];
    }),
  );

const BY_FAMILY = { 4: ADDRESSES.filter((a) => parseIP(a).family === 4), 6: ADDRESSES.filter((a) => parseIP(a).family === 6) };

/** Mostly one address per wanted family (what a real Service status or request looks like), sometimes anything. */
const addressesFor = (families: readonly (4 | 6)[]): fc.Arbitrary<string[]> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(...families.map((f) => fc.constantFrom(...BY_FAMILY[f]))) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...ADDRESSES), { minLength: 1, maxLength: 2 }) },
  );

const requestArb: fc.Arbitrary<ServiceRequest> = fc
  .record({
    key: fc.constantFrom(...KEYS),
    families: fc.constantFrom<(4 | 6)[]>([4], [4], [6], [4, 6], [6, 4]),
    familyPolicy: fc.constantFrom('SingleStack' as const, 'PreferDualStack' as const, 'RequireDualStack' as const),
    poolName: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...POOL_NAMES, 'ghost') }),
    sharingKey: fc.constantFrom('', 'k1', 'k1', 'k1', 'k2'),
    backendKey: fc.constantFrom('', '', '', 'app=x'),
    ports: fc.subarray(PORTS, { minLength: 1, maxLength: 1 }),
  })
  .chain((r) => {
    const familyPolicy = r.families.length === 1 && r.familyPolicy === 'RequireDualStack' ? 'SingleStack' : r.familyPolicy;
    const wanted = familyPolicy === 'SingleStack' ? r.families.slice(0, 1) : r.families;
    const requested = fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: addressesFor(wanted) });
    return requested.map((requestedIPs) => ({ ...r, familyPolicy, requestedIPs }));
  });

type Command =
  | { kind: 'allocate'; req: ServiceRequest }
  | { kind: 'restore'; req: ServiceRequest; ips: string[] }
  | { kind: 'release'; key: string }
  | { kind: 'setPools'; pools: AddressPool[] };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: requestArb.map((req) => ({ kind: 'allocate' as const, req })) },
  {
    weight: 2,
    arbitrary: requestArb.chain((req) =>
      addressesFor(req.familyPolicy === 'SingleStack' ? req.families.slice(0, 1) : req.families).map((ips) => ({
        kind: 'restore' as const,
        req: { ...req, requestedIPs: [] },
        ips,
      })),
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...KEYS).map((key) => ({ kind: 'release' as const, key })) },
  { weight: 1, arbitrary: poolsArb.map((pools) => ({ kind: 'setPools' as const, pools })) },
);

function snapshot(alloc: Allocator): unknown {
  return JSON.stringify({ held: KEYS.map((k) => alloc.assignmentOf(k) ?? null), stats: alloc.stats() }, (_, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
}

function mayShare(req: ServiceRequest, holder: Assignment): boolean {
  const clash = req.ports.some((p) => holder.ports.some((q) => p.protocol === q.protocol && p.port === q.port));
  return req.sharingKey !== '' && req.sharingKey === holder.sharingKey && req.backendKey === holder.backendKey && !clash;
}

/** The pool's addresses of one family in hand-out order, by enumeration. */
function handOutOrder(p: AddressPool, family: 4 | 6): string[] {
  const out: string[] = [];
  for (const { range } of p.addresses) {
    if (range.family !== family) continue;
    for (let x = range.start; x <= range.end; x++) {
      const avoided = family === 4 && p.avoidBuggyIPs && [0n, 255n].includes(x & 255n);
      if (!avoided) out.push(formatValue(family, x));
    }
  }
  return out;
}

/** A fresh allocation must take, per family, the first address of its pool that is free or may be shared. */
function checkFirstEligible(result: AllocationResult, req: ServiceRequest, before: Assignment[], pools: readonly AddressPool[]): void {
  if (!result.ok) return;
  const p = pools.find((x) => x.name === result.pool) as AddressPool;
  for (const ip of result.ips) {
    const eligible = handOutOrder(p, parseIP(ip).family).find((addr) =>
      before.filter((a) => a.key !== req.key && a.ips.includes(addr)).every((holder) => mayShare(req, holder)),
    );
    expect({ req, ip }).toEqual({ req, ip: eligible });
  }
}

function run(commands: Command[], initial: AddressPool[]): AllocationResult[] {
  const alloc = new Allocator();
  let pools = initial;
  alloc.setPools(pools);
  const results: AllocationResult[] = [];
  for (const c of commands) {
    if (c.kind === 'allocate') {
      const before = KEYS.flatMap((k) => alloc.assignmentOf(k) ?? []);
      const fresh = !before.some((a) => a.key === c.req.key) && c.req.requestedIPs.length === 0;
      const result = alloc.allocate(c.req);
      results.push(result);
      expect(alloc.assignmentOf(c.req.key)?.ips ?? null).toEqual(result.ok ? result.ips : null);
      if (result.ok) {
        expect(alloc.assignmentOf(c.req.key)?.pool).toBe(result.pool);
        // allocate is idempotent
        const state = snapshot(alloc);
        expect(alloc.allocate(c.req)).toEqual(result);
        expect(snapshot(alloc)).toEqual(state);
      }
      if (fresh) checkFirstEligible(result, c.req, before, pools);
    } else if (c.kind === 'restore') {
      const result = alloc.assign(c.req, c.ips);
      results.push(result);
      const state = snapshot(alloc);
      // restoring again changes nothing
      expect(alloc.assign(c.req, c.ips)).toEqual(result);
      expect(snapshot(alloc)).toEqual(state);
      if (result.ok) {
        // a restored assignment does not move (PreferDualStack may only add the missing family)
        const again = alloc.allocate(c.req);
        expect(again.ok && result.ips.every((ip) => again.ips.includes(ip))).toBe(true);
      }
    } else if (c.kind === 'release') {
      alloc.release(c.key);
      expect(alloc.assignmentOf(c.key)).toBeUndefined();
    } else {
      pools = c.pools;
      const { invalidated } = alloc.setPools(pools);
      expect(invalidated.every((k) => alloc.assignmentOf(k) === undefined)).toBe(true);
    }
    checkInvariants(alloc, pools, KEYS);
  }
  return results;
}

describe('Allocator under random operation sequences', () => {
  it('keeps every invariant, is idempotent and picks the first eligible address', () => {
    fc.assert(
      fc.property(poolsArb, fc.array(commandArb, { maxLength: 40 }), (pools, commands) => {
        run(commands, pools);
      }),
      { numRuns: 400 },
    );
  });

  it('is deterministic: the same sequence gives the same results', () => {
    fc.assert(
      fc.property(poolsArb, fc.array(commandArb, { maxLength: 30 }), (pools, commands) => {
        expect(run(commands, pools)).toEqual(run(commands, pools));
      }),
      { numRuns: 100 },
    );
  });
});
