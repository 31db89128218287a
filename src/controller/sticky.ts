// Sticky addresses (a pool's `release-delay`). When a Service is deleted, its addresses are not
// freed at once: a placeholder (`ironlb.io/released:<namespace/name>`, with the deleted Service's
// sharing profile, so a share it had stays valid) holds them for the pool's delay. A new Service
// of the same namespace/name created within it gets them back; any other Service gets them only
// when its pools have nothing else (the oldest hold goes first). Nothing here touches another
// Service's holding: deleting one Service never changes another's address (MetalLB #2723).
// Pure: the allocator is passed in, time too. Holds live in the leader's memory and, through
// snapshot()/restore() (sticky-persist.ts), in its leader Lease: a new leader takes them over.
import { OUTSIDE, type Allocator } from '../ipam/allocator';
import type { ServiceRequest } from '../ipam/types';
import type { PersistedHold } from './sticky-persist';

export const STICKY_KEY_PREFIX = 'ironlb.io/released:';

interface Hold {
  readonly request: ServiceRequest;
  readonly ips: readonly string[];
  readonly pool: string;
  readonly since: number;
  readonly until: number;
}

export class StickyAddresses {
  private readonly holds = new Map<string, Hold>();

  /**
   * The Service `request.key` is gone. Holds its addresses for `delayMs(pool)` if that is > 0
   * (returns true); otherwise releases nothing and returns false (the caller frees as before).
   */
  onDeleted(allocator: Allocator, request: ServiceRequest, delayMs: (pool: string) => number, now: number): boolean {
    const held = allocator.assignmentOf(request.key);
    if (!held || held.pool === OUTSIDE) return false;
    const delay = delayMs(held.pool);
    if (delay <= 0) return false;
    allocator.release(request.key);
    const r = allocator.reserve({ ...request, key: STICKY_KEY_PREFIX + request.key, requestedIPs: held.ips }, held.ips);
    if (!r.ok) return false; // cannot happen for what the Service held; freed then
    this.holds.set(request.key, { request, ips: [...held.ips], pool: held.pool, since: now, until: now + delay });
    return true;
  }

  has(key: string): boolean {
    return this.holds.has(key);
  }

  /**
   * A Service named like a held one exists again: its addresses go back to it (if they still fit
   * its request; otherwise they are simply freed and it is decided as any new Service).
   */
  reclaim(allocator: Allocator, request: ServiceRequest): void {
    const h = this.holds.get(request.key);
    if (!h) return;
    this.holds.delete(request.key);
    allocator.release(STICKY_KEY_PREFIX + request.key);
    if (!allocator.assignmentOf(request.key)) allocator.assign(request, h.ips);
  }

  /** Ends the holds whose delay passed; returns whether any address was freed. */
  expire(allocator: Allocator, now: number): boolean {
    let freed = false;
    for (const [key, h] of this.holds) {
      if (h.until > now) continue;
      this.holds.delete(key);
      freed = allocator.release(STICKY_KEY_PREFIX + key) || freed;
    }
    return freed;
  }

  /**
   * `request` found no address: frees the oldest hold it could use — one on an address it asks
   * for, or else in the pool it names, or else in any auto-assign pool (`autoPools`).
   */
  evictFor(allocator: Allocator, request: ServiceRequest, autoPools: ReadonlySet<string>): boolean {
    if (request.requestedIPs.length > 0) return this.evictOldest(allocator, (h) => h.ips.some((ip) => request.requestedIPs.includes(ip)));
    return this.evictOldest(allocator, (h) => (request.poolName !== undefined ? h.pool === request.poolName : autoPools.has(h.pool)));
  }

  private evictOldest(allocator: Allocator, usable: (h: Hold) => boolean): boolean {
    let oldest: [string, Hold] | undefined;
    for (const e of this.holds) if (usable(e[1]) && (!oldest || e[1].since < oldest[1].since)) oldest = e;
    if (!oldest) return false;
    this.holds.delete(oldest[0]);
    return allocator.release(STICKY_KEY_PREFIX + oldest[0]);
  }

  nextExpiry(): number | undefined {
    let t: number | undefined;
    for (const h of this.holds.values()) t = Math.min(t ?? Infinity, h.until);
    return t;
  }

  clear(): void {
    this.holds.clear();
  }

  /** The holds in wall-clock time (`now` monotonic and `wallNow` taken together). */
  snapshot(now: number, wallNow: number): PersistedHold[] {
    return [...this.holds.values()].map((h) => ({ request: h.request, ips: h.ips, pool: h.pool, sinceWall: wallNow - (now - h.since), untilWall: wallNow + (h.until - now) }));
  }

  /**
   * Takes over a previous leader's holds, on an allocator just rebuilt from Service status: a hold
   * whose end passed, whose Service exists again (`live`) or whose addresses a live Service holds
   * now (what status shows wins) is dropped. Returns how many were restored.
   */
  restore(allocator: Allocator, holds: readonly PersistedHold[], live: (key: string) => boolean, now: number, wallNow: number): number {
    let restored = 0;
    for (const h of holds) {
      const key = h.request.key;
      const left = h.untilWall - wallNow;
      if (left <= 0 || live(key) || this.holds.has(key)) continue;
      const r = allocator.reserve({ ...h.request, key: STICKY_KEY_PREFIX + key, requestedIPs: h.ips }, h.ips);
      if (!r.ok) continue;
      if (allocator.assignmentOf(STICKY_KEY_PREFIX + key)?.pool === OUTSIDE) {
        allocator.release(STICKY_KEY_PREFIX + key); // no pool holds it any more: nothing to keep
        continue;
      }
      this.holds.set(key, { request: h.request, ips: [...h.ips], pool: h.pool, since: now - Math.max(0, wallNow - h.sinceWall), until: now + left });
      restored++;
    }
    return restored;
  }
}
