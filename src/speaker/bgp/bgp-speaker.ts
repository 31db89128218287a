// BGP mode: every eligible node announces the addresses of bgp-pool Services to the peers whose
// node-selectors match it (MetalLB speaker/bgp_controller.go `ShouldAnnounce` / `SetBalancer`).
// Decisions are pure (desiredRoutes); sessions (session.ts) keep each peer's Adj-RIB-Out in step.
import type * as k8s from '@kubernetes/client-node';
import { selectorMatches } from '../../config/selector';
import type { BgpAdvertisement, Config, Peer } from '../../config/types';
import { handling, ingressIPs, serviceKey } from '../../controller/service-request';
import { canonicalIP, hostMask, parseIP } from '../../ipam/address';
import type { EventRecorder } from '../../k8s/events';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import { CeaseSubcode, notificationName, type Prefix, formatPrefix } from '../../protocol/bgp';
import type { Logger } from '../../util/log';
import type { ClusterState } from '../cluster-state';
import { nodeEligible, type EndpointFacts, type NodeFacts } from '../election/election';
import { bgpAdvertisementsFor, bgpAdvertisementsOf, type ResolvedBgpAdvertisement } from '../../config/announcements';
import { poolOf } from '../../config/pool-of';
import { BgpSession, type Route } from './session';
import type { Dialer } from './transport';

export interface BgpSpeakerOptions {
  nodeName: string;
  /** Default router ID and IPv4 next hop over IPv6 sessions. */
  nodeAddress?: string;
  /** IPv6 next hop for IPv6 prefixes sent over IPv4 sessions. */
  nodeAddressV6?: string;
  lbClass?: string;
  ignoreExcludeLabel: boolean;
  /** Graceful restart time advertised to peers; 0 = no graceful restart capability. */
  gracefulRestartSeconds: number;
  connectRetry?: { initialMs: number; maxMs: number };
  dialer?: Dialer;
  log: Logger;
  metrics: SpeakerMetrics;
  /** Session up/down Events on this node's Node object (kubectl describe node). */
  events?: EventRecorder;
}

export type NotAnnouncedReason = 'notBgpPool' | 'noReadyEndpoint' | 'noLocalEndpoint' | 'nodeNotEligible';

export interface BgpServiceView {
  service: string;
  ips: string[];
  pool: string;
  prefixes: string[];
  reason?: NotAnnouncedReason;
  detail?: string;
}

export interface DesiredInput {
  config: Config;
  services: readonly k8s.V1Service[];
  node: NodeFacts;
  endpoints: (serviceKey: string) => EndpointFacts;
  lbClass?: string;
  ignoreExcludeLabel?: boolean;
  /** Only the routes for this peer (BGPAdvertisement peers); absent: the advertisements of every peer. */
  peer?: Peer;
}

/** Whether an advertisement goes to this peer: it names none, or names this BGPPeer. */
function toPeer(adv: ResolvedBgpAdvertisement, peer: Peer | undefined): boolean {
  return !peer || adv.peers.length === 0 || (peer.name !== undefined && adv.peers.includes(peer.name));
}

/** The prefix an advertisement makes of an address: ip/aggregation-length (v6 length for IPv6). */
export function advertisedPrefix(ip: string, adv: BgpAdvertisement): Prefix {
  const a = parseIP(ip);
  const length = a.family === 4 ? adv.aggregationLength : adv.aggregationLengthV6;
  return { family: a.family, addr: a.value & ~hostMask(a.family, length), length };
}

function mergeRoute(prev: Route | undefined, next: Route): Route {
  if (!prev) return next;
  const large = [...prev.largeCommunities];
  for (const c of next.largeCommunities) {
    if (!large.some((x) => x.global === c.global && x.local1 === c.local1 && x.local2 === c.local2)) large.push(c);
  }
  return {
    prefix: prev.prefix,
    // MetalLB refuses conflicting local prefs; the highest wins here (documented).
    localPref: prev.localPref === undefined ? next.localPref : next.localPref === undefined ? prev.localPref : Math.max(prev.localPref, next.localPref),
    communities: [...new Set([...prev.communities, ...next.communities])],
    largeCommunities: large,
  };
}

/** Which prefixes this node announces, with why each Service is or is not announced. Pure. */
export function desiredRoutes(input: DesiredInput): { routes: Map<string, Route>; view: BgpServiceView[] } {
  const routes = new Map<string, Route>();
  const view: BgpServiceView[] = [];
  for (const svc of input.services) {
    if (!handling(svc, input.lbClass).handled) continue;
    const ips = ingressIPs(svc).map((ip) => canonicalIP(ip)).filter((ip): ip is string => ip !== undefined);
    if (ips.length === 0) continue;
    const pool = poolOf(input.config, ips[0]);
    if (!pool || bgpAdvertisementsOf(pool).length === 0) continue;
    const serviceLabels = svc.metadata?.labels ?? {};
    const key = serviceKey(svc);
    const entry: BgpServiceView = { service: key, ips, pool: pool.name, prefixes: [] };
    view.push(entry);
    const excluded = nodeEligible(input.node, pool.nodeSelectors, input.ignoreExcludeLabel);
    const ep = input.endpoints(key);
    const local = svc.spec?.externalTrafficPolicy === 'Local';
    if (excluded) Object.assign(entry, { reason: 'nodeNotEligible', detail: excluded });
    else if (bgpAdvertisementsFor(pool, input.node.labels, serviceLabels).length === 0) {
      Object.assign(entry, { reason: 'nodeNotEligible', detail: `no BGPAdvertisement of pool "${pool.name}" selects this node and this Service` });
    }
    else if (!ep.anyReady) Object.assign(entry, { reason: 'noReadyEndpoint', detail: 'the Service has no ready endpoint' });
    else if (local && !ep.readyNodes.has(input.node.name)) Object.assign(entry, { reason: 'noLocalEndpoint', detail: 'externalTrafficPolicy is Local and this node has no ready endpoint' });
    if (entry.reason) continue;
    for (const ip of ips) {
      const p = poolOf(input.config, ip);
      if (!p) continue;
      for (const adv of bgpAdvertisementsFor(p, input.node.labels, serviceLabels)) {
        if (!toPeer(adv, input.peer)) continue;
        const prefix = advertisedPrefix(ip, adv);
        const text = formatPrefix(prefix);
        const route: Route = {
          prefix,
          localPref: adv.localPref,
          communities: adv.communities.flatMap((c) => (c.kind === 'standard' ? [c.value] : [])),
          largeCommunities: adv.communities.flatMap((c) => (c.kind === 'large' ? [{ global: c.global, local1: c.local1, local2: c.local2 }] : [])),
        };
        routes.set(text, mergeRoute(routes.get(text), route));
        if (!entry.prefixes.includes(text)) entry.prefixes.push(text);
      }
    }
  }
  return { routes, view };
}

/** Identity of a session: any change of these recreates it (OPEN contents are fixed per session). */
function peerKey(p: Peer, routerID: string): string {
  return JSON.stringify([p.peerAddress, p.peerPort, p.myASN, p.peerASN, p.holdTimeSeconds, p.keepaliveTimeSeconds, routerID, p.sourceAddress, p.password, p.ebgpMultihop]);
}

export class BgpSpeaker {
  private config?: Config;
  private readonly sessions = new Map<string, { session: BgpSession; label: string; peer: Peer }>();
  private announced = new Map<string, BgpServiceView>();
  /** The Services this node announces and to which peers (by BGPPeer name, else address). */
  announcedTo: { service: string; peers: string[] }[] = [];

  constructor(
    private readonly opts: BgpSpeakerOptions,
    private readonly state: ClusterState,
  ) {}

  setConfig(config: Config): void {
    this.config = config;
  }

  /** Peers of this node and the routes they should have. Called by Speaker.schedule (coalesced). */
  reconcile(): void {
    const config = this.config;
    if (!config || !this.state.synced) return;
    const node = this.state.nodeMap().get(this.opts.nodeName) ?? { name: this.opts.nodeName, labels: {}, networkUnavailable: false };
    this.reconcileSessions(config, node);
    const input = {
      config,
      services: this.state.services.list(),
      node,
      endpoints: (k: string) => this.state.endpointFacts(k),
      lbClass: this.opts.lbClass,
      ignoreExcludeLabel: this.opts.ignoreExcludeLabel,
    };
    // Without a BGP advertisement desiredRoutes finds nothing; skip its walk over every Service,
    // which every watch event would otherwise pay (issue 18). Still O(Services) per event with one.
    const anyBgp = config.pools.some((p) => bgpAdvertisementsOf(p).length > 0);
    const { routes, view } = anyBgp ? desiredRoutes(input) : { routes: new Map<string, Route>(), view: [] };
    this.noteServices(view);
    // BGPAdvertisement peers: a session gets only the advertisements meant for its peer.
    const scoped = config.pools.some((p) => bgpAdvertisementsOf(p).some((a) => a.peers.length > 0));
    const sent: [Peer, ReadonlyMap<string, Route>][] = [];
    for (const { session, peer } of this.sessions.values()) {
      const own = scoped ? desiredRoutes({ ...input, peer }).routes : routes;
      session.setRoutes(own);
      sent.push([peer, own]);
    }
    // ServiceBGPStatus: the peers each announced Service goes to (configured, whatever the session state).
    this.announcedTo = view
      .filter((v) => !v.reason && v.prefixes.length > 0)
      .map((v) => ({ service: v.service, peers: [...new Set(sent.filter(([, r]) => v.prefixes.some((p) => r.has(p))).map(([p]) => p.name ?? p.peerAddress))] }));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sessions.values()].map(({ session }) => session.stop()));
    for (const { label } of this.sessions.values()) this.opts.metrics.bgpSessionUp.set({ peer: label }, 0);
    this.sessions.clear();
  }

  /** Session states, for status output. */
  sessionStates(): Array<{ peer: string; state: string; advertised: number; lastDown?: string }> {
    return [...this.sessions.values()].map(({ session, label }) => ({
      peer: label,
      state: session.state,
      advertised: session.advertisedCount,
      lastDown: session.lastDownReason ? `${session.lastDownReason.reason}: ${session.lastDownReason.detail ?? ''}` : undefined,
    }));
  }

  private reconcileSessions(config: Config, node: NodeFacts): void {
    const routerID = (p: Peer): string | undefined => p.routerID ?? (this.opts.nodeAddress && parseIP(this.opts.nodeAddress).family === 4 ? this.opts.nodeAddress : undefined);
    const wanted = new Map<string, Peer>();
    for (const p of config.peers) {
      if (!selectorMatches(p.nodeSelectors, node.labels)) continue;
      const id = routerID(p);
      if (!id) {
        this.opts.log.error('BGP peer skipped: no router-id and no IPv4 node address', { peer: `${p.peerAddress}:${p.peerPort}` });
        continue;
      }
      wanted.set(peerKey(p, id), p);
    }
    for (const [key, { session, label }] of this.sessions) {
      if (wanted.has(key)) continue;
      this.sessions.delete(key);
      this.opts.log.info('BGP peer removed', { peer: label });
      void session.stop(CeaseSubcode.PeerDeconfigured).then(() => {
        if (![...this.sessions.values()].some((s) => s.label === label)) {
          this.opts.metrics.bgpSessionUp.remove({ peer: label });
          this.opts.metrics.bgpAnnouncedPrefixes.remove({ peer: label });
        }
      });
    }
    for (const [key, p] of wanted) {
      const running = this.sessions.get(key);
      if (running) {
        running.peer = p; // a renamed BGPPeer keeps its session; advertisements follow the new name
        continue;
      }
      const session = this.createSession(p, routerID(p) as string);
      this.sessions.set(key, { session, label: `${p.peerAddress}:${p.peerPort}`, peer: p });
      session.start();
    }
  }

  private createSession(p: Peer, routerID: string): BgpSession {
    const label = `${p.peerAddress}:${p.peerPort}`;
    const m = this.opts.metrics;
    const log = this.opts.log;
    m.bgpSessionUp.set({ peer: label }, 0);
    return new BgpSession({
      peerAddress: p.peerAddress,
      peerPort: p.peerPort,
      myASN: p.myASN,
      peerASN: p.peerASN,
      holdTimeSeconds: p.holdTimeSeconds,
      keepaliveTimeSeconds: p.keepaliveTimeSeconds,
      routerID,
      sourceAddress: p.sourceAddress,
      password: p.password,
      ebgpMultihop: p.ebgpMultihop,
      ipv4NextHop: this.opts.nodeAddress,
      ipv6NextHop: this.opts.nodeAddressV6,
      gracefulRestartSeconds: this.opts.gracefulRestartSeconds,
      connectRetry: this.opts.connectRetry,
      dialer: this.opts.dialer,
      log,
      observer: {
        state: (state, prev, reason) => {
          m.bgpSessionUp.set({ peer: label }, state === 'Established' ? 1 : 0);
          const peer = `peer ${label} (AS ${p.peerASN})`;
          if (state === 'Established' && prev !== 'Established') this.nodeEvent('Normal', 'BGPSessionEstablished', `BGP session with ${peer} established`);
          // A stop or a peer removed from the config closes sessions on purpose: no news.
          else if (prev === 'Established' && state !== 'Established' && reason !== 'admin-shutdown') this.nodeEvent('Warning', 'BGPSessionDown', `BGP session with ${peer} went down: ${reason ?? 'unknown reason'}`);
          if (state === 'Idle' || (state === 'Active' && prev === 'Connect')) {
            if (reason && reason !== 'admin-shutdown') m.bgpSessionDowns.inc({ peer: label, reason });
          }
        },
        message: (direction, kind) => (direction === 'sent' ? m.bgpMessagesSent : m.bgpMessagesReceived).inc({ peer: label, type: kind }),
        notification: (direction, code, subcode) => m.bgpNotifications.inc({ peer: label, direction, code: notificationName(code, subcode) }),
        advertised: (n) => m.bgpAnnouncedPrefixes.set({ peer: label }, n),
      },
    });
  }

  private nodeEvent(type: 'Normal' | 'Warning', reason: string, message: string): void {
    // Node Events, like the kubelet's, name the node as the uid too.
    this.opts.events?.emit({ kind: 'Node', apiVersion: 'v1', name: this.opts.nodeName, uid: this.opts.nodeName }, type, reason, message);
  }

  private noteServices(view: BgpServiceView[]): void {
    const seen = new Set<string>();
    for (const v of view) {
      seen.add(v.service);
      const was = this.announced.get(v.service);
      const labels = { service: v.service, protocol: 'bgp', node: this.opts.nodeName, ip: v.ips.join(',') };
      if (!v.reason) {
        if (!was || was.prefixes.join() !== v.prefixes.join()) {
          if (was) this.opts.metrics.announced.remove({ ...labels, ip: was.ips.join(',') });
          this.opts.log.info('serviceAnnounced', { service: v.service, ips: v.ips, prefixes: v.prefixes, protocol: 'bgp' });
        }
        this.opts.metrics.announced.set(labels, 1);
        this.announced.set(v.service, v);
      } else if (was) {
        this.opts.log.info('serviceWithdrawn', { service: v.service, ips: was.ips, reason: v.reason, protocol: 'bgp' });
        this.opts.metrics.announced.remove({ ...labels, ip: was.ips.join(',') });
        this.announced.delete(v.service);
      }
    }
    for (const [key, was] of [...this.announced]) {
      if (seen.has(key)) continue;
      this.opts.log.info('serviceWithdrawn', { service: key, ips: was.ips, reason: 'serviceDeleted', protocol: 'bgp' });
      this.opts.metrics.announced.remove({ service: key, protocol: 'bgp', node: this.opts.nodeName, ip: was.ips.join(',') });
      this.announced.delete(key);
    }
  }
}
