// Announcement audit, the auditor's decisions (issue 16.2; pure: time and randomness are passed
// in, the shell sends the probes). For each address some peer announces, the next node in that
// address's election order (its auditor) sends one conflict-free probe (ARP probe with sender
// 0.0.0.0 / DAD NS from ::) every intervalMs (jittered) and expects exactly one answer, from the
// owner's MAC:
//   ok        the owner's MAC answered (foreign MACs are feature 1's AddressConflict, not ours);
//   silent    nobody of ours answered: the owner's announcements do not reach the wire;
//   wrongMac  only other speakers of ours answered (the owner did not);
//   extraMac  the owner answered and so did another of our speakers.
// A failed round is retried after retryMs; failuresToVerdict failed rounds in a row make a
// verdict against the owner, which stands until a round passes or the pairing ends. No address is
// probed within settleMs of its pairing (owner, auditor) starting: a handover's old owner answers
// quietly for DEFAULT_HANDOVER_GRACE_MS, and a first announcement is probed by feature 1 first.
// At most maxProbesPerSecond probes leave per auditor: more addresses stretch the interval.
import { DEFAULT_HANDOVER_GRACE_MS } from './handover-driver';

export interface AuditTiming {
  intervalMs: number;
  /** How long answers to one probe are collected. */
  replyWaitMs: number;
  /** Next probe after a failed round. */
  retryMs: number;
  failuresToVerdict: number;
  /** No probe of a pairing younger than this. */
  settleMs: number;
  maxProbesPerSecond: number;
}

export const DEFAULT_AUDIT_TIMING: AuditTiming = {
  intervalMs: 2000,
  replyWaitMs: 300,
  retryMs: 500,
  failuresToVerdict: 2,
  settleMs: DEFAULT_HANDOVER_GRACE_MS + 1000,
  maxProbesPerSecond: 20,
};

export type AuditOutcome = 'ok' | 'silent' | 'wrongMac' | 'extraMac';

/** An address this node audits: its owner and the owner's MACs (macKey form). */
export interface AuditTarget {
  address: string;
  owner: string;
  ownerMacs: readonly string[];
}

/**
 * One round's outcome from the MACs that answered (macKey form). `ours`: every speaker's MACs;
 * an answer from any other MAC is ignored here.
 */
export function classify(heard: readonly string[], ownerMacs: readonly string[], ours: ReadonlySet<string>): AuditOutcome {
  const owner = new Set(ownerMacs);
  const fromOwner = heard.some((m) => owner.has(m));
  const otherOurs = heard.some((m) => !owner.has(m) && ours.has(m));
  if (!fromOwner) return otherOurs ? 'wrongMac' : 'silent';
  return otherOurs ? 'extraMac' : 'ok';
}

export interface AuditChange {
  address: string;
  owner: string;
  /** The standing verdict now (undefined: none), and before. */
  verdict?: AuditOutcome;
  previous?: AuditOutcome;
  /** This round's outcome. */
  outcome: AuditOutcome;
}

interface Entry {
  target: AuditTarget;
  nextAt: number;
  inFlight: boolean;
  failures: number;
  verdict?: Exclude<AuditOutcome, 'ok'>;
}

export class AuditJudge {
  private readonly entries = new Map<string, Entry>();
  private nextSlot = -Infinity;

  /** rand: uniform in [0, 1), for the jitter (±20 % of the interval). */
  constructor(
    private readonly timing: AuditTiming = DEFAULT_AUDIT_TIMING,
    private readonly rand: () => number = Math.random,
  ) {}

  /** The addresses to audit now. A new address or a new owner starts a pairing (settleMs). */
  setTargets(targets: readonly AuditTarget[], now: number): void {
    const seen = new Set<string>();
    for (const t of targets) {
      seen.add(t.address);
      const e = this.entries.get(t.address);
      if (e && e.target.owner === t.owner) {
        e.target = t;
        continue;
      }
      this.entries.set(t.address, { target: t, nextAt: now + this.timing.settleMs + this.jitter(), inFlight: false, failures: 0 });
    }
    for (const a of [...this.entries.keys()]) if (!seen.has(a)) this.entries.delete(a);
  }

  /** The owner currently audited for `address`. */
  target(address: string): AuditTarget | undefined {
    return this.entries.get(address)?.target;
  }

  /** Addresses whose probe goes out now (rate-limited; each is in flight until result()). */
  due(now: number): string[] {
    const out: string[] = [];
    const gap = 1000 / this.timing.maxProbesPerSecond;
    for (const [address, e] of this.entries) {
      if (e.inFlight || e.nextAt > now) continue;
      const slot = Math.max(now, this.nextSlot + gap);
      if (slot > now) {
        e.nextAt = slot;
        continue;
      }
      this.nextSlot = slot;
      e.inFlight = true;
      out.push(address);
    }
    return out;
  }

  nextDueAt(): number {
    let t = Infinity;
    for (const e of this.entries.values()) if (!e.inFlight && e.nextAt < t) t = e.nextAt;
    return t;
  }

  /** The answers to the probe of `address` (undefined if it is no longer audited). */
  result(address: string, heard: readonly string[], ours: ReadonlySet<string>, now: number): AuditChange | undefined {
    const e = this.entries.get(address);
    if (!e || !e.inFlight) return undefined;
    e.inFlight = false;
    const outcome = classify(heard, e.target.ownerMacs, ours);
    const previous = e.verdict;
    if (outcome === 'ok') {
      e.failures = 0;
      e.verdict = undefined;
      e.nextAt = now + this.timing.intervalMs + this.jitter();
    } else {
      e.failures++;
      if (e.failures >= this.timing.failuresToVerdict) e.verdict = outcome;
      e.nextAt = now + this.timing.retryMs;
    }
    return { address, owner: e.target.owner, verdict: e.verdict, previous, outcome };
  }

  /** The probe of `address` could not be sent or read (our own responder is being replaced): no
   * round, retried after retryMs. */
  skip(address: string, now: number): void {
    const e = this.entries.get(address);
    if (!e || !e.inFlight) return;
    e.inFlight = false;
    e.nextAt = now + this.timing.retryMs;
  }

  /** Addresses with a standing verdict. */
  failing(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.verdict) n++;
    return n;
  }

  /** Owners with a standing verdict: silent (silent or wrongMac: they do not answer) and
   * contested (extraMac: they answer, so does another of ours). */
  accused(): { silent: Set<string>; contested: Set<string> } {
    const silent = new Set<string>();
    const contested = new Set<string>();
    for (const e of this.entries.values()) {
      if (e.verdict === 'extraMac') contested.add(e.target.owner);
      else if (e.verdict) silent.add(e.target.owner);
    }
    return { silent, contested };
  }

  private jitter(): number {
    return Math.round((this.rand() - 0.5) * 0.4 * this.timing.intervalMs);
  }
}
