// The controller: LoadBalancer Services → allocator → status.loadBalancer.
//
// Decisions are synchronous against the in-memory allocator; only the writes are asynchronous,
// several in flight at once, never two for one Service. Only the Lease holder writes, and it
// rebuilds the allocator from every Service's status before it hands anything out, so a restart
// or a failover never moves an assigned address.
import * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { Allocator } from '../ipam/allocator';
import { ConfigWatcher } from '../k8s/config-watcher';
import { apiStatus, errorText } from '../k8s/client';
import { EventRecorder, targetOf, type EventType } from '../k8s/events';
import { Informer } from '../k8s/informer';
import { LeaderElector } from '../k8s/lease';
import { POOL_ANNOTATION } from '../k8s/annotations';
import type { ControllerMetrics } from '../metrics/controller-metrics';
import { Backoff } from '../util/backoff';
import type { Logger } from '../util/log';
import { buildRequest, currentPoolAnnotation, handling, ingressIPs, serviceKey } from './service-request';

export interface ControllerOptions {
  kc: k8s.KubeConfig;
  configNamespace: string;
  configName: string;
  /** spec.loadBalancerClass this controller serves; undefined = class-less Services only. */
  lbClass?: string;
  /** Lease-based leader election among replicas; off = this process always writes. */
  leaderElection: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  writeConcurrency?: number;
  log: Logger;
  metrics: ControllerMetrics;
}

interface Desired {
  ips: string[];
  pool?: string;
}

const COMPONENT = 'ironlb-controller';

/** Lists deliver Dates, watches deliver strings: compare as milliseconds. */
function createdMs(svc: k8s.V1Service): number {
  const t = svc.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class Controller {
  private readonly core: k8s.CoreV1Api;
  private readonly services: Informer<k8s.V1Service>;
  private readonly configWatcher: ConfigWatcher;
  private readonly events: EventRecorder;
  private readonly elector?: LeaderElector;
  private allocator = new Allocator();
  private config?: Config;
  private leading = false;
  private rebuilt = false;

  private readonly queue = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly requeueAfterWrite = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private readonly retries = new Map<string, { backoff: Backoff; timer?: NodeJS.Timeout }>();
  /** Services that could not get an address; retried whenever an address is freed. */
  private readonly pending = new Set<string>();
  /** Last event emitted per Service and kind, so repeats of the same state stay silent. */
  private readonly lastEvent = new Map<string, string>();
  private statsTimer?: NodeJS.Timeout;
  private statsDirty = true;
  private stopped = false;

  constructor(private readonly opts: ControllerOptions) {
    this.core = opts.kc.makeApiClient(k8s.CoreV1Api);
    this.events = new EventRecorder(opts.kc, COMPONENT, opts.identity, opts.log);
    this.events.concurrency = () => (this.queue.size + this.inFlight.size > 0 ? 0 : 4);
    this.services = new Informer<k8s.V1Service>(opts.kc, '/api/v1/services', () => this.core.listServiceForAllNamespaces(), { log: opts.log });
    this.services.on((svc, event) => this.onService(svc, event));
    this.configWatcher = new ConfigWatcher({
      kc: opts.kc,
      namespace: opts.configNamespace,
      name: opts.configName,
      log: opts.log,
      events: this.events,
      onConfig: (c) => this.onConfig(c),
      onStaleChange: (s) => opts.metrics.configStale.set(s.stale ? 1 : 0),
    });
    if (opts.leaderElection) {
      this.elector = new LeaderElector({
        kc: opts.kc,
        namespace: opts.leaseNamespace,
        name: opts.leaseName,
        identity: opts.identity,
        log: opts.log,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
  }

  /** Ready = caches synced; a standby replica is ready too (it only does not write). */
  ready(): { ok: boolean; reason?: string } {
    if (!this.services.synced) return { ok: false, reason: 'Service cache not synced' };
    if (!this.configWatcher.synced) return { ok: false, reason: 'ConfigMap cache not synced' };
    return { ok: true };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    await Promise.all([this.services.start(), this.configWatcher.start()]);
    this.opts.log.info('caches synced', { services: this.services.list().length, configLoaded: this.configWatcher.state.loaded });
    this.statsTimer = setInterval(() => this.publishStats(), 1000);
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    for (const r of this.retries.values()) if (r.timer) clearTimeout(r.timer);
    await this.events.flush(2000);
    await this.elector?.stop();
    this.leading = false;
    await Promise.all([this.services.stop(), this.configWatcher.stop()]);
  }

  // ---- leadership and rebuild ------------------------------------------------------------

  private startLeading(): void {
    this.leading = true;
    this.opts.metrics.isLeader.set(1);
    this.rebuild('became leader');
  }

  private stopLeading(): void {
    this.leading = false;
    this.rebuilt = false;
    this.opts.metrics.isLeader.set(0);
    this.queue.clear();
  }

  private onConfig(config: Config): void {
    this.config = config;
    this.opts.metrics.configLoaded.set(1);
    if (!this.leading) return;
    if (!this.rebuilt) {
      this.rebuild('configuration loaded');
      return;
    }
    // Keep what is still valid (including decisions whose writes are in flight); addresses that
    // fell out of every pool are released and their Services re-decided below.
    const { invalidated } = this.allocator.setPools(config.pools);
    const restored = this.restoreFromStatus();
    this.statsDirty = true;
    this.opts.log.info('configuration applied', { invalidated: invalidated.length, restored });
    for (const svc of this.services.list()) this.enqueue(serviceKey(svc));
  }

  /** Builds a fresh allocator from Service status; used when this replica starts to lead. */
  private rebuild(why: string): void {
    if (!this.config) {
      this.opts.log.info('no valid configuration yet; not allocating', { why });
      return;
    }
    this.allocator = new Allocator();
    this.allocator.setPools(this.config.pools);
    const restored = this.restoreFromStatus();
    this.rebuilt = true;
    this.statsDirty = true;
    this.opts.log.info('allocator rebuilt from Service status', { why, restored, pools: this.config.pools.length });
    for (const svc of this.services.list()) this.enqueue(serviceKey(svc));
  }

  /**
   * Reserves the addresses in Service status that the allocator does not hold yet, before
   * anything new is handed out: oldest Services first, so that when two claim one address
   * the older keeps it.
   */
  private restoreFromStatus(): number {
    const svcs = this.services
      .list()
      .filter((s) => handling(s, this.opts.lbClass).handled && ingressIPs(s).length > 0 && !this.allocator.assignmentOf(serviceKey(s)))
      .sort((a, b) => createdMs(a) - createdMs(b) || serviceKey(a).localeCompare(serviceKey(b)));
    let restored = 0;
    for (const svc of svcs) {
      const built = buildRequest(svc);
      if (built.ok && this.allocator.assign(built.request, ingressIPs(svc)).ok) restored++;
    }
    return restored;
  }

  // ---- queue --------------------------------------------------------------------------------

  private onService(svc: k8s.V1Service, event: string): void {
    const key = serviceKey(svc);
    if (event === 'delete') {
      // Release at once so that the address serves pending Services right away.
      if (this.leading && this.rebuilt && this.allocator.assignmentOf(key)) {
        this.allocator.release(key);
        this.afterRelease();
      }
      this.lastEvent.delete(key);
      this.pending.delete(key);
      this.firstSeen.delete(key);
      return;
    }
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    if (!this.leading || !this.rebuilt || this.stopped) return;
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, performance.now());
    if (this.inFlight.has(key)) {
      this.requeueAfterWrite.add(key);
      return;
    }
    this.queue.add(key);
    if (this.queue.size === 1) setImmediate(() => this.drain());
  }

  private drain(): void {
    const max = this.opts.writeConcurrency ?? 32;
    for (const key of this.queue) {
      if (!this.leading || this.inFlight.size >= max) return;
      this.queue.delete(key);
      if (this.inFlight.has(key)) {
        this.requeueAfterWrite.add(key);
        continue;
      }
      const write = this.reconcile(key);
      if (write) {
        this.inFlight.add(key);
        void write.finally(() => {
          this.inFlight.delete(key);
          if (this.requeueAfterWrite.delete(key)) this.enqueue(key);
          if (this.queue.size > 0) this.drain();
        });
      } else {
        this.firstSeen.delete(key);
      }
    }
  }

  private afterRelease(): void {
    this.statsDirty = true;
    for (const key of this.pending) this.enqueue(key);
  }

  // ---- the decision -------------------------------------------------------------------------

  /** Decides synchronously; returns the write to wait for, if any. */
  private reconcile(key: string, fresh?: k8s.V1Service): Promise<void> | undefined {
    const [namespace, name] = key.split('/', 2);
    const svc = fresh ?? this.services.get(name, namespace);
    if (!svc) {
      if (this.allocator.assignmentOf(key)) {
        this.allocator.release(key);
        this.afterRelease();
      }
      return undefined;
    }
    const h = handling(svc, this.opts.lbClass);
    if (!h.handled) {
      this.pending.delete(key);
      if (this.allocator.assignmentOf(key)) {
        this.allocator.release(key);
        this.afterRelease();
      }
      if (h.clearOurs && (ingressIPs(svc).length > 0 || currentPoolAnnotation(svc) !== undefined)) {
        return this.write(svc, { ips: [] }, () => this.event(svc, 'Normal', 'ClearAssignment', `Service is no longer handled (${h.why}); load balancer address cleared`));
      }
      return undefined;
    }
    if (!this.config) return undefined;

    const built = buildRequest(svc);
    if (!built.ok) {
      this.event(svc, 'Warning', built.problem.reason, built.problem.message);
      return undefined;
    }
    for (const k of built.deprecatedKeys) {
      this.event(svc, 'Warning', 'deprecatedAnnotation', `annotation ${k} is deprecated; use ironlb.io/${k.split('/')[1]} (or metallb.io/)`, `deprecated:${k}`);
    }
    const current = ingressIPs(svc);
    if (this.config.pools.length === 0) {
      // An empty pool list is far more likely a mistake than a wish to take every address away.
      this.pending.add(key);
      if (current.length === 0) this.event(svc, 'Warning', 'AllocationFailed', 'Failed to allocate IP: no address pools are configured');
      return undefined;
    }
    const result = this.allocator.allocate(built.request);
    this.statsDirty = true;
    if (!result.ok) {
      this.pending.add(key);
      this.event(svc, 'Warning', 'AllocationFailed', `Failed to allocate IP for "${key}": ${result.message}`);
      if (current.length > 0) {
        return this.write(svc, { ips: [] }, () =>
          this.event(svc, 'Warning', 'ClearAssignment', `current address ${current.join(', ')} is not allowed any more: ${result.message}`, 'clear'),
        );
      }
      return undefined;
    }
    this.pending.delete(key);
    const desired: Desired = { ips: result.ips, pool: result.pool };
    if (sameList(current, desired.ips) && currentPoolAnnotation(svc) === desired.pool) {
      this.clearFailureMemory(key);
      return undefined;
    }
    const moved = current.length > 0 && !sameList(current, desired.ips);
    return this.write(svc, desired, () => {
      this.clearFailureMemory(key);
      if (moved) {
        this.event(svc, 'Warning', 'ClearAssignment', `address ${current.join(', ')} is not allowed by the current configuration; moving to ${desired.ips.join(', ')}`, 'clear');
      }
      this.event(svc, 'Normal', 'IPAllocated', `Assigned IP ${JSON.stringify(desired.ips)} from pool "${desired.pool}"`);
    });
  }

  // ---- writes -------------------------------------------------------------------------------

  /**
   * One request writes status and the pool annotation, guarded by the resourceVersion the
   * decision was made on: on a conflict the Service is read fresh and decided again.
   */
  private async write(svc: k8s.V1Service, desired: Desired, onSuccess: () => void, attempt = 0): Promise<void> {
    const key = serviceKey(svc);
    const namespace = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name ?? '';
    const body = {
      metadata: { resourceVersion: svc.metadata?.resourceVersion, annotations: { [POOL_ANNOTATION]: desired.pool ?? null } },
      status: { loadBalancer: { ingress: desired.ips.map((ip) => ({ ip })) } },
    };
    try {
      this.opts.metrics.updates.inc();
      const updated = await this.core.patchNamespacedServiceStatus(
        { name, namespace, body },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      if ((updated.metadata?.annotations?.[POOL_ANNOTATION] ?? undefined) !== (desired.pool ?? undefined)) {
        // Servers that drop metadata changes made through /status need a second write.
        this.opts.metrics.updates.inc();
        await this.core.patchNamespacedService(
          { name, namespace, body: { metadata: { annotations: { [POOL_ANNOTATION]: desired.pool ?? null } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      }
      this.retries.delete(key);
      const t0 = this.firstSeen.get(key);
      if (t0 !== undefined) this.opts.metrics.allocationSeconds.observe((performance.now() - t0) / 1000);
      this.firstSeen.delete(key);
      onSuccess();
    } catch (e) {
      this.opts.metrics.updateErrors.inc();
      const status = apiStatus(e);
      if (status === 404) return; // deleted meanwhile; the delete event releases it
      if (status === 409 && attempt < 5 && this.leading) {
        const fresh = await this.core.readNamespacedService({ name, namespace }).catch(() => undefined);
        if (!fresh) return;
        const again = this.reconcile(key, fresh);
        if (again) await again;
        return;
      }
      this.opts.log.warn('status write failed; will retry', { service: key, status, error: errorText(e) });
      this.retryLater(key);
    }
  }

  private retryLater(key: string): void {
    let r = this.retries.get(key);
    if (!r) {
      r = { backoff: new Backoff({ initialMs: 200, maxMs: 30_000 }) };
      this.retries.set(key, r);
    }
    if (r.timer) clearTimeout(r.timer);
    const entry = r;
    r.timer = setTimeout(() => {
      entry.timer = undefined;
      this.enqueue(key);
    }, r.backoff.next());
  }

  // ---- events and stats ----------------------------------------------------------------------

  /** Emits only when what would be said differs from the last thing said in this slot. */
  private event(svc: k8s.V1Service, type: EventType, reason: string, message: string, slot = 'state'): void {
    const memo = `${serviceKey(svc)}|${slot}`;
    const said = `${type}|${reason}|${message}`;
    if (this.lastEvent.get(memo) === said) return;
    this.lastEvent.set(memo, said);
    if (type === 'Warning') this.opts.log.warn(message, { service: serviceKey(svc), reason });
    else this.opts.log.info(message, { service: serviceKey(svc), reason });
    this.events.emit(targetOf(svc, 'Service'), type, reason, message);
  }

  private clearFailureMemory(key: string): void {
    this.lastEvent.delete(`${key}|clear`);
  }

  private publishStats(): void {
    if (!this.statsDirty || !this.leading) return;
    this.statsDirty = false;
    const m = this.opts.metrics;
    const servicesPerPool = new Map<string, number>();
    for (const svc of this.services.list()) {
      const pool = this.allocator.assignmentOf(serviceKey(svc))?.pool;
      if (pool) servicesPerPool.set(pool, (servicesPerPool.get(pool) ?? 0) + 1);
    }
    for (const s of this.allocator.stats()) {
      m.servicesAllocated.set({ pool: s.pool }, servicesPerPool.get(s.pool) ?? 0);
      const pool = s.pool;
      m.v4Total.set({ pool }, Number(s.totalV4));
      m.v6Total.set({ pool }, Number(s.totalV6));
      m.v4InUse.set({ pool }, Number(s.inUseV4));
      m.v6InUse.set({ pool }, Number(s.inUseV6));
      m.addressesTotal.set({ pool }, Number(s.totalV4 + s.totalV6));
      m.addressesInUse.set({ pool }, Number(s.inUseV4 + s.inUseV6));
    }
  }
}
