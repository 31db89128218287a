// Writes core/v1 Events. Callers decide *when* (on change only); this only makes the write
// cheap for repeats by bumping the count of an identical recent Event instead of adding one.
import type * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { errorText } from './api-call';
import { rest, type KubeLike } from './kube';
import type { RestClient } from './rest';
import type { Logger } from '../util/log';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  kind: string;
  apiVersion?: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export function targetOf(obj: k8s.KubernetesObject, kind: string, apiVersion = 'v1'): EventTarget {
  return {
    kind,
    apiVersion,
    namespace: obj.metadata?.namespace,
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
  };
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

const REPEAT_WINDOW_MS = 10 * 60 * 1000;
/**
 * Events are informational: they trail behind the writes that matter (status) instead of
 * competing with them, a few at a time, and a flood beyond the backlog limit is dropped.
 */
const MAX_IN_FLIGHT = 4;
export const MAX_BACKLOG = 10_000;

/** An Event waits at most this long behind status writes before one is let through anyway. */
const MAX_WAIT_MS = 2000;
/**
 * While held back, starved Events trickle at most one per this interval: during a long burst the
 * oldest one is always starved, and letting them through back to back (one in flight, always)
 * made Event writes compete with the status writes they are meant to trail.
 */
const HELD_BACK_GAP_MS = 250;

interface Pending {
  at: number;
  target: EventTarget;
  type: EventType;
  reason: string;
  message: string;
}

const eventsPath = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;

export class EventRecorder {
  private readonly api: RestClient;
  private readonly recent = new Map<string, Recent>();
  private readonly backlog: Pending[] = [];
  private inFlight = 0;
  private lastHeldBackAt = -Infinity;
  private retry?: NodeJS.Timeout;
  /** Events dropped because the backlog was full, since start. */
  dropped = 0;
  /** Dropping now: warned once, until the backlog has room again. */
  private dropping = false;

  /** Called for each Event dropped because the backlog was full (the controller counts it in a metric). */
  onDropped: () => void = () => undefined;

  /**
   * How many Event writes may run now. The controller lowers it to 0 while status writes are
   * queued, so that a burst of allocations is not slowed by its own Events (they follow it).
   */
  concurrency: () => number = () => MAX_IN_FLIGHT;

  constructor(
    kc: KubeLike,
    private readonly component: string,
    private readonly host: string | undefined,
    private readonly log: Logger,
  ) {
    this.api = rest(kc);
  }

  /** Fire and forget: an Event that cannot be written is logged, never fatal. */
  emit(target: EventTarget, type: EventType, reason: string, message: string): void {
    if (this.backlog.length >= MAX_BACKLOG) {
      this.dropped++;
      this.onDropped();
      if (!this.dropping) this.log.warn('Event backlog full: Events are dropped until it drains', { backlog: MAX_BACKLOG, reason, object: `${target.namespace ?? ''}/${target.name}` });
      this.dropping = true;
      return;
    }
    if (this.dropping) this.log.warn('Event backlog has room again', { droppedSinceStart: this.dropped });
    this.dropping = false;
    this.backlog.push({ at: Date.now(), target, type, reason, message });
    this.pump();
  }

  /** Resolves when every queued Event has been written (or has failed). */
  async flush(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.backlog.length > 0 || this.inFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private pump(): void {
    while (this.backlog.length > 0 && this.inFlight < this.limit()) {
      const e = this.backlog.shift() as Pending;
      this.inFlight++;
      void this.write(e.target, e.type, e.reason, e.message)
        .catch((err) => this.log.warn('could not write event', { reason: e.reason, object: `${e.target.namespace ?? ''}/${e.target.name}`, error: errorText(err) }))
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
    // Held back while status writes run: look again soon, the limit rises without anyone calling emit().
    if (this.backlog.length > 0 && this.inFlight === 0 && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.pump();
      }, 20);
      this.retry.unref();
    }
  }

  /** The caller's limit, but never a starved backlog: the oldest Event waits at most MAX_WAIT_MS. */
  private limit(): number {
    const wanted = this.concurrency();
    if (wanted > 0) return wanted;
    const now = Date.now();
    if (this.backlog.length === 0 || now - this.backlog[0].at <= MAX_WAIT_MS || now - this.lastHeldBackAt < HELD_BACK_GAP_MS) return 0;
    this.lastHeldBackAt = now;
    return 1;
  }

  private async write(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = target.namespace ?? 'default';
    const key = `${target.uid ?? target.name}|${type}|${reason}|${message}`;
    const now = new Date();
    const prev = this.recent.get(key);
    if (prev && Date.now() - prev.at < REPEAT_WINDOW_MS) {
      prev.count++;
      prev.at = Date.now();
      try {
        await this.api.patch(`${eventsPath(prev.namespace)}/${encodeURIComponent(prev.name)}`, { count: prev.count, lastTimestamp: now });
        return;
      } catch {
        this.recent.delete(key); // expired or deleted: write a fresh one
      }
    }
    const name = `${target.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
    const body: k8s.CoreV1Event = {
      metadata: { name, namespace },
      involvedObject: {
        kind: target.kind,
        apiVersion: target.apiVersion,
        namespace: target.namespace,
        name: target.name,
        uid: target.uid,
        resourceVersion: target.resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component, host: this.host },
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
    await this.api.create(eventsPath(namespace), body);
    this.recent.set(key, { name, namespace, count: 1, at: Date.now() });
    if (this.recent.size > 5000) this.recent.clear();
  }
}
