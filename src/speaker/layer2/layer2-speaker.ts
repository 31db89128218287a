// Layer 2: apply desiredOwnership (desired.ts) — keep the responder (a worker thread that owns
// the packet sockets) answering for the addresses this node wins, and say so in Events, logs and
// metrics. Decisions run on the main thread; answers never do. What it says about each Service's
// announcer (metric, logs, Events, announceFailed) is in announcement-report.ts.
import type { Config } from '../../config/types';
import type { EventRecorder } from '../../k8s/events';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import { eligibleInterfaces, listInterfaces, supportsArp, supportsNdp, type NetInterface } from '../../net/interfaces';
import type { Logger } from '../../util/log';
import type { ClusterState } from '../cluster-state';
import type { Membership } from '../membership/membership';
import { AddressPusher } from './address-push';
import { AnnouncedAddresses } from './announced-addresses';
import { AnnouncementAudit } from './announcement-audit';
import { AnnouncementReport } from './announcement-report';
import type { AuditTiming } from './audit-judge';
import type { GainMode } from './conflict-watch';
import { ConflictReporter, type ConflictLease } from './conflict-reporter';
import type { MemberView, ServiceElection } from './desired';
import { OwnershipTracker } from './ownership-tracker';
import { HandoverDriver } from './handover-driver';
import { publishResponderStats } from './layer2-stats';
import type { AnswerWindow } from './answer-window';
import { Responder, type OwnedAddress, type ResponderHealth, type ResponderInterfaceConfig, type ResponderThreadKind } from './responder';

/** Long enough to coalesce the notifications of one change, short against failover times. */
const LINK_RESCAN_DELAY_MS = 50;
const LINK_RESCAN_MIN_GAP_MS = 250;
/** Addresses gained this long after a peer was lost count as its takeover (failoverReaction). */
const TAKEOVER_WINDOW_MS = 5000;

export interface Layer2Options {
  nodeName: string;
  lbClass?: string;
  /** Interface name patterns never used (MetalLB's exclude list by default). */
  excludeInterfaces: readonly RegExp[];
  /** Only these interfaces (all pools), when given. */
  includeInterfaces: readonly string[];
  refreshIntervalMs: number;
  /** Where ARP and NDP are answered (Responder's `thread`). */
  responderThread?: ResponderThreadKind;
  /** Responder's `answerWindow` (answer-window.ts). */
  answerWindow?: AnswerWindow;
  ignoreExcludeLabel: boolean;
  log: Logger;
  metrics: SpeakerMetrics;
  events: EventRecorder;
  /** Our Lease, for conflict detection (publishes our MACs and held-back addresses, reads the peers' MACs). */
  lease?: ConflictLease;
  /** Probe an address for a conflict before its first announcement (default true; see conflict-watch.ts). */
  conflictDetection?: boolean;
  /** How long a leaving node answers after handing an address over (DEFAULT_HANDOVER_GRACE_MS). */
  handoverGraceMs?: number;
  /** After each election pass, with the member view it used (the speaker publishes it). */
  onReconciled?: (members: MemberView) => void;
  /** --datapath-check: this node's data path (kube-proxy) answers its health check. */
  dataPathHealthy?: () => boolean;
  /** Per Local Service: nodes whose healthCheckNodePort check fails (datapath-checks.ts). */
  serviceHealthFailing?: (service: string) => ReadonlySet<string>;
  /** --announcement-audit (docs/announcement-audit.md): off with false; on by default. */
  announcementAudit?: false | Partial<AuditTiming>;
}

export class Layer2Speaker {
  private responder?: Responder;
  private config?: Config;
  private owned = new Map<string, OwnedAddress>();
  private ownedKey = '';
  private interfacesKey = '';
  /** The interfaces the responder answers on now. */
  private usable: ResponderInterfaceConfig[] = [];
  /** Some usable interface can carry ARP or NDP (layer-2 readiness also needs a healthy responder). */
  private interfacesUsable = true;
  /** Each Service's announcer in metrics, logs and Events; announceFailed. */
  private readonly report: AnnouncementReport;
  /** The membership loss already timed by failoverReaction. */
  private observedLossAt?: number;
  private interfaceTimer?: NodeJS.Timeout;
  private linkRescan?: NodeJS.Timeout;
  private lastRescanAt = 0;
  private readonly pusher = new AddressPusher({
    send: async (list) => this.responder?.setAddresses(list),
    sent: (set) => {
      if (set.takeoverLossAt !== undefined) this.opts.metrics.failoverReaction.observe((Date.now() - set.takeoverLossAt) / 1000);
    },
    failed: (e) => this.opts.log.error('could not update responder', { error: e.message }),
  });
  /** The elections, kept between passes: a Service's event re-elects that Service only. */
  private readonly tracker = new OwnershipTracker();
  /** The next pass must re-elect everything: nothing was elected yet, or a pass was skipped. */
  private needsFull = true;
  /** Addresses some speaker was elected to announce: probe or audit on gain (gainMode). */
  private readonly announced = new AnnouncedAddresses();
  private readonly conflicts: ConflictReporter;
  private knownMacsKey = '';
  /** Make-before-break handovers when this node leaves by a planned exit (docs/maintenance.md). */
  private readonly handover: HandoverDriver;
  private readonly audit?: AnnouncementAudit;

  constructor(
    private readonly opts: Layer2Options,
    private readonly state: ClusterState,
    private readonly membership: Membership,
  ) {
    // The Services showing an address (for the conflict's Events): rare, so a scan.
    this.conflicts = new ConflictReporter(opts, (ip) => this.elections().filter((e) => e.ips.includes(ip)).map((e) => e.object));
    this.report = new AnnouncementReport(opts, () => this.reconcile());
    this.handover = new HandoverDriver({ ...opts, graceMs: opts.handoverGraceMs, onDue: () => this.push(this.handover.due(this.owned)) });
    const lease = opts.lease;
    if (opts.announcementAudit !== false && lease) {
      const audit = { ...opts, timing: opts.announcementAudit, macsOf: (n: string) => lease.nodeMacs(n), allMacs: () => lease.speakerMacs(), onStandingChange: () => this.updateLayer2Ready() };
      this.audit = new AnnouncementAudit(audit, membership, () => this.responder);
    }
  }

  async start(): Promise<void> {
    this.responder = await Responder.start({ timing: { refreshIntervalMs: this.opts.refreshIntervalMs }, thread: this.opts.responderThread, answerWindow: this.opts.answerWindow });
    this.responder.on('stats', (s) => publishResponderStats(this.opts.metrics, s));
    this.responder.on('interfaceError', (e) => this.opts.log.warn('interface error', e));
    this.responder.on('exit', (code) => this.opts.log.error('responder worker exited', { code }));
    this.responder.on('health', (h) => this.onResponderHealth(h));
    this.responder.on('restart', (cause) => this.opts.metrics.responderRestarts.inc({ cause }));
    this.responder.on('conflict', (c) => this.conflicts.conflict(c.address, c.mac, c.phase));
    this.responder.on('conflictCleared', (c) => this.conflicts.cleared(c.address));
    this.opts.lease?.onMacsChange(() => {
      this.pushKnownMacs();
      this.audit?.retarget();
    });
    this.audit?.start();
    this.pushKnownMacs();
    this.opts.metrics.responderHealthy.set(1);
    // Its first worker may still be starting (Responder.start): withdrawn until it runs.
    if (!this.responder.health.healthy) this.onResponderHealth(this.responder.health);
    // Link and address changes arrive from the route monitor; coalesce a burst of them (a pod
    // start adds a veth and several addresses) into one rescan. The periodic scan stays as a
    // backstop should the monitor be unavailable or overrun.
    this.responder.on('linksChanged', () => {
      if (this.linkRescan) return;
      // Pod churn on a busy node makes a steady stream of veth events: at most one rescan per
      // LINK_RESCAN_MIN_GAP_MS, each one still soon after the change that triggered it.
      const delay = Math.max(LINK_RESCAN_DELAY_MS, this.lastRescanAt + LINK_RESCAN_MIN_GAP_MS - Date.now());
      this.linkRescan = setTimeout(() => {
        this.linkRescan = undefined;
        void this.refreshInterfaces();
      }, delay);
    });
    await this.refreshInterfaces();
    this.interfaceTimer = setInterval(() => void this.refreshInterfaces(), 10_000);
  }

  /** Stops answering at once. */
  async stop(): Promise<void> {
    if (this.interfaceTimer) clearInterval(this.interfaceTimer);
    if (this.linkRescan) clearTimeout(this.linkRescan);
    this.report.stop();
    this.handover.stop();
    this.audit?.stop();
    await this.responder?.stop();
  }

  setConfig(config: Config): void {
    this.config = config;
    void this.refreshInterfaces();
  }

  /** Some interface here can answer ARP or NDP, the responder worker is healthy, (with
   * --datapath-check) the data path answers its health check and the announcement audit has not
   * withdrawn us; otherwise NO_LAYER2. */
  get hasUsableInterface(): boolean {
    return this.interfacesUsable && (this.responder?.health.healthy ?? true) && (this.opts.dataPathHealthy?.() ?? true) && (this.audit?.ready ?? true);
  }

  /** Shutdown's make-before-break (Speaker.stop): answer everything owned on, without gratuitous frames. False: nothing owned. */
  answerQuietly(): boolean {
    if (this.owned.size === 0) return false;
    this.push(new Map([...this.owned].map(([ip, o]) => [ip, { ...o, quiet: true }])));
    return true;
  }

  /** The data-path check changed its verdict: tell the peers (NO_LAYER2 or not) and re-elect. */
  dataPathChanged(): void {
    this.updateLayer2Ready();
  }

  /** The member view the elections use now. */
  members(): MemberView {
    return { alive: this.membership.alive(), layer2Unready: this.membership.layer2Unready?.() ?? new Set(), dataPathDown: this.membership.dataPathDown?.() ?? new Set() };
  }

  /** The interfaces this node can answer on now, by name. */
  get usableInterfaceNames(): string[] {
    return this.usable.map((i) => i.name);
  }

  /** Every current election (ServiceL2Status objects are written from them). */
  elections(): ServiceElection[] {
    return [...this.tracker.elections().values()];
  }

  /** The current election of the Service `key` (namespace/name), if it has one. */
  election(key: string): ServiceElection | undefined {
    return this.tracker.elections().get(key);
  }

  /**
   * Re-runs the elections of the Services in `touched` (namespace/name; their object or endpoints
   * changed), or of every Service for 'all' (nodes, members, config or interfaces changed), and
   * pushes the owned set to the responder if it changed. Returns what it re-elected: 'all' also
   * when a pass was owed from earlier, 'none' when it could not run yet.
   */
  reconcile(touched: ReadonlySet<string> | 'all' = 'all'): 'all' | 'services' | 'none' {
    const config = this.config;
    if (!config || !this.state.synced || !this.membership.synced) {
      this.needsFull = true;
      return 'none';
    }
    const scope = this.needsFull || touched === 'all' ? 'all' : 'services';
    const members = this.members();
    const change = this.tracker.update(
      {
        config,
        services: () => this.state.services.list(),
        service: (key) => this.state.service(key),
        endpoints: (key) => this.state.endpointFacts(key),
        nodes: this.state.nodeMap(),
        members,
        self: this.opts.nodeName,
        lbClass: this.opts.lbClass,
        ignoreExcludeLabel: this.opts.ignoreExcludeLabel,
        serviceHealthFailing: this.opts.serviceHealthFailing,
      },
      scope === 'all' ? 'all' : touched,
    );
    this.needsFull = false;
    this.announced.update(change.elected, change.removed);
    this.audit?.update(change.elected, change.removed);
    for (const { service: key, object: svc, ips, interfaces, result } of change.elected) this.report.elected(svc, key, ips, result, interfaces, this.usable);
    for (const key of change.removed) this.report.removed(key);
    this.push(this.handover.apply(change, this.tracker.owned(), this.owned));
    this.opts.onReconciled?.(members);
    return scope;
  }

  private push(owned: Map<string, OwnedAddress>): void {
    const key = JSON.stringify([...owned.values()].sort((a, b) => a.address.localeCompare(b.address)));
    if (key === this.ownedKey) return;
    const gained = [...owned.keys()].filter((ip) => !this.owned.has(ip));
    const lost = [...this.owned.keys()].filter((ip) => !owned.has(ip));
    this.ownedKey = key;
    this.owned = owned;
    if (gained.length) this.opts.metrics.ownershipChanges.inc({ change: 'gained' }, gained.length);
    if (lost.length) this.opts.metrics.ownershipChanges.inc({ change: 'lost' }, lost.length);
    this.opts.log.info('layer2 addresses changed', { owned: [...owned.keys()], gained, lost });
    // A takeover: the worker sends the first gratuitous frames before it acknowledges the new set.
    const lossAt = this.membership.lastLossAt;
    const takeover = gained.length > 0 && lossAt !== undefined && lossAt !== this.observedLossAt && Date.now() - lossAt < TAKEOVER_WINDOW_MS;
    if (takeover) this.observedLossAt = lossAt;
    const list = [...owned.values()].map((o) => ({ ...o, gain: this.gainMode(o.address, takeover) }));
    // One set at a time, so that an older set never lands after a newer one; a set superseded
    // while it waits is not sent at all (address-push.ts).
    void this.pusher.push(takeover ? { list, takeoverLossAt: lossAt } : { list });
  }

  /**
   * How a newly owned address starts (conflict-watch.ts). Probed before it is announced only on
   * its first announcement: no speaker was elected for it in an earlier pass of ours, and this is
   * no takeover. An address that moves between our speakers, or that we find at start-up, was
   * announced before: it is announced at once and probed along (an audit), so failover and
   * rebalancing never wait for a probe round.
   */
  private gainMode(address: string, takeover: boolean): GainMode {
    if (this.opts.conflictDetection === false) return 'none';
    return takeover || this.announced.announcedBefore(address) ? 'audit' : 'probe';
  }

  private pushKnownMacs(): void {
    const macs = [...new Set(this.opts.lease?.speakerMacs() ?? [])].sort();
    const key = macs.join(',');
    if (key === this.knownMacsKey || !this.responder) return;
    this.knownMacsKey = key;
    void this.responder.setKnownMacs(macs).catch((e: Error) => this.opts.log.error('could not update responder', { error: e.message }));
  }

  private async refreshInterfaces(): Promise<void> {
    if (!this.responder) return;
    const include = this.opts.includeInterfaces;
    this.lastRescanAt = Date.now();
    const all = listInterfaces();
    const eligible: NetInterface[] = eligibleInterfaces(all, { include, exclude: this.opts.excludeInterfaces });
    const configs: ResponderInterfaceConfig[] = eligible.map((i) => ({ name: i.name, ifindex: i.ifindex, mac: i.mac, arp: supportsArp(i), ndp: supportsNdp(i) }));
    const key = JSON.stringify(configs);
    if (key === this.interfacesKey) return;
    this.interfacesKey = key;
    this.usable = configs;
    this.conflicts.publishOwnMacs(configs.map((c) => c.mac));
    this.interfacesUsable = configs.some((c) => c.arp !== false || c.ndp !== false);
    this.updateLayer2Ready();
    this.opts.log.info('layer2 interfaces', { interfaces: configs.map((c) => `${c.name}(${c.mac}${c.arp ? ',arp' : ''}${c.ndp ? ',ndp' : ''})`) });
    await this.responder.setInterfaces(configs).catch((e: Error) => this.opts.log.error('could not set responder interfaces', { error: e.message }));
    this.reconcile(); // what can be announced here changed
  }

  /** Electable for layer 2 only with a usable interface and a responder worker that runs. */
  private updateLayer2Ready(): void {
    this.membership.setLayer2Ready?.(this.hasUsableInterface);
  }

  /** A dead or stuck worker answers nothing: withdraw as NO_LAYER2 (peers take over) until its
   * replacement runs. Without heartbeats (Lease-only) only /healthz can say so. */
  private onResponderHealth(h: ResponderHealth): void {
    if (h.healthy) this.opts.log.info('responder worker replaced: layer 2 usable again', { restarts: h.restarts });
    else this.opts.log.error('responder worker failed: withdrawing as NO_LAYER2 until a new one runs', { reason: h.reason, restarts: h.restarts });
    this.opts.metrics.responderHealthy.set(h.healthy ? 1 : 0);
    this.updateLayer2Ready();
  }

  /** For /healthz: the responder's worker runs and makes progress. */
  health(): { ok: boolean; reason?: string } {
    const h = this.responder?.health;
    return !h || h.healthy ? { ok: true } : { ok: false, reason: h.reason };
  }
}
