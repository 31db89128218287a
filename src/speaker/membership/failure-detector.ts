// Adaptive failure detection for the heartbeats (pure: no clock is read here, every time is an
// argument, on the monotonic scale of the caller).
//
// A fixed "dead after N missed intervals" must be set for the worst jitter any peer ever shows, so
// it is slow for every peer. Instead each peer's own recent gaps decide how long a silence is
// still normal for it:
//
//   deadline = clamp(longest of its last `window` gaps + margin, floor, ceiling)
//
// A peer whose heartbeats arrive steadily is declared dead after about one interval + margin; one
// that was recently late (a jittery path, a host that stalls) after its worst recent gap + margin;
// never earlier than `floor` and never later than `ceiling` (the old fixed rule: no peer, and no
// on-path attacker delaying its packets, can push detection past it). With fewer than
// `minSamples` gaps the ceiling applies: a peer is only judged fast once we know its rhythm.
//
// Why the longest gap and not mean + k·σ (tried first, measured in docs/failover.md): the gaps are
// not one bell curve. Besides the periodic heartbeats a speaker sends extra ones at once on every
// state change (a peer joined, a flag changed); those short gaps inflated σ, so a steady peer got
// ~300 ms instead of ~200 ms after every restart in the cluster. Only long gaps predict a false
// alarm, so the detector remembers the longest one; it is also simple to check by hand.
//
// Samples are only authentic, in-order heartbeats (the caller drops replays and forgeries before
// they get here); a gap longer than the ceiling is a death and return, not rhythm, and is skipped;
// so is a gap that spans a stall of our own (see StallClock), which measures us, not the peer.

export interface DetectorOptions {
  /** Never declare a peer dead after less silence than this (ms). */
  floorMs: number;
  /** Always declare it dead after this much silence (ms): the fixed rule of before. */
  ceilingMs: number;
  /** Silence tolerated beyond the longest recent gap (ms): what the window has not seen yet. */
  marginMs: number;
  /** Gaps needed before the adaptive deadline replaces the ceiling. */
  minSamples: number;
  /** Gaps remembered per peer. */
  window: number;
}

/** The deadline for a peer with these gaps (ms of silence after which it is dead). */
export function adaptiveDeadline(gaps: readonly number[], o: DetectorOptions): number {
  if (gaps.length < o.minSamples) return o.ceilingMs;
  let longest = 0;
  for (const g of gaps) longest = Math.max(longest, g);
  return Math.min(o.ceilingMs, Math.max(o.floorMs, longest + o.marginMs));
}

/** One peer's arrival history: the last `window` gaps and when it was last heard. */
export class ArrivalWindow {
  private readonly gaps: number[] = [];
  private next = 0;
  private lastArrival?: number;
  private cached?: number;

  constructor(private readonly o: DetectorOptions) {}

  /**
   * An authentic heartbeat arrived at `at`. `blindSince`: the end of our own last stall; a gap
   * that began before it spanned that stall and is not a sample of the peer's rhythm.
   */
  arrived(at: number, blindSince = -Infinity): void {
    const prev = this.lastArrival;
    this.lastArrival = Math.max(at, prev ?? at);
    if (prev === undefined || at < prev) return;
    const gap = at - prev;
    if (gap > this.o.ceilingMs || prev < blindSince) return;
    if (this.gaps.length < this.o.window) this.gaps.push(gap);
    else this.gaps[this.next] = gap;
    this.next = (this.next + 1) % this.o.window;
    this.cached = undefined;
  }

  /** Forget the rhythm (a new incarnation: a restarted process, maybe on other hardware). */
  reset(): void {
    this.gaps.length = 0;
    this.next = 0;
    this.lastArrival = undefined;
    this.cached = undefined;
  }

  deadlineMs(): number {
    this.cached ??= adaptiveDeadline(this.gaps, this.o);
    return this.cached;
  }

  get samples(): number {
    return this.gaps.length;
  }
}

/**
 * Stalls of our own loop. If we did not look for longer than `stallMs` (our process or main
 * loop was stopped, the machine swapped), the silence we then see from the peers is partly our
 * own: their heartbeats may be queued behind us, unread. blind() says how much of the gap to
 * forgive (the part beyond one expected look period); the caller moves the peers' last-heard
 * times forward by it, so a stall of ours never kills a peer, and a peer that did die meanwhile
 * is found at most that much later.
 */
export class StallClock {
  private lastLook?: number;
  /** The end of our last stall (for ArrivalWindow.arrived). */
  stalledUntil = -Infinity;

  constructor(
    private readonly lookPeriodMs: number,
    private readonly stallMs: number,
  ) {}

  /** We are looking now; returns the ms of the gap since the last look to forgive (0 if none). */
  look(now: number): number {
    const prev = this.lastLook;
    this.lastLook = Math.max(now, prev ?? now);
    if (prev === undefined || now - prev <= this.stallMs) return 0;
    this.stalledUntil = now;
    return now - prev - this.lookPeriodMs;
  }
}
