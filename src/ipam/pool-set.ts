// The configured pools as one value: their hand-out order, lookup by name, which pools hold an
// address (through PoolIndex), and the questions the allocator asks of the pools as a whole
// (which pools may serve a request, which pool a set of addresses belongs to, where a holding
// lives now). Split from allocator.ts, which keeps the holdings and the sharing between them;
// nothing here knows who holds what.
import type { AddressPool } from '../config/types';
import type { IP } from './address';
import type { Address } from './address-holders';
import { compareAllocationOrder } from '../config/service-allocation';
import { byPriorityThenName, fail, poolNameOf, restrictionProblem, tenantOf } from './allocator-rules';
import { PoolState } from './pool';
import { PoolIndex } from './pool-index';
import type { SharingRules } from './sharing';
import type { Failure, PoolStats, ServiceRequest } from './types';

/** What a holding says about where it lives: its recorded pool and its addresses. */
export interface Homed {
  readonly pool: string;
  readonly addresses: readonly Address[];
}

export class PoolSet {
  private readonly byName: ReadonlyMap<string, PoolState>;
  private readonly index: PoolIndex;

  /** `pools` in pool order; a repeated name leaves the last of them reachable by name. */
  constructor(private readonly pools: readonly PoolState[]) {
    this.byName = new Map(pools.map((s) => [s.name, s]));
    this.index = new PoolIndex(pools);
  }

  /** The pools ordered by (priority, name) whatever order they come in; throws on a repeated name. */
  static ordered(pools: readonly AddressPool[]): PoolSet {
    const states = [...pools].sort(byPriorityThenName).map((p) => new PoolState(p));
    const names = new Set<string>();
    for (const s of states) {
      if (names.has(s.name)) throw new Error(`duplicate address pool name "${s.name}"`);
      names.add(s.name);
    }
    return new PoolSet(states);
  }

  /** The pools as given, unordered and unchecked (for what-if questions that change nothing). */
  static unordered(pools: readonly AddressPool[]): PoolSet {
    return new PoolSet(pools.map((p) => new PoolState(p)));
  }

  get(name: string): PoolState | undefined {
    return this.byName.get(name);
  }

  /** The pools that may hand out the address, in pool order. */
  containing(ip: IP): readonly PoolState[] {
    return this.index.containing(ip);
  }

  /** The pool a holding lives in: its recorded pool while that still holds it all, else the first that does. */
  homeOf(holding: Homed): PoolState | undefined {
    const recorded = this.byName.get(holding.pool);
    return recorded && holding.addresses.every((a) => recorded.contains(a)) ? recorded : this.index.firstHoldingAll(holding.addresses);
  }

  /**
   * The pools a new allocation may come from: the named pool, else the auto-assign pools in
   * allocation order (service-allocation.ts). Only pools whose serviceAllocation serves the
   * Service: a restricted pool refuses it even when named.
   */
  candidates(req: ServiceRequest): PoolState[] | Failure {
    const named = poolNameOf(req);
    if (named !== undefined) {
      const pool = this.byName.get(named);
      if (!pool) return fail('UnknownPool', `pool "${named}" does not exist`);
      const restricted = restrictionProblem(pool.config, req);
      return restricted ? fail('PoolRestricted', `${restricted}; ${tenantText(req)}`) : [pool];
    }
    if (this.pools.length === 0) return fail('NoPools', 'no address pools are configured');
    const auto = this.pools.filter((p) => p.config.autoAssign);
    if (auto.length === 0) return fail('NoPools', 'no address pool has auto-assign enabled; name one with the address-pool annotation');
    const serving = auto.filter((p) => restrictionProblem(p.config, req) === undefined).sort((a, b) => compareAllocationOrder(a.config, b.config));
    if (serving.length > 0) return serving;
    const why = auto.map((p) => restrictionProblem(p.config, req)).join('; ');
    return fail('PoolRestricted', `no auto-assign pool serves this Service (${tenantText(req)}): ${why}`);
  }

  /**
   * The pool all addresses belong to: the named pool, else the first pool (in order) holding them
   * all; it must serve the Service (`keeping`: addresses it already holds, read back from its
   * status, are kept whatever the pool's restriction says: no renumbering).
   */
  holdingAll(addresses: readonly Address[], req: ServiceRequest, keeping = false): PoolState | Failure {
    const pool = this.holdingAllAnyTenant(addresses, req);
    if (keeping || !(pool instanceof PoolState)) return pool;
    const restricted = restrictionProblem(pool.config, req);
    if (!restricted) return pool;
    return fail('PoolRestricted', `${addresses.map((a) => a.text).join(',')} is in pool "${pool.name}", and ${restricted}; ${tenantText(req)}`);
  }

  private holdingAllAnyTenant(addresses: readonly Address[], req: ServiceRequest): PoolState | Failure {
    const homeOf = (a: Address): PoolState | undefined => this.index.containing(a)[0];
    const outside = addresses.filter((a) => homeOf(a) === undefined);
    if (outside.length > 0) return fail('NotInAnyPool', `"${outside.map((a) => a.text).join(',')}" is not allowed in config`);
    const named = poolNameOf(req);
    if (named !== undefined) {
      const pool = this.byName.get(named);
      if (!pool) return fail('UnknownPool', `pool "${named}" does not exist`);
      const stray = addresses.find((a) => !pool.contains(a));
      if (!stray) return pool;
      return fail('PoolMismatch', `${stray.text} is in pool "${homeOf(stray)?.name}", not in pool "${named}" named by the address-pool annotation`);
    }
    const pool = this.index.firstHoldingAll(addresses);
    if (pool) return pool;
    const where = addresses.map((a) => `${a.text} is in pool "${homeOf(a)?.name}"`).join(' and ');
    return fail('PoolMismatch', `${where}; both addresses of a service must come from one pool`);
  }

  /** `keeping`: the service holds the address already, so a pool's ban on new cross-namespace shares does not apply. */
  sharingRulesOf(address: Address, keeping: boolean): SharingRules {
    const pool = this.index.containing(address)[0];
    return { pool: pool?.name ?? '', crossNamespace: keeping || pool?.config.crossNamespaceSharing !== false };
  }

  // Every pool containing the address is updated: pools are not supposed to overlap, but if they
  // do, an address held through one must not look free in the other.
  markUsed(ip: IP): void {
    for (const p of this.index.containing(ip)) p.markUsed(ip);
  }

  markFree(ip: IP): void {
    for (const p of this.index.containing(ip)) p.markFree(ip);
  }

  /** One entry per pool, in pool order. */
  stats(): PoolStats[] {
    return this.pools.map((p) => ({ pool: p.name, totalV4: p.total(4), totalV6: p.total(6), inUseV4: p.inUse(4), inUseV6: p.inUse(6) }));
  }
}

/** The Service as tenancy sees it, for messages: `it is in namespace "team-b" (labels …), labelled app=web`. */
function tenantText(req: ServiceRequest): string {
  const t = tenantOf(req);
  const labels = (l: Readonly<Record<string, string>>): string => Object.entries(l).map(([k, v]) => `${k}=${v}`).sort().join(',');
  const nsLabels = labels(t.namespaceLabels);
  const svcLabels = labels(t.serviceLabels);
  return `the Service is in namespace "${t.namespace}"${nsLabels ? ` (labelled ${nsLabels})` : ''}${svcLabels ? `, labelled ${svcLabels}` : ', without labels'}`;
}
