// The heartbeat key as the speaker reads it: the Secret re-read every `refreshMs` into the key
// ring (heartbeat-keys.ts: a new key is sent only once every speaker may have read it, the old
// one accepted a while longer), and what those reads say about the API server: reachable while
// they succeed. HeartbeatMembership (heartbeat-membership.ts) times the reads and hands the
// accepted keys to its receiver.
import type { RestClient } from '../../k8s/rest';
import type { Logger } from '../../util/log';
import { HeartbeatKeyRing } from './heartbeat-keys';
import { fetchHeartbeatKey } from './heartbeat-store';

export interface KeyRefreshOptions {
  core: RestClient;
  namespace: string;
  log: Logger;
  /** The Secret's re-read period. */
  refreshMs: number;
  /** The API server counts as unreachable after this long without a successful read (capped by 1.5 periods). */
  apiTimeoutMs?: number;
  /** Monotonic milliseconds. */
  now(): number;
}

export class HeartbeatKeyRefresh {
  readonly ring: HeartbeatKeyRing;
  private lastApiOk = -Infinity;

  constructor(private readonly opts: KeyRefreshOptions) {
    // Reads of the Secret by different speakers are at most one period apart: two periods before
    // sending with a new key, two more before the old one stops working (docs/failover.md).
    this.ring = new HeartbeatKeyRing({ sendAfterMs: 2 * opts.refreshMs, acceptForMs: 4 * opts.refreshMs });
  }

  /** A key read succeeded within 1.5 refresh periods (capped by apiTimeoutMs). Stricter than the Lease
   * layer's own health on purpose: we must freeze our Lease snapshot before that layer's view of the
   * peers starts to decay for want of updates. */
  get apiReachable(): boolean {
    const limit = Math.min(this.opts.apiTimeoutMs ?? 6000, this.opts.refreshMs * 1.5);
    return this.opts.now() - this.lastApiOk <= limit;
  }

  /** Reads the Secret (`initial`: until it can, at start-up); false when the read failed. */
  async load(initial: boolean): Promise<boolean> {
    const { core, namespace, log, refreshMs } = this.opts;
    const key = await fetchHeartbeatKey(core, namespace, log, initial);
    if (!key) return false;
    this.lastApiOk = this.opts.now();
    if (this.ring.observe(key, this.opts.now()) && !initial) {
      log.info('heartbeat key changed: accepting both keys, sending with the new one later', { sendAfterMs: 2 * refreshMs, oldKeyAcceptedForMs: 4 * refreshMs });
    }
    return true;
  }
}
