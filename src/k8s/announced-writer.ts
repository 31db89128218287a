// Writes the speaker's ironlb.io/Announced Service conditions (decided by
// src/speaker/announced-condition.ts) on change only, and rate-limited: a failover that moves a
// thousand Services to this node costs the API server at most WRITES_PER_SECOND writes a second
// from it (after a burst of WRITE_BURST), the latest wanted condition of each Service being the
// one written. Each write is a strategic merge patch of services/status that carries only this
// condition: the API server merges status.conditions by type, so the controller's
// AddressAllocated and anybody else's conditions stay, whatever this node's cache shows.
import type * as k8s from '@kubernetes/client-node';
import { SPEAKER_FIELD_MANAGER } from '../controller/service-request';
import { announcedHolds, announcedKey } from '../speaker/announced-condition';
import type { Logger } from '../util/log';
import { errorText, isNotFound } from './api-call';
import { rest, type KubeLike } from './kube';
import { STRATEGIC_PATCH } from './rest';
import { conditionsPatch, stampCondition, type ConditionWant } from './service-conditions';

export const WRITES_PER_SECOND = 20;
export const WRITE_BURST = 50;
/** After a failed write, the Service is tried again this much later (or at its next change). */
const RETRY_MS = 5000;
/**
 * A write of ours stands in for the watch's view this long at most: far longer than a watch event
 * takes, short enough that a condition someone else changes meanwhile is written again.
 */
const WRITTEN_TRUST_MS = 10_000;

export interface AnnouncedWriterOptions {
  readonly kc: KubeLike;
  readonly log: Logger;
  /** The Service as this node's cache shows it now. */
  readonly service: (key: string) => k8s.V1Service | undefined;
  /** Decide the Service's condition again (after a failed write: what is wanted may have changed). */
  readonly recheck: (key: string) => void;
  readonly writesPerSecond?: number;
  readonly burst?: number;
  /** The write itself (tests); default: the strategic merge patch of services/status. */
  readonly patch?: (namespace: string, name: string, condition: k8s.V1Condition) => Promise<void>;
}

export class AnnouncedWriter {
  private readonly patch: NonNullable<AnnouncedWriterOptions['patch']>;
  /** Wanted conditions not written yet, by Service key (the latest one wins). */
  private readonly pending = new Map<string, ConditionWant>();
  /** What this process wrote and when, until the cache shows it. */
  private readonly written = new Map<string, { key: string; at: number }>();
  private tokens: number;
  private refilledAt = Date.now();
  private timer?: NodeJS.Timeout;
  private draining = false;
  private stopped = false;
  /** Writes done (for tests and the log). */
  writes = 0;

  constructor(private readonly opts: AnnouncedWriterOptions) {
    this.patch = opts.patch ?? apiPatch(opts.kc);
    this.tokens = opts.burst ?? WRITE_BURST;
  }

  /** The condition this node wants on the Service `key` now; undefined: none of ours. */
  want(key: string, want: ConditionWant | undefined): void {
    if (this.stopped) return;
    const svc = this.opts.service(key);
    if (!want || !svc || announcedHolds(svc, want)) {
      this.pending.delete(key);
      if (want && svc) this.written.delete(key);
      return;
    }
    const w = this.written.get(key);
    if (w && w.key === announcedKey(want) && Date.now() - w.at < WRITTEN_TRUST_MS) return; // ours, not shown yet
    this.pending.set(key, want);
    this.kick(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pending.clear();
  }

  private kick(delayMs: number): void {
    if (this.timer || this.draining || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, delayMs);
    this.timer.unref?.();
  }

  private refill(): void {
    const now = Date.now();
    const rate = this.opts.writesPerSecond ?? WRITES_PER_SECOND;
    this.tokens = Math.min(this.opts.burst ?? WRITE_BURST, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (const [key, want] of this.pending) {
        if (this.stopped) return;
        this.refill();
        if (this.tokens < 1) break;
        this.pending.delete(key);
        const svc = this.opts.service(key);
        if (!svc || announcedHolds(svc, want)) continue;
        this.tokens -= 1;
        await this.write(key, svc, want);
      }
    } finally {
      this.draining = false;
    }
    if (this.pending.size > 0) this.kick(Math.ceil(1000 / (this.opts.writesPerSecond ?? WRITES_PER_SECOND)));
  }

  private async write(key: string, svc: k8s.V1Service, want: ConditionWant): Promise<void> {
    const [namespace, name] = key.split('/', 2);
    const condition = stampCondition(svc, want, new Date());
    try {
      await this.patch(namespace, name, condition);
      this.writes++;
      this.written.set(key, { key: announcedKey(want), at: Date.now() });
      this.opts.log.debug('Announced condition written', { service: key, status: want.status, reason: want.reason });
    } catch (e) {
      if (isNotFound(e)) return;
      this.opts.log.warn('could not write the Announced condition; retrying', { service: key, error: errorText(e) });
      const retry = setTimeout(() => this.opts.recheck(key), RETRY_MS);
      retry.unref?.();
    }
  }
}

function apiPatch(kc: KubeLike): NonNullable<AnnouncedWriterOptions['patch']> {
  const client = rest(kc);
  return async (namespace, name, condition) => {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}/status`;
    await client.patch(path, { status: { conditions: conditionsPatch([condition]) } }, { query: { fieldManager: SPEAKER_FIELD_MANAGER }, contentType: STRATEGIC_PATCH });
  };
}
