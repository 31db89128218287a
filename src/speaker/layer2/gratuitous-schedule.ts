// When the responder sends gratuitous ARP / unsolicited NA frames for an owned address (pure: the
// time is an argument, nothing is sent here).
//
// A burst starts when an address is gained, re-announced, or seen on an interface that came back:
// one frame is due at once, then one every burstIntervalMs while the burst window lasts
// (MetalLB: every 1.1 s for 5 s). Outside bursts, an optional refresh sends one frame every
// refreshIntervalMs. Restarting a burst always makes a frame due at once: a neighbour that holds a
// stale MAC must hear us now, not at the next slot of a burst that was already running (or never,
// when that burst had sent its last frame but its window had not closed yet).

export interface GratuitousTiming {
  /** Gap between gratuitous frames inside a burst (MetalLB: 1.1 s). */
  burstIntervalMs: number;
  /** How long a burst lasts after it starts (MetalLB: 5 s); 0 = the first frame only. */
  burstDurationMs: number;
  /** Periodic single re-announcement outside bursts; 0 = off. */
  refreshIntervalMs: number;
}

/** Everything the responder worker times: the gratuitous schedule and its counter reports. */
export interface ResponderTiming extends GratuitousTiming {
  /** How often counters are posted to the main thread. */
  statsIntervalMs: number;
}

export const DEFAULT_TIMING: ResponderTiming = {
  burstIntervalMs: 1100,
  burstDurationMs: 5000,
  refreshIntervalMs: 60_000,
  statsIntervalMs: 1000,
};

interface Slot {
  burstUntil: number;
  nextSend: number;
  nextRefresh: number;
}

export class GratuitousSchedule<K> {
  private readonly slots = new Map<K, Slot>();
  /** Keys answered quietly (a handover, handover.ts): never a frame, not even a burst. */
  private readonly muted = new Set<K>();
  private timing: GratuitousTiming;

  constructor(timing: GratuitousTiming) {
    this.timing = { ...timing };
  }

  /** Applies to bursts and refreshes scheduled from now on. */
  setTiming(timing: GratuitousTiming): void {
    this.timing = { ...timing };
  }

  /** (Re)starts the burst of `key`: a frame is due at `now`. */
  burst(key: K, now: number): void {
    if (this.muted.has(key)) return;
    const t = this.timing;
    this.slots.set(key, {
      burstUntil: now + Math.max(0, t.burstDurationMs),
      nextSend: now,
      nextRefresh: t.refreshIntervalMs > 0 ? now + t.refreshIntervalMs : Infinity,
    });
  }

  forget(key: K): void {
    this.slots.delete(key);
    this.muted.delete(key);
  }

  /**
   * Mutes `key` (drops its schedule: no frame until unmuted) or unmutes it. True when a muted key
   * was unmuted: the caller bursts it, as the address is being announced again.
   */
  mute(key: K, quiet: boolean): boolean {
    if (quiet) {
      this.muted.add(key);
      this.slots.delete(key);
      return false;
    }
    return this.muted.delete(key);
  }

  /** Drops every key not in `keep`. */
  retain(keep: (key: K) => boolean): void {
    for (const key of [...this.slots.keys()]) if (!keep(key)) this.slots.delete(key);
    for (const key of [...this.muted]) if (!keep(key)) this.muted.delete(key);
  }

  clear(): void {
    this.slots.clear();
    this.muted.clear();
  }

  /**
   * The keys with a frame due at `now`; their schedules advance past `now`. A late caller gets
   * one frame per key, never a catch-up storm.
   */
  takeDue(now: number): K[] {
    const t = this.timing;
    const due: K[] = [];
    for (const [key, s] of this.slots) {
      let send = false;
      if (s.nextSend <= now) {
        send = true;
        let next = s.nextSend + t.burstIntervalMs;
        if (next <= now) next = now + t.burstIntervalMs;
        s.nextSend = t.burstIntervalMs > 0 && next <= s.burstUntil ? next : Infinity;
      }
      if (s.nextRefresh <= now) {
        if (now >= s.burstUntil) send = true;
        s.nextRefresh = t.refreshIntervalMs > 0 ? now + t.refreshIntervalMs : Infinity;
      }
      if (send) due.push(key);
    }
    return due;
  }

  /** The earliest time a frame is due (Infinity when none is scheduled). */
  nextDueAt(): number {
    let due = Infinity;
    for (const s of this.slots.values()) due = Math.min(due, s.nextSend, s.nextRefresh);
    return due;
  }

  /** Keys whose burst window is open at `now`. */
  announcing(now: number): number {
    let n = 0;
    for (const s of this.slots.values()) if (now < s.burstUntil) n++;
    return n;
  }
}
