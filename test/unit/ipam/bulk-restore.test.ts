// A restore marks many addresses used with nothing read in between; the pools defer those marks
// and apply them in one merge at the next read (pool.ts, IntervalSet.deleteSorted). That must be
// invisible: after any mix of restores and releases, allocation hands out exactly the addresses
// nobody holds, lowest first, and the in-use counts match. The oracle is a plain set of the
// pool's 256 addresses, not the allocator.
import fc from 'fast-check';
import { Allocator } from '../../../src/ipam/allocator';
import { pool, svc } from './helpers';

const ALL = Array.from({ length: 256 }, (_, i) => `10.0.0.${i}`);

describe('restores without reads in between (deferred marks)', () => {
  it('leave exactly the unheld addresses to allocation, lowest first', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 256, size: 'max' }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.boolean(),
        (restored, releasePicks, reserve) => {
          const alloc = new Allocator();
          alloc.setPools([pool('p', ['10.0.0.0/24'])]);
          const held = new Set<number>();
          restored.forEach((octet, i) => {
            const req = svc(`ns/r${i}`);
            const r = reserve ? alloc.reserve(req, [ALL[octet]]) : alloc.assign(req, [ALL[octet]]);
            expect(r.ok).toBe(true);
            held.add(octet);
          });
          // Releases before anything reads the pool: each frees an address whose mark may still be pending.
          for (const pick of releasePicks) {
            const i = pick % restored.length;
            if (alloc.release(`ns/r${i}`)) held.delete(restored[i]);
          }
          const free = ALL.map((_, octet) => octet).filter((octet) => !held.has(octet));
          expect(alloc.stats()[0].inUseV4).toBe(BigInt(held.size));
          const got = free.map((_, i) => {
            const r = alloc.allocate(svc(`ns/new${i}`));
            return r.ok ? r.ips[0] : r.reason;
          });
          expect(got).toEqual(free.map((octet) => ALL[octet]));
          expect(alloc.allocate(svc('ns/one-too-many')).ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
