// Hand-written fakes for the controller's narrow interfaces (src/controller/ports.ts): an
// in-memory API server for Services (resourceVersions, conflicts, a watch that delivers later),
// an event sink, a write gate and metrics. Written without the controller's code.
import type * as k8s from '@kubernetes/client-node';
import type { EventSink, ReconcilerMetrics, ServiceSource, StatusWrite, StatusWriter, WriteGate, WriteOutcome } from '../../../src/controller/ports';

export type WatchEvent = 'add' | 'update' | 'delete';

const POOL_ANNOTATION = 'ironlb.io/ip-allocated-from-pool';

export function ipsOf(svc: k8s.V1Service | undefined): string[] {
  return (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== '');
}

/** An API server holding Services. Watchers get events on setImmediate, in order, like a watch. */
export class FakeServices implements StatusWriter {
  private rv = 0;
  private created = 0;
  readonly store = new Map<string, k8s.V1Service>();
  private readonly watchers: Array<(svc: k8s.V1Service, event: WatchEvent) => void> = [];
  private readonly pendingDeliveries: Array<() => void> = [];
  writes = 0;
  /** Reads of a Service from the caches (each decision reads its Service once), per namespace/name. */
  readonly cacheReads = new Map<string, number>();
  /** Makes the next N status writes fail with this HTTP status. */
  failNext: { status: number; count: number } | undefined;
  /** Writes wait for this promise when set (a hung connection). */
  hang: Promise<void> | undefined;
  /** Write answers the caches took in place of the version written on (adopting caches only). */
  adopted = 0;

  /**
   * `adopting`: the caches take the controller's own write's answer in place of the version it was
   * made on, and then skip the watch's delivery of a version they hold (no handlers), as the real
   * informer does (RawInformer.adopt); otherwise they only follow the watch.
   */
  constructor(private readonly opts: { adopting?: boolean } = {}) {}

  /** A cache fed by this server's watch, as an informer is. */
  cache(): ServiceSource & { on(h: (svc: k8s.V1Service, event: WatchEvent) => void): void; map: Map<string, k8s.V1Service> } {
    const map = new Map<string, k8s.V1Service>();
    for (const [k, v] of this.store) map.set(k, structuredClone(v));
    const handlers: Array<(svc: k8s.V1Service, event: WatchEvent) => void> = [];
    const adopting = this.opts.adopting === true;
    this.watchers.push((svc, event) => {
      const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
      if (adopting && event !== 'delete' && map.get(key)?.metadata?.resourceVersion === svc.metadata?.resourceVersion) return;
      if (event === 'delete') map.delete(key);
      else map.set(key, svc);
      for (const h of handlers) h(svc, event);
    });
    const adopt = (written: k8s.V1Service, basedOn: string | undefined): boolean => {
      const key = `${written.metadata?.namespace}/${written.metadata?.name}`;
      if (basedOn === undefined || map.get(key)?.metadata?.resourceVersion !== basedOn) return false;
      map.set(key, structuredClone(written));
      this.adopted++;
      return true;
    };
    return {
      map,
      on: (h) => handlers.push(h),
      get: (name, namespace) => {
        this.cacheReads.set(`${namespace}/${name}`, (this.cacheReads.get(`${namespace}/${name}`) ?? 0) + 1);
        return map.get(`${namespace}/${name}`);
      },
      list: () => [...map.values()],
      ...(adopting && { adopt }),
    };
  }

  get deliveriesPending(): number {
    return this.pendingDeliveries.length;
  }

  put(svc: k8s.V1Service): k8s.V1Service {
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const existing = this.store.get(key);
    const stored: k8s.V1Service = structuredClone(svc);
    stored.metadata = {
      ...stored.metadata,
      resourceVersion: String(++this.rv),
      uid: existing?.metadata?.uid ?? `uid-${key}`,
      creationTimestamp: existing?.metadata?.creationTimestamp ?? new Date(Date.UTC(2026, 0, 1) + ++this.created * 1000),
    };
    if (existing && svc.status === undefined) stored.status = existing.status;
    this.store.set(key, stored);
    this.notify(stored, existing ? 'update' : 'add');
    return stored;
  }

  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const existing = this.store.get(key);
    if (!existing) return;
    this.store.delete(key);
    this.notify(existing, 'delete');
  }

  /** Another writer sets the status. */
  foreignStatus(namespace: string, name: string, ips: string[], manager = 'rival-lb'): void {
    const svc = this.store.get(`${namespace}/${name}`);
    if (!svc) throw new Error(`no Service ${namespace}/${name}`);
    const next: k8s.V1Service = structuredClone(svc);
    next.status = { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } };
    next.metadata = { ...next.metadata, resourceVersion: String(++this.rv), managedFields: [{ manager, operation: 'Update', fieldsV1: { 'f:status': {} }, time: new Date() }] };
    this.store.set(`${namespace}/${name}`, next);
    this.notify(next, 'update');
  }

  async write(svc: k8s.V1Service, desired: StatusWrite, signal: AbortSignal): Promise<WriteOutcome> {
    this.writes++;
    await new Promise((r) => setImmediate(r));
    if (this.hang) await this.hang;
    if (signal.aborted) return { ok: false, message: 'aborted' };
    if (this.failNext && this.failNext.count > 0) {
      this.failNext.count--;
      return { ok: false, status: this.failNext.status, message: `injected ${this.failNext.status}` };
    }
    const key = `${svc.metadata?.namespace}/${svc.metadata?.name}`;
    const stored = this.store.get(key);
    if (!stored) return { ok: false, status: 404, message: 'not found' };
    if (stored.metadata?.resourceVersion !== svc.metadata?.resourceVersion) return { ok: false, status: 409, message: 'the object has been modified' };
    const next: k8s.V1Service = structuredClone(stored);
    // Conditions merge by type (the API server's strategic merge patch); the rest is replaced.
    const c = desired.condition;
    let conditions = next.status?.conditions ?? [];
    if (c) conditions = [...conditions.filter((x) => x.type !== ('remove' in c ? c.remove : c.type)), ...('remove' in c ? [] : [c])];
    const ingress = desired.conditionOnly ? (next.status?.loadBalancer?.ingress ?? []) : desired.ips.map((ip) => ({ ip }));
    next.status = { loadBalancer: { ingress }, ...(conditions.length > 0 ? { conditions } : {}) };
    const annotations = { ...(next.metadata?.annotations ?? {}) };
    if (!desired.conditionOnly) {
      if (desired.pool === undefined) delete annotations[POOL_ANNOTATION];
      else annotations[POOL_ANNOTATION] = desired.pool;
    }
    next.metadata = { ...next.metadata, annotations, resourceVersion: String(++this.rv), managedFields: [{ manager: 'ironlb-controller', operation: 'Update', fieldsV1: { 'f:status': {} } }] };
    this.store.set(key, next);
    this.notify(next, 'update');
    return { ok: true, resourceVersion: next.metadata.resourceVersion, written: structuredClone(next) };
  }

  async read(namespace: string, name: string): Promise<k8s.V1Service | undefined> {
    await new Promise((r) => setImmediate(r));
    const s = this.store.get(`${namespace}/${name}`);
    return s && structuredClone(s);
  }

  /** Full lists served (rebuilds). */
  lists = 0;

  async list(): Promise<k8s.V1Service[]> {
    this.lists++;
    await new Promise((r) => setImmediate(r));
    return [...this.store.values()].map((s) => structuredClone(s));
  }

  private notify(svc: k8s.V1Service, event: WatchEvent): void {
    const copy = structuredClone(svc);
    this.pendingDeliveries.push(() => {
      for (const w of this.watchers) w(structuredClone(copy), event);
    });
    setImmediate(() => this.pendingDeliveries.shift()?.());
  }
}

export interface RecordedEvent {
  key: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class FakeEvents implements EventSink {
  readonly all: RecordedEvent[] = [];
  emit(svc: k8s.V1Service, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.all.push({ key: `${svc.metadata?.namespace}/${svc.metadata?.name}`, type, reason, message });
  }
  of(key: string, reason?: string): RecordedEvent[] {
    return this.all.filter((e) => e.key === key && (reason === undefined || e.reason === reason));
  }
}

/** Leads from lead() until end(); each term has its own signal. */
export class FakeGate implements WriteGate {
  private current?: AbortController;
  lead(): void {
    this.current = new AbortController();
  }
  end(): void {
    this.current?.abort();
    this.current = undefined;
  }
  term(): AbortSignal | undefined {
    return this.current?.signal;
  }
}

export class FakeMetrics implements ReconcilerMetrics {
  writes = 0;
  failures = 0;
  foreign = 0;
  fights = 0;
  allocations: number[] = [];
  statusWrite(): void {
    this.writes++;
  }
  statusWriteFailed(): void {
    this.failures++;
  }
  allocationSeconds(seconds: number): void {
    this.allocations.push(seconds);
  }
  foreignStatusChange(): void {
    this.foreign++;
  }
  statusFights(count: number): void {
    this.fights = count;
  }
}

export function lbService(namespace: string, name: string, opts: { annotations?: Record<string, string>; ports?: number[]; local?: boolean; selector?: Record<string, string>; type?: string; ips?: string[] } = {}): k8s.V1Service {
  return {
    metadata: { namespace, name, annotations: opts.annotations },
    spec: {
      type: opts.type ?? 'LoadBalancer',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      selector: opts.selector ?? { app: name },
      externalTrafficPolicy: opts.local ? 'Local' : 'Cluster',
      ports: (opts.ports ?? [80]).map((port) => ({ port, protocol: 'TCP' })),
    },
    status: opts.ips ? { loadBalancer: { ingress: opts.ips.map((ip) => ({ ip })) } } : undefined,
  };
}
