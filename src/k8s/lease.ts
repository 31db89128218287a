// coordination.k8s.io Leases: leader election for the controller replicas and liveness
// heartbeats for speakers. Expiry is judged by when *we* last saw the record change
// (client-go's approach), so clock skew between nodes does not matter.
//
// The leader fences itself: it may write only until renewDeadline after it *sent* its last
// successful renewal, and steps down at that moment on a timer, whatever its API calls are doing
// (a renewal stuck on a black-holed connection cannot keep it leading). A standby acquires no
// earlier than the Lease duration after it saw that renewal, which it saw after it was sent; with
// renewDeadline < duration, the old leader has stopped (and aborted its in-flight writes) before
// any standby can start. Every call here has a deadline too.
import { setMaxListeners } from 'node:events';
import type * as k8s from '@kubernetes/client-node';
import { apiStatus, errorText, withDeadline } from './api-call';
import { rest, type KubeLike } from './kube';
import { systemClock, type Clock, type TimerHandle } from '../util/clock';
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

/** The three Lease calls the elector makes; `signal` aborts the call. */
export interface LeaseApi {
  read(namespace: string, name: string, signal: AbortSignal): Promise<k8s.V1Lease>;
  create(namespace: string, body: k8s.V1Lease, signal: AbortSignal): Promise<k8s.V1Lease>;
  replace(namespace: string, name: string, body: k8s.V1Lease, signal: AbortSignal): Promise<k8s.V1Lease>;
}

export function leaseApiFor(kc: KubeLike): LeaseApi {
  const api = rest(kc);
  const leases = (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  return {
    read: (namespace, name, signal) => api.get<k8s.V1Lease>(`${leases(namespace)}/${encodeURIComponent(name)}`, { signal }),
    create: (namespace, body, signal) => api.create<k8s.V1Lease>(leases(namespace), body, { signal }),
    replace: (namespace, name, body, signal) => api.replace<k8s.V1Lease>(`${leases(namespace)}/${encodeURIComponent(name)}`, body, { signal }),
  };
}

export interface LeaderElectorOptions {
  kc?: KubeLike;
  /** Instead of kc (tests). */
  api?: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number; // default 3
  retryPeriodMs?: number; // default 500
  renewDeadlineMs?: number; // default 2000; must be shorter than the Lease duration
  clock?: Clock;
  log: Logger;
  /**
   * `resumed`: the Lease still named this replica when it renewed it, so no other replica led
   * since its last term (it stepped down at its deadline and took its own Lease back).
   */
  onStartedLeading: (info: { resumed: boolean }) => void;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
}

export class LeaderElector {
  private readonly api: LeaseApi;
  private readonly clock: Clock;
  private readonly leaseSeconds: number;
  private readonly retryMs: number;
  private readonly renewDeadlineMs: number;
  private stopping = new AbortController();
  private leading = false;
  private leadership?: AbortController;
  /** Monotonic time until which this replica may write (last renewal sent + renew deadline). */
  private fenceAt = 0;
  private fenceTimer?: TimerHandle;
  private loopTimer?: TimerHandle;
  private running?: Promise<void>;
  private observedKey = '';
  private observedAt = 0;
  private observedHolder = '';
  /** The Lease as this replica last wrote it (while it holds it). */
  private ownLease?: k8s.V1Lease;
  /**
   * Annotations this replica's renewals carry (the leader's state for its successor, e.g. the
   * sticky holds); taken over from the Lease when this replica acquires it from another.
   */
  private readonly annotations = new Map<string, string>();

  constructor(private readonly opts: LeaderElectorOptions) {
    if (!opts.api && !opts.kc) throw new Error('LeaderElector needs kc or api');
    this.api = opts.api ?? leaseApiFor(opts.kc as k8s.KubeConfig);
    this.clock = opts.clock ?? systemClock;
    this.leaseSeconds = opts.leaseDurationSeconds ?? 3;
    this.retryMs = opts.retryPeriodMs ?? 500;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 2000;
    if (this.renewDeadlineMs >= this.leaseSeconds * 1000) throw new Error('the renew deadline must be shorter than the Lease duration');
    if (this.retryMs >= this.renewDeadlineMs) throw new Error('the retry period must be shorter than the renew deadline');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Sets (or, with undefined, removes) an annotation written with the next renewal. */
  setAnnotation(key: string, value: string | undefined): void {
    if (value === undefined) this.annotations.delete(key);
    else this.annotations.set(key, value);
  }

  /** The annotation as this replica will write it: its own, or the previous holder's if it took the Lease over. */
  annotation(key: string): string | undefined {
    return this.annotations.get(key);
  }

  /**
   * The signal of the current leadership term while this replica may write now (it leads and
   * is within its renew deadline); undefined otherwise. The signal aborts when the term ends.
   */
  term(): AbortSignal | undefined {
    return this.leading && this.clock.now() < this.fenceAt ? this.leadership?.signal : undefined;
  }

  start(): void {
    this.stopping = new AbortController();
    this.tick();
  }

  /** Stops campaigning; a leader releases the Lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.clock.clearTimeout(this.loopTimer);
    await this.running;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((e) => this.opts.log.warn('could not release lease', { error: errorText(e) }));
    }
  }

  private tick(): void {
    if (this.stopping.signal.aborted) return;
    const sentAt = this.clock.now();
    this.running = this.tryAcquireOrRenew()
      .then(
        (renewed) => {
          if (renewed) this.renewed(sentAt, renewed.resumed);
        },
        (e) => {
          // Our own stop aborts a renewal in flight (SIGTERM): that is no failure to report.
          if (this.stopping.signal.aborted) this.opts.log.debug('lease renewal cancelled: stopping', { lease: this.opts.name });
          else this.opts.log.warn('lease update failed', { lease: this.opts.name, error: errorText(e) });
        },
      )
      .finally(() => {
        if (!this.stopping.signal.aborted) this.loopTimer = this.clock.setTimeout(() => this.tick(), this.retryMs);
      });
  }

  /** A call bounded by the fence while leading (a late renewal is worthless), by the renew deadline otherwise. */
  private call<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const budget = this.leading ? Math.max(50, this.fenceAt - this.clock.now()) : this.renewDeadlineMs;
    return withDeadline(budget, this.stopping.signal, fn, this.clock);
  }

  private async tryAcquireOrRenew(): Promise<{ resumed: boolean } | undefined> {
    const { namespace, name, identity } = this.opts;
    const now = new Date(this.clock.wallNow());
    // The holder renews with one write on top of its own last version of the Lease (half the
    // round trips of read-then-write, which matters to a busy API server); a conflict means
    // someone else wrote it: read it and judge as usual.
    const mine = this.ownLease;
    if (mine?.spec?.holderIdentity === identity) {
      try {
        this.ownLease = await this.call((s) => this.api.replace(namespace, name, this.renewal(mine, now), s));
        return { resumed: true };
      } catch (e) {
        this.ownLease = undefined;
        if (apiStatus(e) !== 409) throw e;
      }
    }
    let lease: k8s.V1Lease;
    try {
      lease = await this.call((s) => this.api.read(namespace, name, s));
    } catch (e) {
      if (apiStatus(e) !== 404) throw e;
      const spec = { holderIdentity: identity, leaseDurationSeconds: this.leaseSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      this.ownLease = await this.call((s) => this.api.create(namespace, { metadata: { name, namespace }, spec }, s));
      return { resumed: false };
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${String(spec.renewTime)}`;
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = this.clock.now();
      if (holder !== this.observedHolder) {
        this.observedHolder = holder;
        if (holder) this.opts.onNewLeader?.(holder);
      }
    }
    const duration = (spec.leaseDurationSeconds ?? this.leaseSeconds) * 1000;
    const expired = holder === '' || this.clock.now() - this.observedAt > duration;
    if (holder !== identity && !expired) {
      if (this.leading) this.setLeading(false);
      return undefined;
    }
    if (holder !== identity) {
      // Taking over: carry the previous holder's annotations, so that what it left for its
      // successor survives even if this replica fails before using it.
      this.annotations.clear();
      for (const [k, v] of Object.entries(lease.metadata?.annotations ?? {})) this.annotations.set(k, v);
    }
    this.ownLease = await this.call((s) => this.api.replace(namespace, name, this.renewal(lease, now), s));
    return { resumed: holder === identity };
  }

  /** `current` (as read, or as this replica last wrote it) taken or renewed by this replica. */
  private renewal(current: k8s.V1Lease, now: Date): k8s.V1Lease {
    const { namespace, name, identity } = this.opts;
    const spec = current.spec ?? {};
    const ours = spec.holderIdentity === identity;
    return {
      metadata: { name, namespace, resourceVersion: current.metadata?.resourceVersion, ...(this.annotations.size > 0 && { annotations: Object.fromEntries(this.annotations) }) },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseSeconds,
        acquireTime: ours ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
  }

  private renewed(sentAt: number, resumed: boolean): void {
    this.fenceAt = sentAt + this.renewDeadlineMs;
    this.armFence();
    if (!this.leading && this.clock.now() < this.fenceAt) this.setLeading(true, resumed);
  }

  private armFence(): void {
    this.clock.clearTimeout(this.fenceTimer);
    // Timers run on a millisecond loop clock and may fire a fraction early: checkFence re-arms.
    this.fenceTimer = this.clock.setTimeout(() => this.checkFence(), Math.max(0, Math.ceil(this.fenceAt - this.clock.now())));
  }

  private checkFence(): void {
    if (!this.leading) return;
    if (this.clock.now() < this.fenceAt) {
      this.armFence();
      return;
    }
    this.opts.log.warn('lost leadership: not renewed within the renew deadline; no more writes from this replica', { lease: this.opts.name, renewDeadlineMs: this.renewDeadlineMs });
    this.setLeading(false);
  }

  private setLeading(v: boolean, resumed = false): void {
    if (this.leading === v) return;
    this.leading = v;
    this.opts.log.info(v ? 'became leader' : 'stopped leading', { lease: this.opts.name, identity: this.opts.identity, ...(v ? { resumed } : {}) });
    if (v) {
      this.leadership = new AbortController();
      // Every write in flight listens to it (up to the write concurrency, 32 by default).
      setMaxListeners(0, this.leadership.signal);
      this.opts.onStartedLeading({ resumed });
    } else {
      this.clock.clearTimeout(this.fenceTimer);
      this.leadership?.abort(new Error('leadership ended'));
      this.opts.onStoppedLeading();
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const bounded = <T>(fn: (s: AbortSignal) => Promise<T>): Promise<T> => withDeadline(this.renewDeadlineMs, undefined, fn, this.clock);
    const lease = await bounded((s) => this.api.read(namespace, name, s));
    if (lease.spec?.holderIdentity !== identity) return;
    const body: k8s.V1Lease = {
      metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date(this.clock.wallNow())) },
    };
    await bounded((s) => this.api.replace(namespace, name, body, s));
    this.ownLease = undefined;
  }
}
