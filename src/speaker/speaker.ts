// The speaker on one node: config + cluster state + membership → the layer-2 announcer
// (and, for bgp pools, the BGP speaker).
import type { KubeLike } from '../k8s/kube';
import type { Config } from '../config/types';
import type { ConfigSourceFlag } from '../config/crd/source-choice';
import { SelectedConfigSource } from '../k8s/config-source';
import { ConfigurationStateWriter } from '../k8s/metallb-status';
import { StatusObjects } from '../k8s/status-objects';
import { bgpStatusWants, l2StatusWants } from './status-objects';
import { AnnouncedWriter } from '../k8s/announced-writer';
import { announcedCondition } from './announced-condition';
import { serviceKey } from '../controller/service-request';
import { EventRecorder } from '../k8s/events';
import type { SpeakerMetrics } from '../metrics/speaker-metrics';
import type { Logger } from '../util/log';
import { sleep } from '../util/backoff';
import { ClusterState } from './cluster-state';
import { BgpSpeaker } from './bgp/bgp-speaker';
import { Layer2Speaker } from './layer2/layer2-speaker';
import { HeartbeatMembership } from './membership/heartbeat-membership';
import { LeaseMembership } from './membership/lease-membership';
import type { Membership } from './membership/membership';
import { encodeSpeakerView, SPEAKER_VIEW_ANNOTATION } from './membership/speaker-view';
import type { MemberView } from './layer2/desired';
import { DataPathChecks } from './datapath/datapath-checks';
import { DEFAULT_HANDOVER_GRACE_MS } from './layer2/handover-driver';
import type { ResponderThreadKind } from './layer2/responder';
import { answerResumeMs, answerWindowMs } from './layer2/answer-window';

export interface SpeakerOptions {
  kc: KubeLike;
  nodeName: string;
  nodeAddress?: string;
  namespace: string;
  configNamespace: string;
  configName: string;
  /** Where the configuration comes from (`--config-source`); default auto. */
  configSource?: ConfigSourceFlag;
  /** Under auto: milliseconds between looks at which source applies. */
  configSourceRecheckMs?: number;
  /** metallb.io BGPPeer passwordSecret: read the basic-auth Secrets of the config namespace (needs RBAC). */
  readPeerSecrets?: boolean;
  lbClass?: string;
  excludeInterfaces: readonly RegExp[];
  includeInterfaces: readonly string[];
  refreshIntervalMs: number;
  /** Where ARP and NDP are answered (Responder's `thread`). */
  responderThread?: ResponderThreadKind;
  leaseDurationSeconds: number;
  leaseRenewMs: number;
  ignoreExcludeLabel: boolean;
  /** Probe addresses for conflicts before their first announcement (default true). */
  conflictDetection?: boolean;
  /** The announcement audit (default on, every 2 s; docs/announcement-audit.md); false: off. */
  announcementAudit?: false | { intervalMs: number };
  /** UDP heartbeats between speakers (sub-second failover), fenced by the Leases; undefined = Leases only. */
  heartbeat?: { port: number; intervalMs: number; adaptive?: boolean; minDeadIntervals?: number; deadIntervals?: number; sendAheadMs?: number };
  /** BGP: IPv6 next hop for IPv6 prefixes over IPv4 sessions, and the graceful restart time (0 = off). */
  nodeAddressV6?: string;
  bgpGracefulRestartSeconds?: number;
  /**
   * The data-path check (kube-proxy's /healthz at `url`): run while `nodeWide` (--datapath-check:
   * a failing node withdraws from every layer-2 election, as NO_LAYER2) or while any pool has
   * `datapath-check` (a failing node says DATAPATH_DOWN: those pools' elections pass it over).
   */
  dataPath?: { url: string; intervalMs: number; nodeWide: boolean };
  /** Keep the ironlb.io/Announced Service condition (default true; --service-conditions). */
  serviceConditions?: boolean;
  log: Logger;
  metrics: SpeakerMetrics;
}

export class Speaker {
  readonly state: ClusterState;
  readonly membership: Membership;
  readonly layer2: Layer2Speaker;
  readonly bgp: BgpSpeaker;
  private readonly configWatcher: SelectedConfigSource;
  /** MetalLB's ServiceL2Status / ServiceBGPStatus objects of this node (written while the configuration comes from the metallb.io objects). */
  private readonly l2Status: StatusObjects;
  private readonly bgpStatus: StatusObjects;
  private readonly configurationState: ConfigurationStateWriter;
  /** The ironlb.io/Announced conditions this node writes (undefined: --service-conditions=false). */
  private readonly announcedWriter?: AnnouncedWriter;
  /** When this node became the announcer of each Service it announces (ISO 8601). */
  private readonly announcingSince = new Map<string, string>();
  private readonly events: EventRecorder;
  /** Our Lease: liveness for the peers, and our view for `ironlb status`/`explain`. */
  private readonly lease: LeaseMembership;
  private scheduled = false;
  /** What the next pass re-elects: the Services touched since the last one, or all of them. */
  private dirty: Set<string> | 'all' = 'all';
  private running = false;
  private readonly dataPath?: DataPathChecks;

  constructor(private readonly opts: SpeakerOptions) {
    this.events = new EventRecorder(opts.kc, 'ironlb-speaker', opts.nodeName, opts.log);
    this.state = new ClusterState(opts.kc, opts.log);
    const lease = (this.lease = new LeaseMembership({
      kc: opts.kc,
      namespace: opts.namespace,
      nodeName: opts.nodeName,
      nodeAddress: opts.nodeAddress,
      leaseDurationSeconds: opts.leaseDurationSeconds,
      renewIntervalMs: opts.leaseRenewMs,
      log: opts.log,
    }));
    this.membership = opts.heartbeat
      ? new HeartbeatMembership({
          kc: opts.kc,
          namespace: opts.namespace,
          nodeName: opts.nodeName,
          lease,
          port: opts.heartbeat.port,
          intervalMs: opts.heartbeat.intervalMs,
          adaptive: opts.heartbeat.adaptive,
          minDeadIntervals: opts.heartbeat.minDeadIntervals,
          deadIntervals: opts.heartbeat.deadIntervals,
          sendAheadMs: opts.heartbeat.sendAheadMs,
          keyRefreshMs: Math.max(1000, opts.leaseRenewMs),
          apiTimeoutMs: opts.leaseDurationSeconds * 1000,
          metrics: opts.metrics,
          log: opts.log,
        })
      : lease;
    this.layer2 = new Layer2Speaker(
      {
        nodeName: opts.nodeName,
        lbClass: opts.lbClass,
        excludeInterfaces: opts.excludeInterfaces,
        includeInterfaces: opts.includeInterfaces,
        refreshIntervalMs: opts.refreshIntervalMs,
        responderThread: opts.responderThread,
        answerWindow: { windowMs: answerWindowMs(opts), resumeMs: answerResumeMs(opts) },
        ignoreExcludeLabel: opts.ignoreExcludeLabel,
        log: opts.log,
        metrics: opts.metrics,
        events: this.events,
        lease,
        conflictDetection: opts.conflictDetection,
        announcementAudit: opts.announcementAudit,
        onReconciled: (members) => this.publishView(members),
        dataPathHealthy: opts.dataPath?.nodeWide ? () => this.dataPath?.nodeHealthy ?? true : undefined,
        serviceHealthFailing: opts.dataPath ? (key) => this.dataPath?.failing(key) ?? new Set() : undefined,
      },
      this.state,
      this.membership,
    );
    if (opts.dataPath) {
      const nodeWide = opts.dataPath.nodeWide;
      this.dataPath = new DataPathChecks({
        ...opts.dataPath,
        nodeName: opts.nodeName,
        log: opts.log,
        metrics: opts.metrics,
        onNodeHealth: (healthy) => {
          this.membership.setDataPathReady?.(healthy);
          if (nodeWide) this.layer2.dataPathChanged();
        },
        elections: () => this.layer2.elections(),
        endpointNodes: (key) => this.state.endpointFacts(key).readyNodes,
        nodeAddress: (node) => this.state.nodeAddress(node),
        onServiceHealth: (key) => this.schedule(key),
      });
    }
    this.bgp = new BgpSpeaker(
      {
        nodeName: opts.nodeName,
        nodeAddress: opts.nodeAddress,
        nodeAddressV6: opts.nodeAddressV6,
        lbClass: opts.lbClass,
        ignoreExcludeLabel: opts.ignoreExcludeLabel,
        gracefulRestartSeconds: opts.bgpGracefulRestartSeconds ?? 120,
        log: opts.log.child({ protocol: 'bgp' }),
        metrics: opts.metrics,
        events: this.events,
      },
      this.state,
    );
    this.configWatcher = new SelectedConfigSource({
      kc: opts.kc,
      namespace: opts.configNamespace,
      name: opts.configName,
      flag: opts.configSource ?? 'auto',
      recheckMs: opts.configSourceRecheckMs,
      secrets: opts.readPeerSecrets ? 'resolve' : 'unreadable',
      log: opts.log,
      events: this.events,
      onConfig: (c) => this.onConfig(c),
      onStaleChange: (s) => opts.metrics.configStale.set(s.stale ? 1 : 0),
    });
    const statusObjects = { kc: opts.kc, namespace: opts.namespace, node: opts.nodeName, log: opts.log };
    this.l2Status = new StatusObjects({ ...statusObjects, plural: 'servicel2statuses', kind: 'ServiceL2Status', generateName: 'l2-' });
    this.bgpStatus = new StatusObjects({ ...statusObjects, plural: 'servicebgpstatuses', kind: 'ServiceBGPStatus', generateName: 'bgp-' });
    this.configurationState = new ConfigurationStateWriter({
      kc: opts.kc,
      namespace: opts.namespace,
      name: `speaker-${opts.nodeName}`,
      labels: { 'metallb.io/component-type': 'speaker', 'metallb.io/node-name': opts.nodeName },
      state: () => (this.configWatcher.source === 'crds' ? this.configWatcher.state : undefined),
      log: opts.log,
    });
    if (opts.serviceConditions !== false) {
      this.announcedWriter = new AnnouncedWriter({ kc: opts.kc, log: opts.log, service: (key) => this.state.service(key), recheck: (key) => this.schedule(key) });
    }
    this.state.onChange((change) => this.schedule(change.kind === 'service' ? change.key : 'all'));
    this.membership.onChange(() => {
      opts.metrics.membersAlive.set(this.membership.alive().size);
      this.schedule();
    });
    this.publishView(this.layer2.members()); // STARTING, from our Lease's first write on
  }

  /**
   * Our view on our Lease, for `ironlb status`/`explain`: the member view our elections just used,
   * whether we are past start-up, and whether we have a usable layer-2 interface.
   */
  private publishView(members: MemberView): void {
    const view = encodeSpeakerView({
      starting: !this.running,
      noLayer2: !this.layer2.hasUsableInterface,
      alive: [...members.alive],
      layer2Unready: [...members.layer2Unready],
      dataPathDown: [...(members.dataPathDown ?? [])],
      serviceHealthFailing: this.dataPath?.failingByService(),
      ignoreExcludeLabel: this.opts.ignoreExcludeLabel,
    });
    this.lease.publish({ [SPEAKER_VIEW_ANNOTATION]: view });
  }

  ready(): { ok: boolean; reason?: string } {
    if (!this.running) return { ok: false, reason: 'starting' };
    if (!this.state.synced) return { ok: false, reason: 'caches not synced' };
    if (!this.configWatcher.state.loaded) return { ok: false, reason: 'no valid configuration loaded' };
    return { ok: true };
  }

  /** Liveness (/healthz): false while the layer-2 responder's worker is dead or stuck. */
  live(): { ok: boolean; reason?: string } {
    return this.layer2.health();
  }

  async start(): Promise<void> {
    this.membership.prepare?.();
    this.dataPath?.start();
    await this.layer2.start();
    await Promise.all([this.configWatcher.start(), this.state.start(), this.membership.start()]);
    // Speakers that start together list each other's Leases before those exist; wait until every
    // peer has renewed at least once, or each would briefly think it is alone and announce.
    await sleep(Math.max(1000, this.opts.leaseRenewMs * 1.5));
    this.running = true;
    this.configurationState.start();
    this.membership.markReady?.();
    this.publishView(this.layer2.members());
    this.opts.metrics.membersAlive.set(this.membership.alive().size);
    this.opts.log.info('speaker started', { node: this.opts.nodeName, endpoints: this.state.endpointSource, alive: [...this.membership.alive()] });
    this.schedule();
  }

  /**
   * Graceful (a rollout's SIGTERM), make-before-break: leave the membership first, so that the
   * peers elect without us at once and announce our addresses (gratuitous bursts), while we keep
   * answering them quietly for a handover grace; only then stop answering. Stopping first left
   * ARP/NDP requests unanswered until the peers heard us leave.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.dataPath?.stop();
    this.announcedWriter?.stop();
    this.configurationState.stop();
    const answering = this.layer2.answerQuietly();
    const left = this.membership.stop(); // the leaving heartbeats go out before its first await
    if (answering) await sleep(DEFAULT_HANDOVER_GRACE_MS);
    await this.layer2.stop();
    await this.bgp.stop();
    await Promise.all([this.l2Status.stop(true), this.bgpStatus.stop(true), left]);
    await this.events.flush(1000);
    await Promise.all([this.configWatcher.stop(), this.state.stop()]);
  }

  private onConfig(config: Config): void {
    this.opts.metrics.configLoaded.set(1);
    this.layer2.setConfig(config);
    this.bgp.setConfig(config);
    this.dataPath?.configChanged(config);
    this.schedule();
  }

  /** MetalLB's tooling reads these; written only while the metallb.io objects are the configuration. */
  private writeStatusObjects(): void {
    if (this.configWatcher.source !== 'crds') return;
    const alive = this.membership.alive();
    // O(Services) per pass, but only under the CR source (issue 18's per-event bound is for the elections).
    this.l2Status.sync(l2StatusWants({ services: this.layer2.elections() }, this.opts.nodeName, this.layer2.usableInterfaceNames), alive);
    this.bgpStatus.sync(bgpStatusWants(this.bgp.announcedTo, this.opts.nodeName), alive);
  }

  /**
   * ironlb.io/Announced for the Services `dirty` names (every Service for 'all'):
   * announced-condition.ts decides, the writer writes on change, rate-limited.
   */
  private writeConditions(dirty: ReadonlySet<string> | 'all'): void {
    const writer = this.announcedWriter;
    if (!writer) return;
    const keys = dirty === 'all' ? this.state.services.list().map(serviceKey) : [...dirty];
    if (dirty === 'all') for (const key of this.announcingSince.keys()) if (!this.state.service(key)) this.announcingSince.delete(key);
    const members = this.layer2.members();
    const usableInterfaces = this.layer2.usableInterfaceNames;
    for (const key of keys) {
      const svc = this.state.service(key);
      const election = this.layer2.election(key);
      if (!svc || election?.result.announcer !== this.opts.nodeName) this.announcingSince.delete(key);
      else if (!this.announcingSince.has(key)) this.announcingSince.set(key, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
      if (!svc) continue;
      const since = this.announcingSince.get(key) ?? '';
      writer.want(key, announcedCondition({ svc, election, self: this.opts.nodeName, members, usableInterfaces, since }));
    }
  }

  /**
   * Coalesces bursts of watch events into one pass. `what` is the Service (namespace/name) an
   * event touched, or 'all' for anything that can move every Service (nodes, members, config).
   */
  private schedule(what: string | 'all' = 'all'): void {
    if (what === 'all') this.dirty = 'all';
    else if (this.dirty !== 'all') this.dirty.add(what);
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running) {
        const dirty = this.dirty;
        this.dirty = new Set();
        const started = process.hrtime.bigint();
        const scope = this.layer2.reconcile(dirty);
        this.bgp.reconcile();
        this.writeStatusObjects();
        if (scope !== 'none') this.opts.metrics.electionPass.observe({ scope: passScope(scope, dirty) }, Number(process.hrtime.bigint() - started) / 1e9);
        if (scope !== 'none') this.writeConditions(scope === 'all' ? 'all' : dirty);
      }
    });
  }
}

/**
 * The election-pass metric's scope: a pass for exactly one touched Service ('service', the cost of
 * one change) is told apart from one for a coalesced burst ('services'), whose time grows with the
 * number of Services it carries.
 */
export function passScope(scope: 'all' | 'services', dirty: ReadonlySet<string> | 'all'): 'all' | 'services' | 'service' {
  return scope === 'services' && dirty !== 'all' && dirty.size === 1 ? 'service' : scope;
}
