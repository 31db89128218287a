// How a pool's addresses are announced, read the same way whatever the configuration came from:
// a ConfigMap pool has one protocol (with the pool's interfaces and node selectors), a pool
// configured through metallb.io objects has the L2Advertisements and BGPAdvertisements that select
// it, possibly both kinds. These are the decisions the speaker (and the CLI) take per node and
// per Service, following MetalLB's documented rules.
import { selectorMatches } from './selector';
import type { AddressPool, BgpAdvertisement, L2Advertisement, NodeSelector, Peer } from './types';

type Labels = Readonly<Record<string, string>>;

/** A BGP advertisement with every optional field filled in. */
export interface ResolvedBgpAdvertisement extends BgpAdvertisement {
  readonly nodeSelectors: readonly NodeSelector[];
  readonly peers: readonly string[];
  readonly serviceSelectors: readonly NodeSelector[];
}

/** Whether the pool was configured through metallb.io objects (announcements listed explicitly). */
export function isObjectPool(pool: AddressPool): boolean {
  return pool.l2Advertisements !== undefined;
}

/** The pool's layer 2 advertisements; a ConfigMap layer2 pool has one, made of its own fields. */
export function l2AdvertisementsOf(pool: AddressPool): readonly L2Advertisement[] {
  if (pool.l2Advertisements) return pool.l2Advertisements;
  if (pool.protocol !== 'layer2') return [];
  return [{ nodeSelectors: pool.nodeSelectors, interfaces: pool.interfaces, serviceSelectors: [] }];
}

/** The pool's BGP advertisements; on a ConfigMap pool they announce from the pool's nodes to every peer. */
export function bgpAdvertisementsOf(pool: AddressPool): readonly ResolvedBgpAdvertisement[] {
  if (!isObjectPool(pool) && pool.protocol !== 'bgp') return [];
  const defaultNodes = isObjectPool(pool) ? [] : pool.nodeSelectors;
  return pool.bgpAdvertisements.map((a) => ({
    ...a,
    nodeSelectors: a.nodeSelectors ?? defaultNodes,
    peers: a.peers ?? [],
    serviceSelectors: a.serviceSelectors ?? [],
  }));
}

/** Layer 2 on one node for one Service: may this node be elected, and on which interfaces would it answer. */
export interface L2Plan {
  /** Some applicable advertisement selects this node: it is a candidate in the election. */
  readonly eligible: boolean;
  /** 'default': the default interface set (some applicable advertisement names none); else these names. */
  readonly interfaces: 'default' | readonly string[];
}

/**
 * MetalLB's rules: the advertisements whose serviceSelectors match the Service apply; the node is a
 * candidate when one of them selects it; the interfaces are the union of those named by the
 * applicable advertisements that select the node (`eno1` everywhere plus `ens18` on hostB: hostB
 * answers on both), and one that names none means the default set.
 */
export function l2PlanFor(pool: AddressPool, nodeLabels: Labels, serviceLabels: Labels): L2Plan {
  const onNode = l2AdvertisementsOf(pool).filter(
    (a) => selectorMatches(a.serviceSelectors, serviceLabels) && selectorMatches(a.nodeSelectors, nodeLabels),
  );
  if (onNode.length === 0) return { eligible: false, interfaces: [] };
  if (onNode.some((a) => a.interfaces.length === 0)) return { eligible: true, interfaces: 'default' };
  return { eligible: true, interfaces: [...new Set(onNode.flatMap((a) => a.interfaces))].sort() };
}

/**
 * Which nodes may be elected for a Service's layer 2 address: the union of the node selectors of
 * the pool's L2Advertisements that apply to the Service (one without selectors: every node, `[]`);
 * undefined when none applies (the Service is not announced over layer 2). For a ConfigMap pool
 * this is the pool's own node selectors.
 */
export function l2NodeSelectorsFor(pool: AddressPool, serviceLabels: Labels): readonly NodeSelector[] | undefined {
  const applicable = l2AdvertisementsOf(pool).filter((a) => selectorMatches(a.serviceSelectors, serviceLabels));
  if (applicable.length === 0) return undefined;
  if (applicable.some((a) => a.nodeSelectors.length === 0)) return [];
  return applicable.flatMap((a) => a.nodeSelectors);
}

/** The BGP advertisements this node announces for this Service. */
export function bgpAdvertisementsFor(pool: AddressPool, nodeLabels: Labels, serviceLabels: Labels): ResolvedBgpAdvertisement[] {
  return bgpAdvertisementsOf(pool).filter(
    (a) => selectorMatches(a.serviceSelectors, serviceLabels) && selectorMatches(a.nodeSelectors, nodeLabels),
  );
}

/** The peers an advertisement goes to: the named BGPPeers, or every peer when it names none. */
export function advertisementPeers(adv: ResolvedBgpAdvertisement, peers: readonly Peer[]): Peer[] {
  if (adv.peers.length === 0) return [...peers];
  return peers.filter((p) => p.name !== undefined && adv.peers.includes(p.name));
}
