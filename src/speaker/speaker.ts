// The speaker on one node: config + cluster state + membership → the layer-2 announcer
// (and, for bgp pools, the BGP speaker).
import * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { ConfigWatcher } from '../k8s/config-watcher';
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

export interface SpeakerOptions {
  kc: k8s.KubeConfig;
  nodeName: string;
  nodeAddress?: string;
  namespace: string;
  configNamespace: string;
  configName: string;
  lbClass?: string;
  excludeInterfaces: readonly RegExp[];
  includeInterfaces: readonly string[];
  refreshIntervalMs: number;
  leaseDurationSeconds: number;
  leaseRenewMs: number;
  ignoreExcludeLabel: boolean;
  /** Probe addresses for conflicts before their first announcement (default true). */
  conflictDetection?: boolean;
  /** UDP heartbeats between speakers (sub-second failover), fenced by the Leases; undefined = Leases only. */
  heartbeat?: { port: number; intervalMs: number };
  /** BGP: IPv6 next hop for IPv6 prefixes over IPv4 sessions, and the graceful restart time (0 = off). */
  nodeAddressV6?: string;
  bgpGracefulRestartSeconds?: number;
  log: Logger;
  metrics: SpeakerMetrics;
}

export class Speaker {
  readonly state: ClusterState;
  readonly membership: Membership;
  readonly layer2: Layer2Speaker;
  readonly bgp: BgpSpeaker;
  private readonly configWatcher: ConfigWatcher;
  private readonly events: EventRecorder;
  /** Our Lease: liveness for the peers, and our view for `ironlb status`/`explain`. */
  private readonly lease: LeaseMembership;
  private scheduled = false;
  private running = false;

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
        ignoreExcludeLabel: opts.ignoreExcludeLabel,
        log: opts.log,
        metrics: opts.metrics,
        events: this.events,
        lease,
        conflictDetection: opts.conflictDetection,
        onReconciled: (members) => this.publishView(members),
      },
      this.state,
      this.membership,
    );
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
    this.configWatcher = new ConfigWatcher({
      kc: opts.kc,
      namespace: opts.configNamespace,
      name: opts.configName,
      log: opts.log,
      onConfig: (c) => this.onConfig(c),
      onStaleChange: (s) => opts.metrics.configStale.set(s.stale ? 1 : 0),
    });
    this.state.onChange(() => this.schedule());
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
    await this.layer2.start();
    await Promise.all([this.configWatcher.start(), this.state.start(), this.membership.start()]);
    // Speakers that start together list each other's Leases before those exist; wait until every
    // peer has renewed at least once, or each would briefly think it is alone and announce.
    await sleep(Math.max(1000, this.opts.leaseRenewMs * 1.5));
    this.running = true;
    this.membership.markReady?.();
    this.publishView(this.layer2.members());
    this.opts.metrics.membersAlive.set(this.membership.alive().size);
    this.opts.log.info('speaker started', { node: this.opts.nodeName, endpoints: this.state.endpointSource, alive: [...this.membership.alive()] });
    this.schedule();
  }

  /** Graceful: stop answering first, then leave the membership so that others take over at once. */
  async stop(): Promise<void> {
    this.running = false;
    await this.layer2.stop();
    await this.bgp.stop();
    await this.membership.stop();
    await this.events.flush(1000);
    await Promise.all([this.configWatcher.stop(), this.state.stop()]);
  }

  private onConfig(config: Config): void {
    this.opts.metrics.configLoaded.set(1);
    this.layer2.setConfig(config);
    this.bgp.setConfig(config);
    this.schedule();
  }

  /** Coalesces bursts of watch events into one pass. */
  private schedule(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running) {
        this.layer2.reconcile();
        this.bgp.reconcile();
      }
    });
  }
}
