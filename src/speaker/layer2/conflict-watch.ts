// Address conflict detection, the decisions (pure: time is passed in, actions are returned; the
// responder engine sends the frames and tells the main thread). Per address this node is elected
// for, or has found in conflict:
//
//   probing   gained for a first announcement: probeCount ARP probes / DAD NSs, probeIntervalMs
//             apart, then probeWaitMs of silence → owned (answered and announced). A claim from a
//             foreign MAC meanwhile → conflict: never answered nor announced.
//   owned     answered and announced. A takeover starts here and still sends one probe round (an
//             audit: the address was announced before, by one of our speakers). A foreign claim
//             (a reply to a probe, a gratuitous ARP, any ARP from the address) raises a conflict
//             and the owner defends with one announcement — at most once per defendIntervalMs
//             (RFC 5227 §2.4 (c), DEFEND_INTERVAL 10 s).
//   conflict  not answered. Every recheckMs one probe round; a round nobody answers clears it
//             (owned again if still wanted, forgotten if not). An address no longer wanted stays
//             watched until it clears, so the controller's quarantine hears when it is free.
//
// Only addresses being assigned or taken over are probed, each on its own: never a range.

export interface ConflictTiming {
  probeCount: number;
  probeIntervalMs: number;
  /** Silence after the last probe before the address counts as free. */
  probeWaitMs: number;
  /** How often an address in conflict is probed again. */
  recheckMs: number;
  /** Least time between two defences (and reports) of an owned address. */
  defendIntervalMs: number;
}

/**
 * RFC 5227 waits 1-2 s between 3 probes and 2 s after them: made for hosts that configure an
 * address once. An elected node on a LAN hears an answer in well under a millisecond, so the
 * defaults are 3 probes 100 ms apart and 200 ms of silence (a first announcement ~0.4 s later).
 */
export const DEFAULT_CONFLICT_TIMING: ConflictTiming = { probeCount: 3, probeIntervalMs: 100, probeWaitMs: 200, recheckMs: 5000, defendIntervalMs: 10_000 };

/** probe: announce only after a silent probe round; audit: announce now and probe too; none: announce now. */
export type GainMode = 'probe' | 'audit' | 'none';

export type ConflictAction =
  | { kind: 'probe'; address: string }
  | { kind: 'own'; address: string }
  | { kind: 'conflict'; address: string; mac: string; phase: 'probing' | 'announcing' }
  | { kind: 'defend'; address: string }
  | { kind: 'cleared'; address: string };

type Phase = 'probing' | 'owned' | 'conflict';

interface Entry {
  phase: Phase;
  wanted: boolean;
  /** Probes left in the current round (0: none running). */
  left: number;
  /** When the next probe goes out, or (left = 0, a round ended) when the round is judged. */
  nextAt: number;
  roundActive: boolean;
  /** A foreign claim was heard since this round started. */
  answered: boolean;
  mac?: string;
  lastDefendAt?: number;
}

export class ConflictWatch {
  private readonly entries = new Map<string, Entry>();

  constructor(private timing: ConflictTiming = DEFAULT_CONFLICT_TIMING) {}

  setTiming(t: ConflictTiming): void {
    this.timing = { ...t };
  }

  /** Answered and announced now. */
  isOwned(address: string): boolean {
    return this.entries.get(address)?.phase === 'owned';
  }

  /** Watched at all (wanted, or in conflict): claims for it matter. */
  has(address: string): boolean {
    return this.entries.has(address);
  }

  /** Addresses in conflict now, with the MAC that claimed each. */
  conflicts(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [a, e] of this.entries) if (e.phase === 'conflict') out.set(a, e.mac ?? '');
    return out;
  }

  /** This node is elected for `address` now. */
  want(address: string, mode: GainMode, now: number): ConflictAction[] {
    const e = this.entries.get(address);
    if (e) {
      e.wanted = true;
      return [];
    }
    if (mode === 'none' || this.timing.probeCount <= 0) {
      this.entries.set(address, { phase: 'owned', wanted: true, left: 0, nextAt: Infinity, roundActive: false, answered: false });
      return [{ kind: 'own', address }];
    }
    const entry: Entry = { phase: mode === 'probe' ? 'probing' : 'owned', wanted: true, left: 0, nextAt: now, roundActive: false, answered: false };
    this.entries.set(address, entry);
    const out: ConflictAction[] = mode === 'audit' ? [{ kind: 'own', address }] : [];
    this.startRound(entry, now);
    return [...out, ...this.step(address, entry, now)];
  }

  /** This node is no longer elected for `address`. One in conflict stays watched until it clears. */
  unwant(address: string): void {
    const e = this.entries.get(address);
    if (!e) return;
    if (e.phase === 'conflict') e.wanted = false;
    else this.entries.delete(address);
  }

  /** A frame from a MAC none of our speakers has claims `address`. */
  claim(address: string, mac: string, now: number): ConflictAction[] {
    const e = this.entries.get(address);
    if (!e) return [];
    if (e.roundActive) e.answered = true;
    if (e.phase === 'probing') {
      e.phase = 'conflict';
      e.mac = mac;
      e.roundActive = false;
      e.left = 0;
      e.nextAt = now + this.timing.recheckMs;
      return [{ kind: 'conflict', address, mac, phase: 'probing' }];
    }
    if (e.phase === 'conflict') {
      if (e.mac !== mac) {
        e.mac = mac;
        return [{ kind: 'conflict', address, mac, phase: 'probing' }];
      }
      return [];
    }
    // owned: report and defend, at most once per defendIntervalMs.
    if (e.lastDefendAt !== undefined && now - e.lastDefendAt < this.timing.defendIntervalMs) return [];
    e.lastDefendAt = now;
    e.mac = mac;
    return [
      { kind: 'conflict', address, mac, phase: 'announcing' },
      { kind: 'defend', address },
    ];
  }

  /** Earliest time due() has something to do. */
  nextDueAt(): number {
    let t = Infinity;
    for (const e of this.entries.values()) if (e.nextAt < t) t = e.nextAt;
    return t;
  }

  /** Probes to send and verdicts reached by `now`. */
  due(now: number): ConflictAction[] {
    const out: ConflictAction[] = [];
    for (const [address, e] of [...this.entries]) if (e.nextAt <= now) out.push(...this.step(address, e, now));
    return out;
  }

  private startRound(e: Entry, now: number): void {
    e.roundActive = true;
    e.answered = false;
    e.left = this.timing.probeCount;
    e.nextAt = now;
  }

  private step(address: string, e: Entry, now: number): ConflictAction[] {
    if (e.nextAt > now) return [];
    if (!e.roundActive) {
      // conflict: time for a recheck round
      this.startRound(e, now);
    }
    if (e.left > 0) {
      e.left--;
      e.nextAt = now + (e.left > 0 ? this.timing.probeIntervalMs : this.timing.probeWaitMs);
      return [{ kind: 'probe', address }];
    }
    // The round is over.
    e.roundActive = false;
    e.nextAt = Infinity;
    if (e.phase === 'probing') {
      e.phase = 'owned';
      return [{ kind: 'own', address }];
    }
    if (e.phase === 'owned') return []; // an audit round: a claim was handled when it came
    if (e.answered) {
      e.nextAt = now + this.timing.recheckMs;
      return [];
    }
    // conflict, and nobody answered the round: cleared.
    if (!e.wanted) {
      this.entries.delete(address);
      return [{ kind: 'cleared', address }];
    }
    e.phase = 'owned';
    e.mac = undefined;
    return [{ kind: 'cleared', address }, { kind: 'own', address }];
  }
}
