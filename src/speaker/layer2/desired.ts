// Layer 2, decided: which node announces each layer-2 address, as every speaker computes it on
// its own from its member view (MetalLB's rule, reference §4: election.ts), and what this node
// therefore answers for. Pure, beside BGP's desiredRoutes: the Layer2Speaker applies the result,
// and `ironlb status`/`explain` run this same function on the member views the speakers publish
// in their Leases (speaker-view.ts), so the CLI never re-derives an election.
import type * as k8s from '@kubernetes/client-node';
import { l2NodeSelectorsFor, l2PlanFor } from '../../config/announcements';
import { poolOf } from '../../config/pool-of';
import type { AddressPool, Config } from '../../config/types';
import { handling, ingressIPs, serviceKey } from '../../controller/service-request';
import { canonicalIP } from '../../ip/address';
import { elect, type ElectionResult, type EndpointFacts, type NodeFacts } from '../election/election';
import type { OwnedAddress } from './responder';

/** One speaker's view of its peers: the membership's answer at the moment it decides. */
export interface MemberView {
  /** Speakers counted alive (Membership.alive(), this node included while it counts itself). */
  alive: ReadonlySet<string>;
  /** Alive speakers that cannot announce on layer 2 now (STARTING peers are not alive at all; these
   * are NO_LAYER2 ones, Membership.layer2Unready()). */
  layer2Unready: ReadonlySet<string>;
}

export interface OwnershipInput {
  config: Config;
  services: readonly k8s.V1Service[];
  endpoints: (serviceKey: string) => EndpointFacts;
  nodes: ReadonlyMap<string, NodeFacts>;
  members: MemberView;
  /** The node deciding: `owned` lists what it answers for. */
  self: string;
  /** The spec.loadBalancerClass served (undefined: class-less Services). */
  lbClass?: string;
  /** --ignore-exclude-lb: nodes labelled exclude-from-external-load-balancers may announce. */
  ignoreExcludeLabel?: boolean;
}

export interface ServiceElection {
  /** namespace/name */
  service: string;
  object: k8s.V1Service;
  /** The Service's addresses, canonical; the first one is hashed. */
  ips: string[];
  pool: AddressPool;
  /** The interfaces `self` would answer on (L2Advertisement interfaces; empty: every usable one). */
  interfaces: readonly string[];
  result: ElectionResult;
  /** The announcer cannot announce on layer 2 (NO_LAYER2) and was elected only because no other
   * candidate could be: it says announceFailed rather than the Service silently having none. */
  fallback: boolean;
}

export interface AddressOwnership {
  address: string;
  pool: string;
  /** The Services on this address, by key. */
  services: string[];
  /** Who announces it in this view: one node (Services sharing an address hash alike), or none. */
  owner?: string;
  /** When nobody does: the election's reason and detail (of the first Service on the address). */
  reason?: string;
  detail?: string;
}

export interface DesiredOwnership {
  /** Every handled layer-2 Service that has an address, in input order. */
  services: ServiceElection[];
  /** Per address, in first-seen order. */
  addresses: Map<string, AddressOwnership>;
  /** What `self` answers for, with the pool's interfaces (none: every usable interface). */
  owned: Map<string, OwnedAddress>;
}

/**
 * The election for every layer-2 Service as `self` runs it with its member view. Nodes that cannot
 * announce on layer 2 are passed over while another candidate exists; with none, one of them is
 * still elected (see ServiceElection.fallback).
 */
export function desiredOwnership(input: OwnershipInput): DesiredOwnership {
  const { config, members } = input;
  const unready = members.layer2Unready;
  const ready = unready.size > 0 ? new Set([...members.alive].filter((n) => !unready.has(n))) : members.alive;
  const services: ServiceElection[] = [];
  const addresses = new Map<string, AddressOwnership>();
  const owned = new Map<string, OwnedAddress>();
  for (const svc of input.services) {
    if (!handling(svc, input.lbClass).handled) continue;
    const ips = ingressIPs(svc)
      .map((ip) => canonicalIP(ip))
      .filter((ip): ip is string => ip !== undefined);
    if (ips.length === 0) continue;
    const pool = poolOf(config, ips[0]);
    const serviceLabels = svc.metadata?.labels ?? {};
    // The L2Advertisements of the pool that apply to this Service decide who may be elected.
    const nodeSelectors = pool && l2NodeSelectorsFor(pool, serviceLabels);
    if (!pool || !nodeSelectors) continue;
    const key = serviceKey(svc);
    const election = {
      ip: ips[0],
      localPolicy: svc.spec?.externalTrafficPolicy === 'Local',
      endpoints: input.endpoints(key),
      nodes: input.nodes,
      liveSpeakers: ready,
      poolNodeSelectors: nodeSelectors,
      ignoreExcludeLabel: input.ignoreExcludeLabel,
    };
    let result = elect(election);
    let fallback = false;
    if (result.announcer === undefined && unready.size > 0) {
      const again = elect({ ...election, liveSpeakers: members.alive });
      fallback = again.announcer !== undefined;
      if (fallback) result = again;
    }
    const plan = l2PlanFor(pool, input.nodes.get(input.self)?.labels ?? {}, serviceLabels);
    services.push({ service: key, object: svc, ips, pool, interfaces: plan.interfaces === 'default' ? [] : plan.interfaces, result, fallback });
    for (const ip of ips) {
      // Pools never overlap, so every Service on an address brings the same pool.
      const p = poolOf(config, ip);
      if (!p || !l2NodeSelectorsFor(p, serviceLabels)) continue;
      noteAddress(addresses, ip, p.name, key, result);
      if (result.announcer !== input.self) continue;
      // The interfaces named by the advertisements that select this node (none named: the default set).
      const plan = l2PlanFor(p, input.nodes.get(input.self)?.labels ?? {}, serviceLabels);
      owned.set(ip, plan.interfaces !== 'default' && plan.interfaces.length > 0 ? { address: ip, interfaces: [...plan.interfaces] } : { address: ip });
    }
  }
  return { services, addresses, owned };
}

function noteAddress(addresses: Map<string, AddressOwnership>, ip: string, pool: string, service: string, result: ElectionResult): void {
  let entry = addresses.get(ip);
  if (!entry) addresses.set(ip, (entry = { address: ip, pool, services: [] }));
  entry.services.push(service);
  if (result.announcer !== undefined) {
    // Two Services on one address electing differently (Local policies whose endpoints differ for
    // a moment) leave the first owner here; the speaker answers if any Service elects it.
    entry.owner ??= result.announcer;
    entry.reason = entry.detail = undefined;
  } else if (entry.owner === undefined && entry.reason === undefined) {
    entry.reason = result.reason;
    entry.detail = result.detail;
  }
}
