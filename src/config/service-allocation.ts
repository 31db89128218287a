// Pool tenancy (IPAddressPool spec.serviceAllocation) and the order in which pools are tried, as
// MetalLB's allocator does it, made deterministic: the pure decisions the allocator, the controller
// and the CLI share. ConfigMap pools carry no serviceAllocation: every Service may use them.
import { nodeSelectorMatches } from './selector';
import type { AddressPool, LabelSelector, ServiceAllocation } from './types';

/** What tenancy is decided on: the Service's namespace (with its labels) and the Service's labels. */
export interface ServiceFacts {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly serviceLabels: Readonly<Record<string, string>>;
}

function anyMatches(selectors: readonly LabelSelector[], labels: Readonly<Record<string, string>>): boolean {
  return selectors.some((s) => nodeSelectorMatches(s, labels));
}

/**
 * Whether `sa` lets this Service take addresses from its pool. A pool restricted by namespaces
 * and/or namespace selectors serves Services in any namespace one of them names (either may
 * match); service selectors must then also match (any one). A serviceAllocation with every list
 * empty restricts nothing (MetalLB v0.15). Unlike MetalLB, namespace selectors that match no
 * namespace today still restrict the pool: an empty match never opens it to everyone.
 */
export function allocationAllows(sa: ServiceAllocation | undefined, svc: ServiceFacts): boolean {
  if (!sa) return true;
  const namespaceRestricted = sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0;
  if (namespaceRestricted && !sa.namespaces.includes(svc.namespace) && !anyMatches(sa.namespaceSelectors, svc.namespaceLabels)) return false;
  return sa.serviceSelectors.length === 0 || anyMatches(sa.serviceSelectors, svc.serviceLabels);
}

export function poolAllows(pool: AddressPool, svc: ServiceFacts): boolean {
  return allocationAllows(pool.serviceAllocation, svc);
}

function formatSelector(s: LabelSelector): string {
  const parts = Object.entries(s.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${e.values.join(',')})`);
  }
  return parts.length === 0 ? '(everything)' : parts.join(',');
}

/**
 * The restriction in words, for Warning Events on a Service refused by a pool
 * (`pool "gold" only serves namespaces team-a or labelled tier=gold, Services labelled app=web`);
 * undefined when the pool is open to every Service.
 */
export function describeRestriction(pool: AddressPool): string | undefined {
  const sa = pool.serviceAllocation;
  if (!sa) return undefined;
  const parts: string[] = [];
  const namespaces = [
    ...(sa.namespaces.length > 0 ? [`namespaces ${sa.namespaces.join(', ')}`] : []),
    ...sa.namespaceSelectors.map((s) => `namespaces labelled ${formatSelector(s)}`),
  ];
  if (namespaces.length > 0) parts.push(namespaces.join(' or '));
  if (sa.serviceSelectors.length > 0) parts.push(`Services labelled ${sa.serviceSelectors.map(formatSelector).join(' or ')}`);
  return parts.length === 0 ? undefined : `pool "${pool.name}" only serves ${parts.join(', ')}`;
}

/** 0: restricted with a priority; 1: restricted without one; 2: open to every Service. */
function tier(pool: AddressPool): number {
  if (!pool.serviceAllocation) return 2;
  return pool.serviceAllocation.priority !== 0 ? 0 : 1;
}

/**
 * The order pools are tried in for a Service that names no pool: pools with a serviceAllocation
 * first (MetalLB's "pinned" pools), by priority with 0 last, then the open pools; ties by
 * priority (ConfigMap pools), then by name, where MetalLB picks at random. For ConfigMap pools
 * this is exactly (priority, name).
 */
export function compareAllocationOrder(a: AddressPool, b: AddressPool): number {
  return tier(a) - tier(b) || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The pools a Service may take addresses from automatically, in the order they are tried. */
export function candidatePools(pools: readonly AddressPool[], svc: ServiceFacts): AddressPool[] {
  return pools.filter((p) => p.autoAssign && poolAllows(p, svc)).sort(compareAllocationOrder);
}
