// The controller process: LoadBalancer Services → decide() → status.loadBalancer.
//
// This file only wires the world to the reconciler (reconciler.ts, which runs the pure decide()
// in decide.ts): informers on Services and on the configuration (ConfigMap or metallb.io objects), the Lease that elects the one
// writing replica, the status writer, Events and metrics. Only the Lease holder writes, within
// its renew deadline; it rebuilds the allocator from every Service's status, read fresh, before
// it hands anything out, so a restart or a failover never moves an assigned address.
import { setMaxListeners } from 'node:events';
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import type { ConfigSourceFlag } from '../config/crd/source-choice';
import type { ConfigMeta } from '../k8s/config-gate';
import { SelectedConfigSource } from '../k8s/config-source';
import { ConfigurationStateWriter, PoolStatusWriter } from '../k8s/metallb-status';
import { EventRecorder, targetOf } from '../k8s/events';
import type { KubeLike } from '../k8s/kube';
import { Informer } from '../k8s/informer';
import { LeaderElector } from '../k8s/lease';
import { HOLDS_ANNOTATION } from './sticky-persist';
import type { ControllerMetrics } from '../metrics/controller-metrics';
import { systemClock, type Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { ApiStatusWriter, FIELD_MANAGER } from './api-status-writer';
import { trimServiceForController, trimToLabels } from '../k8s/trim';
import { ConflictSource } from './conflict-source';
import type { WriteGate } from './ports';
import { Reconciler } from './reconciler';

export interface ControllerOptions {
  kc: KubeLike;
  configNamespace: string;
  configName: string;
  /** Where the configuration comes from (`--config-source`); default auto. */
  configSource?: ConfigSourceFlag;
  /** Under auto: milliseconds between looks at which source applies. */
  configSourceRecheckMs?: number;
  /** spec.loadBalancerClass this controller serves; undefined = class-less Services only. */
  lbClass?: string;
  /** Lease-based leader election among replicas; off = this process always writes. */
  leaderElection: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  writeConcurrency?: number;
  /** Namespace of the speaker Leases, whose address-conflict reports quarantine addresses (default: leaseNamespace). */
  speakerNamespace?: string;
  /** How long an address stays quarantined after its conflict cleared (quarantine.ts). */
  conflictHoldMs?: number;
  /** Keep the ironlb.io/AddressAllocated Service condition (default true; --service-conditions). */
  serviceConditions?: boolean;
  log: Logger;
  metrics: ControllerMetrics;
  clock?: Clock;
}

const COMPONENT = 'ironlb-controller';

/** Without leader election this process writes from start() until stop(). */
class AlwaysLeader implements WriteGate {
  private readonly running = new AbortController();
  constructor() {
    setMaxListeners(0, this.running.signal); // every write in flight listens to it
  }
  term(): AbortSignal | undefined {
    return this.running.signal.aborted ? undefined : this.running.signal;
  }
  end(): void {
    this.running.abort(new Error('stopping'));
  }
}

export class Controller {
  private readonly services: Informer<k8s.V1Service>;
  /** Namespace labels, for IPAddressPool serviceAllocation.namespaceSelectors. */
  private readonly namespaces: Informer<k8s.V1Namespace>;
  private readonly configWatcher: SelectedConfigSource;
  private readonly events: EventRecorder;
  private readonly elector?: LeaderElector;
  private readonly always?: AlwaysLeader;
  private readonly reconciler: Reconciler;
  private readonly conflicts: ConflictSource;
  private statsTimer?: NodeJS.Timeout;
  /** MetalLB's status for its tooling, written while the metallb.io objects are the configuration. */
  private readonly poolStatus: PoolStatusWriter;
  private readonly configurationState: ConfigurationStateWriter;

  constructor(private readonly opts: ControllerOptions) {
    const clock = opts.clock ?? systemClock;
    const kc = opts.kc;
    this.events = new EventRecorder(kc, COMPONENT, opts.identity, opts.log);
    this.services = new Informer<k8s.V1Service>(opts.kc, '/api/v1/services', { log: opts.log, trim: trimServiceForController });
    // Only the labels are read (serviceAllocation namespaceSelectors).
    this.namespaces = new Informer<k8s.V1Namespace>(opts.kc, '/api/v1/namespaces', { log: opts.log, trim: trimToLabels });
    if (opts.leaderElection) {
      this.elector = new LeaderElector({
        kc,
        namespace: opts.leaseNamespace,
        name: opts.leaseName,
        identity: opts.identity,
        clock,
        log: opts.log,
        onStartedLeading: ({ resumed }) => this.setLeading(true, resumed),
        onStoppedLeading: () => this.setLeading(false),
      });
    } else {
      this.always = new AlwaysLeader();
    }
    const gate: WriteGate = this.elector ?? (this.always as AlwaysLeader);
    this.reconciler = new Reconciler({
      services: this.services,
      writer: new ApiStatusWriter(opts.kc),
      events: { emit: (svc, type, reason, message) => this.events.emit(targetOf(svc, 'Service'), type, reason, message) },
      gate,
      clock,
      log: opts.log,
      metrics: opts.metrics,
      lbClass: opts.lbClass,
      writeConcurrency: opts.writeConcurrency,
      fieldManager: FIELD_MANAGER,
      blockerChanged: () => setImmediate(() => this.configWatcher.recheck()),
      namespaceLabels: (ns) => this.namespaces.get(ns)?.metadata?.labels,
      conflictHoldMs: opts.conflictHoldMs,
      conditions: opts.serviceConditions ?? true,
      soleWriter: !opts.leaderElection,
      stickyStore: this.elector && stickyStoreOf(this.elector),
    });
    this.namespaces.on((n, event) => {
      if (event !== 'delete') this.reconciler.onNamespace(n.metadata?.name ?? '');
    });
    this.conflicts = new ConflictSource(kc, opts.speakerNamespace ?? opts.leaseNamespace, opts.log, (reported) => this.reconciler.setConflicts(reported));
    this.events.concurrency = () => (this.reconciler.busy ? 0 : 4);
    this.events.onDropped = () => opts.metrics.eventsDropped.inc();
    this.services.on((svc, event) => this.reconciler.onService(svc, event));
    this.configWatcher = new SelectedConfigSource({
      kc,
      namespace: opts.configNamespace,
      name: opts.configName,
      flag: opts.configSource ?? 'auto',
      recheckMs: opts.configSourceRecheckMs,
      secrets: 'skip', // BGP passwords are the speakers' business
      log: opts.log,
      events: this.events,
      vet: (config, meta) => this.reconciler.vetConfig(config, meta),
      onConfig: (config, meta) => this.onConfig(config, meta),
      onMeta: (meta) => this.reconciler.setMeta(meta),
      onStaleChange: (s) => opts.metrics.configStale.set(s.stale ? 1 : 0),
    });
    this.poolStatus = new PoolStatusWriter(kc, opts.configNamespace, opts.log);
    this.configurationState = new ConfigurationStateWriter({
      kc,
      namespace: opts.leaseNamespace,
      name: 'controller',
      labels: { 'metallb.io/component-type': 'controller' },
      state: () => (this.fromObjects ? this.configWatcher.state : undefined),
      log: opts.log,
    });
  }

  private get fromObjects(): boolean {
    return this.configWatcher.source === 'crds';
  }

  /** Ready = caches synced; a standby replica is ready too (it only does not write). */
  ready(): { ok: boolean; reason?: string } {
    if (!this.services.synced) return { ok: false, reason: 'Service cache not synced' };
    if (!this.namespaces.synced) return { ok: false, reason: 'Namespace cache not synced' };
    if (!this.configWatcher.synced) return { ok: false, reason: 'configuration cache not synced' };
    return { ok: true };
  }

  get isLeader(): boolean {
    return this.reconciler.isLeading;
  }

  async start(): Promise<void> {
    await Promise.all([this.services.start(), this.namespaces.start(), this.configWatcher.start(), this.conflicts.start()]);
    this.opts.log.info('caches synced', { services: this.services.list().length, configSource: this.configWatcher.source, configLoaded: this.configWatcher.state.loaded });
    this.statsTimer = setInterval(() => this.publishStats(), 1000);
    this.configurationState.start();
    if (this.elector) this.elector.start();
    else this.setLeading(true);
  }

  async stop(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.configurationState.stop();
    this.always?.end();
    this.reconciler.stop();
    await this.events.flush(2000);
    await this.elector?.stop();
    await Promise.all([this.services.stop(), this.namespaces.stop(), this.configWatcher.stop(), this.conflicts.stop()]);
  }

  private setLeading(leading: boolean, resumed = false): void {
    this.opts.metrics.isLeader.set(leading ? 1 : 0);
    if (leading) this.reconciler.startLeading(resumed);
    else this.reconciler.stopLeading();
  }

  private onConfig(config: Config, meta: ConfigMeta): void {
    this.opts.metrics.configLoaded.set(1);
    this.reconciler.setConfig(config, meta);
  }

  private publishStats(): void {
    const usage = this.reconciler.poolUsage();
    if (!usage) return;
    if (this.fromObjects) void this.poolStatus.write(usage.stats);
    const m = this.opts.metrics;
    for (const s of usage.stats) {
      const pool = s.pool;
      m.servicesAllocated.set({ pool }, usage.servicesPerPool.get(pool) ?? 0);
      m.v4Total.set({ pool }, Number(s.totalV4));
      m.v6Total.set({ pool }, Number(s.totalV6));
      m.v4InUse.set({ pool }, Number(s.inUseV4));
      m.v6InUse.set({ pool }, Number(s.inUseV6));
      m.addressesTotal.set({ pool }, Number(s.totalV4 + s.totalV6));
      m.addressesInUse.set({ pool }, Number(s.inUseV4 + s.inUseV6));
    }
  }
}

/** The sticky holds ride on the leader Lease, so that the next leader takes them over. */
function stickyStoreOf(elector: LeaderElector): { read(): string | undefined; write(encoded: string | undefined): void } {
  return { read: () => elector.annotation(HOLDS_ANNOTATION), write: (encoded) => elector.setAnnotation(HOLDS_ANNOTATION, encoded) };
}
