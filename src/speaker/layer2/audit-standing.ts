// Announcement audit, the owner's side (issue 16.2; pure: time passed in, actions returned). The
// peers' auditors tell this node in their heartbeats when it failed their audit (audit-judge.ts):
//   contested  it answers, and so does another speaker of ours: re-announce (a gratuitous burst
//              re-points the LAN's caches at us), once per accusation;
//   silent     its answers do not reach the wire: re-announce first; if the accusation still
//              stands confirmMs later (the auditor re-probes retryMs after a failed round), the
//              node counts as not layer-2 ready (NO_LAYER2 in its heartbeats: every speaker's
//              election passes it over, consistently) until no auditor has accused it for holdMs.
// Withdrawing again within flapWindowMs of the last withdrawal doubles the hold (up to
// maxHoldMs): a node whose wire stays broken is tried again ever more rarely.

export interface AuditStandingOptions {
  confirmMs: number;
  holdMs: number;
  maxHoldMs: number;
  flapWindowMs: number;
}

export const DEFAULT_AUDIT_STANDING: AuditStandingOptions = { confirmMs: 2000, holdMs: 10_000, maxHoldMs: 300_000, flapWindowMs: 600_000 };

export type StandingAction = 'reannounce' | 'withdraw' | 'return';

export interface Accusation {
  silent: boolean;
  contested: boolean;
}

export class AuditStanding {
  private isReady = true;
  private silentSince?: number;
  private contested = false;
  /** While withdrawn: since when no auditor accuses us. */
  private clearSince?: number;
  private lastWithdrawAt = -Infinity;
  private hold: number;

  constructor(private readonly opts: AuditStandingOptions = DEFAULT_AUDIT_STANDING) {
    this.hold = opts.holdMs;
  }

  get ready(): boolean {
    return this.isReady;
  }

  get currentHoldMs(): number {
    return this.hold;
  }

  /** The accusations now (whenever they change); then tick() at nextDueAt(). */
  observe(a: Accusation, now: number): StandingAction[] {
    const out: StandingAction[] = [];
    if (a.silent && this.silentSince === undefined) {
      this.silentSince = now;
      if (this.isReady) out.push('reannounce');
    } else if (!a.silent) {
      this.silentSince = undefined;
    }
    if (a.contested && !this.contested && this.isReady && !out.includes('reannounce')) out.push('reannounce');
    this.contested = a.contested;
    if (!this.isReady) this.clearSince = a.silent || a.contested ? undefined : (this.clearSince ?? now);
    return [...out, ...this.tick(now)];
  }

  /** Earliest time tick() may act. */
  nextDueAt(): number {
    if (this.isReady) return this.silentSince === undefined ? Infinity : this.silentSince + this.opts.confirmMs;
    return this.clearSince === undefined ? Infinity : this.clearSince + this.hold;
  }

  tick(now: number): StandingAction[] {
    if (this.isReady) {
      if (this.silentSince === undefined || now - this.silentSince < this.opts.confirmMs) return [];
      this.isReady = false;
      this.hold = now - this.lastWithdrawAt <= this.opts.flapWindowMs ? Math.min(this.hold * 2, this.opts.maxHoldMs) : this.opts.holdMs;
      this.lastWithdrawAt = now;
      this.clearSince = undefined;
      return ['withdraw'];
    }
    if (this.clearSince === undefined || now - this.clearSince < this.hold) return [];
    this.isReady = true;
    this.silentSince = undefined;
    this.clearSince = undefined;
    return ['return'];
  }
}
