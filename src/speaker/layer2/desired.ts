// Layer 2, decided: which node announces each layer-2 address, as every speaker computes it on
// its own from its member view (MetalLB's rule, reference §4: election.ts), and what this node
// therefore answers for. Pure, beside BGP's desiredRoutes: the Layer2Speaker applies the result,
// and `ironlb status`/`explain` run this same function on the member views the speakers publish
// in their Leases (speaker-view.ts), so the CLI never re-derives an election.
import type * as k8s from '@kubernetes/client-node';
import { l2NodeSelectorsFor, l2PlanFor } from '../../config/announcements';
import { poolOf } from '../../config/pool-of';
import type { AddressPool, Config, NodeSelector } from '../../config/types';
import { handling, ingressIPs, serviceKey } from '../../controller/service-request';
import { canonicalIP } from '../../ip/address';
import { elect, nodeEligible, type ElectionResult, type ElectionShortcuts, type EndpointFacts, type NodeFacts } from '../election/election';
import type { ElectionOrders } from '../election/order-cache';
import { drainWhy, plannedExit } from './drain';
import type { OwnedAddress } from './responder';

/** One speaker's view of its peers: the membership's answer at the moment it decides. */
export interface MemberView {
  /** Speakers counted alive (Membership.alive(), this node included while it counts itself). */
  alive: ReadonlySet<string>;
  /** Alive speakers that cannot announce on layer 2 now (STARTING peers are not alive at all; these
   * are NO_LAYER2 ones, Membership.layer2Unready()). */
  layer2Unready: ReadonlySet<string>;
  /** Alive speakers whose data path fails its health check (DATAPATH_DOWN, Membership.dataPathDown()):
   * passed over for pools with `datapath-check` only. Absent: none. */
  dataPathDown?: ReadonlySet<string>;
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
  /** Nodes whose per-Service data-path check (kube-proxy's healthCheckNodePort, service-health.ts)
   * fails for the Service, as `self` sees them: passed over like DATAPATH_DOWN ones. Absent: none. */
  serviceHealthFailing?: (service: string) => ReadonlySet<string>;
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
  /** The announcer cannot announce on layer 2 (NO_LAYER2), or its data path is down in a pool with
   * `datapath-check` (node-wide, or for this Local Service), and was elected only because no other candidate could be: it says
   * announceFailed rather than the Service silently having none (gating never takes it off the LAN). */
  fallback: boolean;
  /** Every eligible candidate is labelled ironlb.io/drain: one of them was elected anyway (drain.ts). */
  drainFallback?: boolean;
  /** Another node is elected although `self` could still announce: `self` is a live candidate that
   * lost only by the hash order (a rebalance: a node came back or stopped draining), or leaves by a
   * planned exit (drain or exclude label) and would be elected without it. The node elected, to
   * which `self`, if it announced the address, hands it over make-before-break (handover.ts). */
  handoverTo?: string;
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
 * What one pass of elections shares: the member view split into ready and unready speakers, and
 * memos valid while the pass's config and nodes stay the same (the pool of each address, each
 * node's eligibility per pool). Built per pass by beginPass.
 */
export interface ElectionPass {
  readonly input: Omit<OwnershipInput, 'services'>;
  readonly ready: ReadonlySet<string>;
  /** `ready` without the DATAPATH_DOWN speakers: the candidates of pools with `datapath-check`. */
  readonly dataPathReady: ReadonlySet<string>;
  readonly shortcuts?: ElectionShortcuts;
  readonly pools: Map<string, AddressPool | undefined>;
  /** Per node-selector set (by its JSON): each node's reason not to be eligible, if any. */
  readonly eligibility: Map<string, Map<string, string | undefined>>;
}

/** Starts a pass; `orders` (optional) caches the candidate order per address across passes. */
export function beginPass(input: Omit<OwnershipInput, 'services'>, orders?: ElectionOrders): ElectionPass {
  const { alive, layer2Unready: unready } = input.members;
  const ready = unready.size > 0 ? new Set([...alive].filter((n) => !unready.has(n))) : alive;
  const down = input.members.dataPathDown;
  const dataPathReady = down && down.size > 0 ? new Set([...ready].filter((n) => !down.has(n))) : ready;
  const shortcuts = orders ? { order: (c: readonly string[], ip: string) => orders.order(c, ip) } : undefined;
  return { input, ready, dataPathReady, shortcuts, pools: new Map(), eligibility: new Map() };
}

/** The pool holding an address, looked up once per pass. */
export function passPoolOf(pass: ElectionPass, ip: string): AddressPool | undefined {
  if (pass.pools.has(ip)) return pass.pools.get(ip);
  const pool = poolOf(pass.input.config, ip);
  pass.pools.set(ip, pool);
  return pool;
}

// Keyed by the selectors themselves: with L2Advertisements' serviceSelectors, Services of one
// pool can have different candidate nodes.
function whyFor(pass: ElectionPass, selectors: readonly NodeSelector[]): (node: string) => string | undefined {
  const memoKey = JSON.stringify(selectors);
  let memo = pass.eligibility.get(memoKey);
  if (!memo) pass.eligibility.set(memoKey, (memo = new Map()));
  const known = memo;
  const { nodes, ignoreExcludeLabel } = pass.input;
  return (n) => {
    if (known.has(n)) return known.get(n);
    const facts = nodes.get(n);
    const why = facts ? nodeEligible(facts, selectors, ignoreExcludeLabel) : 'no such Node';
    known.set(n, why);
    return why;
  };
}

/**
 * The election of one Service in a pass, or undefined when it is no handled layer-2 Service with
 * an address. Nodes that cannot announce on layer 2 are passed over while another candidate
 * exists; with none, one of them is still elected (see ServiceElection.fallback).
 */
export function electService(pass: ElectionPass, svc: k8s.V1Service): ServiceElection | undefined {
  const { input } = pass;
  const { members } = input;
  if (!handling(svc, input.lbClass).handled) return undefined;
  const ips = ingressIPs(svc)
    .map((ip) => canonicalIP(ip))
    .filter((ip): ip is string => ip !== undefined);
  if (ips.length === 0) return undefined;
  const pool = passPoolOf(pass, ips[0]);
  const serviceLabels = svc.metadata?.labels ?? {};
  // The L2Advertisements of the pool that apply to this Service decide who may be elected.
  const nodeSelectors = pool && l2NodeSelectorsFor(pool, serviceLabels);
  if (!pool || !nodeSelectors) return undefined;
  const key = serviceKey(svc);
  // A pool with datapath-check passes over nodes whose data path is down, as it does NO_LAYER2 ones;
  // a Local Service also those whose health check of this Service fails (only gated ones have any).
  let ready = pool.dataPathCheck ? pass.dataPathReady : pass.ready;
  const failing = input.serviceHealthFailing?.(key);
  if (failing && failing.size > 0) ready = new Set([...ready].filter((n) => !failing.has(n)));
  const passedOver = ready.size < members.alive.size;
  const election = {
    ip: ips[0],
    localPolicy: svc.spec?.externalTrafficPolicy === 'Local',
    endpoints: input.endpoints(key),
    nodes: input.nodes,
    liveSpeakers: ready,
    poolNodeSelectors: nodeSelectors,
    ignoreExcludeLabel: input.ignoreExcludeLabel,
  };
  const base = whyFor(pass, nodeSelectors);
  // Elect without NO_LAYER2 speakers while another candidate exists (see ServiceElection.fallback).
  const run = (why: (n: string) => string | undefined): { result: ElectionResult; fallback: boolean } => {
    const shortcuts = { ...pass.shortcuts, why };
    const first = elect(election, shortcuts);
    if (first.announcer !== undefined || !passedOver) return { result: first, fallback: false };
    const again = elect({ ...election, liveSpeakers: members.alive }, shortcuts);
    return again.announcer !== undefined ? { result: again, fallback: true } : { result: first, fallback: false };
  };
  // Draining nodes are passed over while another candidate exists; with none, one still announces.
  let { result, fallback } = run(drainWhy(input.nodes, base));
  let drainFallback = false;
  const drainMayMatter = result.announcer === undefined && (result.reason === 'noEligibleNode' || result.reason === 'noLocalEndpointOnEligibleNode');
  if (drainMayMatter && [...input.nodes.values()].some((n) => plannedExit(n).draining)) {
    const again = run(base);
    if (again.result.announcer !== undefined) ({ result, fallback, drainFallback } = { ...again, drainFallback: true });
  }
  let handoverTo: string | undefined;
  const selfFacts = input.nodes.get(input.self);
  if (result.announcer === undefined || result.announcer === input.self || !selfFacts) {
    // nothing to hand over
  } else if (result.candidates.includes(input.self)) {
    handoverTo = result.announcer;
  } else if (plannedExit(selfFacts, input.ignoreExcludeLabel).leaving) {
    // Would `self` be elected were it not leaving? Then the address is ours to hand over.
    const others = drainFallback ? base : drainWhy(input.nodes, base);
    const staying = (n: string): string | undefined => (n === input.self ? nodeEligible(selfFacts, nodeSelectors, true) : others(n));
    if (run(staying).result.announcer === input.self) handoverTo = result.announcer;
  }
  const plan = l2PlanFor(pool, input.nodes.get(input.self)?.labels ?? {}, serviceLabels);
  const interfaces = plan.interfaces === 'default' ? [] : plan.interfaces;
  return { service: key, object: svc, ips, pool, interfaces, result, fallback, ...(drainFallback ? { drainFallback } : {}), ...(handoverTo ? { handoverTo } : {}) };
}

/**
 * The addresses of an election that `self` answers for, on the interfaces named by the
 * advertisements that select this node (none named: the default set).
 */
export function ownedBy(pass: ElectionPass, e: ServiceElection): OwnedAddress[] {
  if (e.result.announcer !== pass.input.self) return [];
  const out: OwnedAddress[] = [];
  const serviceLabels = e.object.metadata?.labels ?? {};
  const selfLabels = pass.input.nodes.get(pass.input.self)?.labels ?? {};
  for (const ip of e.ips) {
    // Pools never overlap, so every Service on an address brings the same pool.
    const p = passPoolOf(pass, ip);
    if (!p || !l2NodeSelectorsFor(p, serviceLabels)) continue;
    const plan = l2PlanFor(p, selfLabels, serviceLabels);
    out.push(plan.interfaces !== 'default' && plan.interfaces.length > 0 ? { address: ip, interfaces: [...plan.interfaces] } : { address: ip });
  }
  return out;
}

/**
 * The election for every layer-2 Service as `self` runs it with its member view, from scratch
 * (the CLI's path, and the reference OwnershipTracker is tested against).
 */
export function desiredOwnership(input: OwnershipInput): DesiredOwnership {
  const pass = beginPass(input);
  const services: ServiceElection[] = [];
  const addresses = new Map<string, AddressOwnership>();
  const owned = new Map<string, OwnedAddress>();
  for (const svc of input.services) {
    const e = electService(pass, svc);
    if (!e) continue;
    services.push(e);
    for (const ip of e.ips) {
      const p = passPoolOf(pass, ip);
      if (p && l2NodeSelectorsFor(p, e.object.metadata?.labels ?? {})) noteAddress(addresses, ip, p.name, e.service, e.result);
    }
    for (const o of ownedBy(pass, e)) owned.set(o.address, o);
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
