// The reconciler's queue of Service keys, in the manner of client-go's workqueue: several keys are
// worked on at once but never one key twice at a time (a key added while it is being worked on
// runs again when that work ends), delayed adds with one timer per name, and a per-key backoff for
// retries. Split from reconciler.ts, which keeps what is done for a key; nothing here knows
// Services, leadership or the API.
import { Backoff, type BackoffOptions } from '../util/backoff';
import type { Clock, TimerHandle } from '../util/clock';

export interface WorkQueueOptions {
  clock: Clock;
  /** Keys worked on at once, at most. */
  concurrency: number;
  /** The backoff of addRateLimited, per key. */
  retry: BackoffOptions;
  /** Called for every key added; false drops it (e.g. while not leading). */
  admit(key: string): boolean;
  /** Checked before each key is taken from the queue; false leaves the rest queued. */
  running(): boolean;
  /** Works on one key; returns the work to wait for, if any, before the key may run again. */
  work(key: string): Promise<void> | undefined;
}

export class WorkQueue {
  private readonly queue = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly requeueAfterWork = new Set<string>();
  private readonly timers = new Map<string, TimerHandle>();
  private readonly backoffs = new Map<string, Backoff>();
  private drainScheduled = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  /** Nothing queued, in flight or about to be drained. */
  get idle(): boolean {
    return this.queue.size === 0 && this.inFlight.size === 0 && !this.drainScheduled;
  }

  /** Keys queued or in flight. */
  get busy(): boolean {
    return this.queue.size + this.inFlight.size > 0;
  }

  /** The key is being worked on now. */
  working(key: string): boolean {
    return this.inFlight.has(key);
  }

  add(key: string): void {
    if (!this.opts.admit(key)) return;
    if (this.inFlight.has(key)) {
      this.requeueAfterWork.add(key);
      return;
    }
    this.queue.add(key);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => {
        this.drainScheduled = false;
        this.drain();
      });
    }
  }

  addAfter(key: string, ms: number): void {
    this.later(key, ms, () => this.add(key));
  }

  /** Adds the key after its next backoff delay, which is returned; forget() starts the backoff over. */
  addRateLimited(key: string): number {
    let backoff = this.backoffs.get(key);
    if (!backoff) {
      backoff = new Backoff(this.opts.retry);
      this.backoffs.set(key, backoff);
    }
    const delay = backoff.next();
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.backoffs.delete(key);
  }

  /** Runs `fn` after `ms`, once per name (a later call replaces the earlier timer). */
  later(name: string, ms: number, fn: () => void): void {
    this.opts.clock.clearTimeout(this.timers.get(name));
    this.timers.set(
      name,
      this.opts.clock.setTimeout(() => {
        this.timers.delete(name);
        fn();
      }, ms),
    );
  }

  /** Drops what is queued and every timer; work in flight runs to its end (backoffs are kept). */
  clear(): void {
    this.queue.clear();
    this.requeueAfterWork.clear();
    for (const t of this.timers.values()) this.opts.clock.clearTimeout(t);
    this.timers.clear();
  }

  private drain(): void {
    for (const key of this.queue) {
      if (!this.opts.running() || this.inFlight.size >= this.opts.concurrency) return;
      this.queue.delete(key);
      const work = this.opts.work(key);
      if (!work) continue;
      this.inFlight.add(key);
      void work.finally(() => {
        this.inFlight.delete(key);
        if (this.requeueAfterWork.delete(key)) this.add(key);
        if (this.queue.size > 0) this.drain();
      });
    }
  }
}
