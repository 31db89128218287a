// coordination.k8s.io Leases: leader election for the controller replicas and liveness
// heartbeats for speakers. Expiry is judged by when *we* last saw the record change
// (client-go's approach), so clock skew between nodes does not matter.
import * as k8s from '@kubernetes/client-node';
import { apiStatus, errorText } from './client';
import { sleep } from '../util/backoff';
import type { Logger } from '../util/log';

/** Lease times are MicroTime: the API server insists on exactly six fractional digits. */
export function microTime(d: Date = new Date()): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export function leaseTimeMs(t: Date | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = new Date(t).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

export interface LeaderElectorOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number; // default 3
  retryPeriodMs?: number; // default 500
  renewDeadlineMs?: number; // default 2000
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly leaseSeconds: number;
  private readonly retryMs: number;
  private readonly renewDeadlineMs: number;
  private abort = new AbortController();
  private leading = false;
  private lastRenew = 0;
  private observedKey = '';
  private observedAt = 0;
  private observedHolder = '';
  private loop?: Promise<void>;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.api = opts.kc.makeApiClient(k8s.CoordinationV1Api);
    this.leaseSeconds = opts.leaseDurationSeconds ?? 3;
    this.retryMs = opts.retryPeriodMs ?? 500;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 2000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.abort = new AbortController();
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the Lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((e) => this.opts.log.warn('could not release lease', { error: errorText(e) }));
    }
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.tryAcquireOrRenew();
      } catch (e) {
        this.opts.log.warn('lease update failed', { lease: this.opts.name, error: errorText(e) });
      }
      if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
        this.opts.log.warn('lost leadership: could not renew in time', { lease: this.opts.name });
        this.setLeading(false);
      }
      await sleep(this.retryMs, this.abort.signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const now = new Date();
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (apiStatus(e) !== 404) throw e;
      await this.api.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 } },
      });
      this.renewed();
      return;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${String(spec.renewTime)}`;
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = Date.now();
      if (holder !== this.observedHolder) {
        this.observedHolder = holder;
        if (holder) this.opts.onNewLeader?.(holder);
      }
    }
    const duration = (spec.leaseDurationSeconds ?? this.leaseSeconds) * 1000;
    const expired = holder === '' || Date.now() - this.observedAt > duration;
    if (holder !== identity && !expired) {
      if (this.leading) this.setLeading(false);
      return;
    }
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: this.leaseSeconds,
          acquireTime: holder === identity ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: transitions,
        },
      },
    });
    this.renewed();
  }

  private renewed(): void {
    this.lastRenew = Date.now();
    if (!this.leading) this.setLeading(true);
  }

  private setLeading(v: boolean): void {
    this.leading = v;
    this.opts.log.info(v ? 'became leader' : 'stopped leading', { lease: this.opts.name, identity: this.opts.identity });
    if (v) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const lease = await this.api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: { metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion }, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } },
    });
  }
}
