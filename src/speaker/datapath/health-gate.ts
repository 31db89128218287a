// Whether this node's data path is healthy enough to be elected (issue 16.3), from a stream of
// health-check results (pure; time passed in). Down is fast, up is slow, so that a flapping
// kube-proxy does not drag addresses back and forth:
// - `failuresToDown` consecutive failures take the node down (one lost answer is not an outage);
// - back up only after `holdMs` of uninterrupted success; each time the node goes down again
//   within `flapWindowMs` of the last time, the hold doubles (capped at `maxHoldMs`), and a quiet
//   `flapWindowMs` resets it.

export interface HealthGateOptions {
  readonly failuresToDown: number;
  readonly holdMs: number;
  readonly maxHoldMs: number;
  readonly flapWindowMs: number;
}

export const DEFAULT_HEALTH_GATE: HealthGateOptions = { failuresToDown: 2, holdMs: 2000, maxHoldMs: 30_000, flapWindowMs: 60_000 };

export class HealthGate {
  private up = true;
  private failures = 0;
  /** Since when every check succeeded (while down), or undefined. */
  private okSince?: number;
  private lastDownAt = -Infinity;
  private hold: number;

  constructor(private readonly opts: HealthGateOptions = DEFAULT_HEALTH_GATE) {
    if (opts.failuresToDown < 1) throw new Error('failuresToDown must be at least 1');
    this.hold = opts.holdMs;
  }

  get healthy(): boolean {
    return this.up;
  }

  /** The hold a recovery must wait now. */
  get currentHoldMs(): number {
    return this.hold;
  }

  /** Records one check; returns true when healthy() changed. */
  observe(ok: boolean, now: number): boolean {
    if (!ok) {
      this.okSince = undefined;
      this.failures++;
      if (!this.up || this.failures < this.opts.failuresToDown) return false;
      this.up = false;
      this.hold = now - this.lastDownAt <= this.opts.flapWindowMs ? Math.min(this.hold * 2, this.opts.maxHoldMs) : this.opts.holdMs;
      this.lastDownAt = now;
      return true;
    }
    this.failures = 0;
    if (this.up) return false;
    this.okSince ??= now;
    if (now - this.okSince < this.hold) return false;
    this.up = true;
    this.okSince = undefined;
    return true;
  }
}
