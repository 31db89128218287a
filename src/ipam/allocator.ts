// Service address allocation with MetalLB's semantics (internal/allocator/allocator.go), kept in
// memory only: Service status is the source of truth and is replayed through `assign` at start-up.
// This file keeps the holdings and the sharing between them; the pools as a whole (order, lookup,
// which pool holds an address) are in pool-set.ts, the stateless checks in allocator-rules.ts.
import type { AddressPool } from '../config/types';
import { canonicalIP, type Family } from './address';
import { AddressHolders, type Address, type HeldAddress } from './address-holders';
import { PoolState } from './pool';
import { PoolSet } from './pool-set';
import { sharingConflict } from './sharing';
import { checkRequest, copyPorts, exhaustionNote, fail, familyName, familyProblem, parseAddresses, poolNameOf, wantedFamilies, withText } from './allocator-rules';
import type { AllocationResult, Assignment, Failure, PoolStats, ServiceRequest, SharingProfile } from './types';

/**
 * The pool name of a holding whose addresses no configured pool contains (status addresses
 * reserved with reserve(): kept where they are until a pool takes them in or they are given up).
 */
export const OUTSIDE = '';

interface Holding extends SharingProfile {
  pool: string; // setPools may re-home a holding whose pool was renamed or split
  readonly addresses: readonly Address[]; // primary family first
}

/**
 * Hands out LoadBalancer addresses from the configured pools.
 *
 * How the controller drives it:
 *  1. `setPools(config.pools)` whenever the configuration changes; reprocess the returned
 *     `invalidated` services (their addresses were released).
 *  2. At start-up, `assign(req, statusIPs)` for every Service that already has
 *     status.loadBalancer.ingress, before any `allocate`, so that nothing new lands on them.
 *  3. `allocate(req)` on every Service change; it returns the current assignment unchanged while
 *     it still matches the request, so it is safe to call on every resync.
 *  4. `release(key)` when a Service is deleted or stops being a LoadBalancer.
 *
 * Any failed `assign` or `allocate` leaves the service holding nothing, matching MetalLB, which
 * clears the status of a service it cannot satisfy.
 */
export class Allocator {
  private pools = new PoolSet([]);
  private readonly holdings = new Map<string, Holding>();
  private readonly holders = new AddressHolders();

  /**
   * Replaces the pools. Pools are ordered by (priority, name) whatever order they come in.
   * A service keeps its addresses while one pool contains all of them (its recorded pool name is
   * updated if needed); other services are released and returned, sorted, in `invalidated`.
   * Throws on duplicate pool names, which the config parser already rejects.
   */
  setPools(pools: readonly AddressPool[]): { invalidated: string[] } {
    const next = PoolSet.ordered(pools);
    const invalidated: string[] = [];
    for (const [key, holding] of this.holdings) {
      const home = next.homeOf(holding);
      if (home) holding.pool = home.name;
      else if (holding.pool !== OUTSIDE) invalidated.push(key);
    }
    this.pools = next;
    for (const key of invalidated) this.release(key);
    for (const held of this.holders.all()) this.pools.markUsed(held.address);
    return { invalidated: invalidated.sort() };
  }

  /**
   * What setPools(pools) would take away, without changing anything: the services whose addresses
   * no pool would contain any more, with the reason, sorted by key.
   */
  invalidatedBy(pools: readonly AddressPool[]): { key: string; ips: string[]; why: string }[] {
    const next = PoolSet.unordered(pools);
    const out: { key: string; ips: string[]; why: string }[] = [];
    for (const [key, holding] of this.holdings) {
      if (holding.pool === OUTSIDE || next.homeOf(holding)) continue;
      const ips = holding.addresses.map((a) => a.text);
      out.push({ key, ips, why: `${ips.join(', ')} would be in no pool` });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * allocate(), except that a service that cannot get what it now asks for keeps what it holds:
   * a live Service never loses its address because a new request of it cannot be met. It keeps
   * it under its new sharing profile, and only while that profile may still share the address
   * with its other holders (new ports that clash, or a sharing key dropped, give it up). The
   * failure is returned with `kept` set.
   */
  allocateOrKeep(req: ServiceRequest): AllocationResult | (Failure & { readonly kept: readonly string[] }) {
    const held = this.holdings.get(req.key);
    const result = this.allocate(req);
    if (result.ok || !held || this.holdings.has(req.key)) return result;
    const pool = this.pools.get(held.pool);
    if (!pool && held.pool !== OUTSIDE) return result;
    const families = held.addresses.map((a) => a.family);
    const back: ServiceRequest = { ...req, families, familyPolicy: families.length > 1 ? 'RequireDualStack' : 'SingleStack', requestedIPs: [], poolName: undefined };
    if (this.conflictOnAny(held.addresses, back, true) !== undefined) return result;
    this.take(back, pool, held.addresses);
    return { ...result, kept: held.addresses.map((a) => a.text) };
  }

  /**
   * Gives the service exactly these addresses (requested IPs, or addresses read back from Service
   * status at start-up). They must be valid for the service's families (at most one per family),
   * all lie in one pool (avoid-buggy-ips applied; auto-assign does not matter), in the named pool
   * if there is one, and pass the sharing rules. Repeating the same call changes nothing.
   */
  assign(req: ServiceRequest, ips: readonly string[]): AllocationResult {
    const result = this.tryAssign(req, ips, false);
    if (!result.ok) this.release(req.key);
    return result;
  }

  /**
   * assign() for addresses a service already holds (read back from its status): the same checks,
   * except that a pool's cross-namespace-sharing: false does not break a share that exists (it
   * only stops new ones), so that a configuration change or a restart moves nothing.
   */
  reserve(req: ServiceRequest, ips: readonly string[]): AllocationResult {
    let result = this.tryAssign(req, ips, true);
    if (!result.ok && (result.reason === 'NotInAnyPool' || result.reason === 'PoolMismatch')) result = this.holdOutside(req, ips);
    if (!result.ok) this.release(req.key);
    return result;
  }

  /**
   * Holds addresses no single pool contains (pool OUTSIDE), under the sharing rules: nothing is
   * handed out of them, but they are not free for anyone else either.
   */
  private holdOutside(req: ServiceRequest, ips: readonly string[]): AllocationResult {
    const addresses = parseAddresses(req, ips);
    if (!Array.isArray(addresses)) return addresses;
    const conflict = this.conflictOnAny(addresses, req, true);
    if (conflict) return fail('SharingConflict', conflict);
    return this.take(req, undefined, addresses);
  }

  /**
   * Returns the service's current assignment if it still fits the request (same named pool, same
   * requested IPs, families still wanted, sharing still allowed; auto-assign and priorities do not
   * matter here, as in MetalLB); under PreferDualStack it also tries to add a missing family from
   * the same pool. Otherwise releases it and takes new
   * addresses: the requested IPs; else the named pool only (even if auto-assign is off); else the
   * auto-assign pools in (priority, name) order, first pool that can serve wins.
   *
   * Inside a pool the first address in hand-out order wins (entries as declared, each upward).
   * An address already used under the same allow-shared-ip key is taken only when it comes before
   * the first free address and passes the sharing rules, which is MetalLB's rule: sharing happens
   * by position, the allocator does not go looking for a sharable address.
   *
   * RequireDualStack takes one IPv4 and one IPv6 address from the same pool. PreferDualStack does
   * the same when any candidate pool can, and only then falls back to the primary family alone;
   * so a dual-stack pool later in the order beats a single-family pool earlier in it.
   */
  allocate(req: ServiceRequest): AllocationResult {
    const invalid = checkRequest(req);
    if (invalid) {
      this.release(req.key);
      return invalid;
    }
    const held = this.holdings.get(req.key);
    if (held && this.stillFits(held, req)) return this.keep(held, req);
    this.release(req.key);
    if (req.requestedIPs.length > 0) return this.assign(req, req.requestedIPs);

    const candidates = this.pools.candidates(req);
    if (!Array.isArray(candidates)) return candidates;
    const families = wantedFamilies(req);
    const result = this.allocateFrom(candidates, families, req);
    if (result.ok || req.familyPolicy !== 'PreferDualStack' || families.length < 2) return result;
    return this.allocateFrom(candidates, families.slice(0, 1), req);
  }

  /** Frees whatever the service holds. Returns false when it held nothing. */
  release(key: string): boolean {
    const holding = this.holdings.get(key);
    if (!holding) return false;
    this.holdings.delete(key);
    for (const a of holding.addresses) {
      if (this.holders.remove(a.text, key)) this.pools.markFree(a);
    }
    return true;
  }

  /** The pool the service holds its addresses from (OUTSIDE: in no pool; undefined: it holds nothing), without copying the assignment. */
  poolOf(key: string): string | undefined {
    return this.holdings.get(key)?.pool;
  }

  assignmentOf(key: string): Assignment | undefined {
    const h = this.holdings.get(key);
    if (!h) return undefined;
    return { key, pool: h.pool, ips: h.addresses.map((a) => a.text), sharingKey: h.sharingKey, backendKey: h.backendKey, ports: copyPorts(h.ports) };
  }

  /** Keys of the services holding the address (any textual form), sorted. */
  servicesOn(ip: string): string[] {
    const text = canonicalIP(ip);
    const held = text === undefined ? undefined : this.holders.get(text);
    return held ? [...held.services].sort() : [];
  }

  /** One entry per pool, in pool order. */
  stats(): PoolStats[] {
    return this.pools.stats();
  }

  private tryAssign(req: ServiceRequest, ips: readonly string[], keeping: boolean): AllocationResult {
    const invalid = checkRequest(req);
    if (invalid) return invalid;
    const addresses = parseAddresses(req, ips);
    if (!Array.isArray(addresses)) return addresses;
    const pool = this.pools.holdingAll(addresses, req, keeping);
    if (!(pool instanceof PoolState)) return pool;
    const conflict = this.conflictOnAny(addresses, req, keeping);
    if (conflict) return fail('SharingConflict', conflict);
    return this.take(req, pool, addresses);
  }

  private stillFits(held: Holding, req: ServiceRequest): boolean {
    if (poolNameOf(req) !== undefined && poolNameOf(req) !== held.pool) return false;
    if (req.requestedIPs.length > 0) {
      const wanted = req.requestedIPs.map((t) => canonicalIP(t));
      const texts = held.addresses.map((a) => a.text);
      if (wanted.length !== texts.length || !wanted.every((t) => t !== undefined && texts.includes(t))) return false;
    }
    if (familyProblem(held.addresses.map((a) => a.family), req)) return false;
    return this.conflictOnAny(held.addresses, req, true) === undefined;
  }

  /** Re-takes the held addresses under the (possibly changed) sharing profile, adding a missing family under PreferDualStack. */
  private keep(held: Holding, req: ServiceRequest): AllocationResult {
    if (held.pool === OUTSIDE) return this.take(req, undefined, held.addresses);
    const pool = this.pools.get(held.pool);
    if (!pool) throw new Error(`incoherent state: ${req.key} holds addresses of unknown pool "${held.pool}"`);
    const topUp = req.familyPolicy === 'PreferDualStack' && req.requestedIPs.length === 0;
    const missing = topUp ? req.families.filter((f) => !held.addresses.some((a) => a.family === f)) : [];
    const extra = missing.map((f) => this.pickAddress(pool, f, req)).filter((a): a is Address => a !== undefined);
    return this.take(req, pool, [...held.addresses, ...extra]);
  }

  private allocateFrom(candidates: readonly PoolState[], families: readonly Family[], req: ServiceRequest): AllocationResult {
    const able = candidates.filter((p) => families.every((f) => p.offers(f)));
    if (able.length === 0) {
      const what = families.length === 2 ? 'both IPv4 and IPv6 addresses' : `${familyName(families[0])} addresses`;
      const message = poolNameOf(req) !== undefined ? `pool "${candidates[0].name}" does not have ${what}` : `no auto-assign pool has ${what}`;
      return fail('FamilyUnavailable', message);
    }
    const exhausted: string[] = [];
    for (const pool of able) {
      const picked = families.map((f) => this.pickAddress(pool, f, req));
      if (picked.every((a): a is Address => a !== undefined)) return this.take(req, pool, picked);
      const full = families.filter((_, i) => picked[i] === undefined);
      exhausted.push(...full.map((f) => exhaustionNote(pool, f)));
    }
    return fail('PoolExhausted', able.length === 1 ? exhausted.join('; ') : `all candidate pools are exhausted: ${exhausted.join('; ')}`);
  }

  /** The first address of the family in the pool's hand-out order that the service may take. */
  private pickAddress(pool: PoolState, family: Family, req: ServiceRequest): Address | undefined {
    let best = pool.firstFreeOrdinal(family);
    let shared: HeldAddress | undefined;
    if (req.sharingKey !== '') {
      for (const held of this.holders.withSharingKey(req.sharingKey)) {
        if (held.address.family !== family) continue;
        const ordinal = pool.ordinalOf(held.address);
        if (ordinal === undefined || (best !== undefined && ordinal >= best)) continue;
        if (this.conflictOn(held, req) !== undefined) continue;
        best = ordinal;
        shared = held;
      }
    }
    if (shared) return shared.address;
    if (best === undefined) return undefined;
    return withText(pool.addressAt(family, best));
  }

  private conflictOnAny(addresses: readonly Address[], req: ServiceRequest, keeping = false): string | undefined {
    for (const a of addresses) {
      const held = this.holders.get(a.text);
      const conflict = held && this.conflictOn(held, req, keeping);
      if (conflict) return conflict;
    }
    return undefined;
  }

  /** The sharing rules against every other holder; the service itself never conflicts, so a sole holder may change its key. */
  private conflictOn(held: HeldAddress, req: ServiceRequest, keeping = false): string | undefined {
    for (const other of held.services) {
      if (other === req.key) continue;
      const profile = this.holdings.get(other);
      if (!profile) throw new Error(`incoherent state: ${held.address.text} is held by ${other}, which holds nothing`);
      const conflict = sharingConflict(held.address.text, req.key, req, other, profile, this.pools.sharingRulesOf(held.address, keeping));
      if (conflict) return conflict;
    }
    return undefined;
  }

  /** `pool` undefined: the addresses are held OUTSIDE every pool. */
  private take(req: ServiceRequest, pool: PoolState | undefined, addresses: readonly Address[]): AllocationResult {
    const primaryFirst = addresses.length < 2 || addresses[0].family === req.families[0];
    const ordered = primaryFirst ? addresses : [addresses[1], addresses[0]];
    const held = this.holdings.get(req.key)?.addresses;
    // Re-taking the same addresses (every resync, every repeated restore) only refreshes the
    // sharing profile: the addresses never become free, so the pools' free sets are left alone.
    const same = held !== undefined && held.length === ordered.length && held.every((a, i) => a.text === ordered[i].text);
    if (!same && held !== undefined) this.release(req.key);
    const name = pool?.name ?? OUTSIDE;
    this.holdings.set(req.key, { pool: name, addresses: ordered, sharingKey: req.sharingKey, backendKey: req.backendKey, ports: copyPorts(req.ports) });
    for (const a of ordered) {
      if (same) this.holders.remove(a.text, req.key);
      const firstHolder = this.holders.add(a, req.key, req.sharingKey);
      if (firstHolder && !same) this.pools.markUsed(a);
    }
    return { ok: true, pool: name, ips: ordered.map((a) => a.text) };
  }

}
