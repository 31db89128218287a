// The self-fence of a running speaker (self-fence.ts holds the rule): the API_OK flag our
// heartbeats carry and whether we withdraw, re-judged at every look; logged and counted on change.
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import { fenceApplies, fenceMarginMs, selfFenced, type FenceTimers } from './self-fence';

/** What the fence reads from the Lease layer (LeaseMembership). */
export interface FenceLease {
  apiWorking(now: number, needUpForMs: number): boolean;
  readonly lastRenewStartedAt: number | undefined;
}

export class FenceState {
  /** The API_OK flag our heartbeats carry. */
  apiOk = false;
  /** We withdraw: cut off from the API server while peers reaching it are about to drop us. */
  fenced = false;
  /** When a heard peer last said API_OK (monotonic ms). */
  private apiOkHeardAt?: number;

  constructor(
    private readonly timers: FenceTimers,
    private readonly lease: FenceLease,
    private readonly log: Logger,
    private readonly metrics?: SpeakerMetrics,
  ) {}

  /** The timers leave room for the fence (fenceApplies); otherwise it never fences. */
  get applies(): boolean {
    return fenceApplies(this.timers);
  }

  /** At `now` (monotonic ms); `apiOkPeers`: heard peers whose last heartbeat says API_OK. Returns
   * true when our API_OK flag changed (the peers must hear it at once). */
  update(now: number, running: boolean, apiOkPeers: number): boolean {
    const ok = running && this.lease.apiWorking(now, this.timers.leaseDurationMs - fenceMarginMs(this.timers));
    const flagChanged = ok !== this.apiOk;
    this.apiOk = ok;
    const lastStart = this.lease.lastRenewStartedAt;
    if (apiOkPeers > 0) this.apiOkHeardAt = now;
    const fenced = running && selfFenced({ now, timers: this.timers, lastRenewStartedAt: lastStart, apiOkHeardAt: this.apiOkHeardAt });
    if (fenced !== this.fenced) {
      this.fenced = fenced;
      if (fenced) this.log.warn('fenced: our Lease renewals do not go through while peers reach the API server; withdrawing before our Lease runs out', { lastRenewalStartedMsAgo: Math.round(now - (lastStart ?? now)), apiOkPeers });
      else this.log.info('no longer fenced');
      this.metrics?.selfFenced.set(fenced ? 1 : 0);
    }
    return flagChanged;
  }
}
