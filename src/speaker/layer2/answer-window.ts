// How long the answer thread may go on answering after the main loop last told it to (pure).
//
// The answer thread (native/src/answer_thread.c) answers ARP and NDP without the main loop, so a
// stalled main loop does not delay an answer. But a *wedged* main loop stops this node's
// heartbeats (once the ones signed ahead are used up) or its Lease renewals, and its peers then
// take its addresses over: from then on the thread must be silent, or two nodes answer for one
// address. The main loop therefore extends the thread's deadline on a timer
// (NativeResponderHost), and the deadline is the earliest time a peer can take over, counted from
// the last extension:
//   heartbeats: the main loop's last signing tick is at most one interval before its last
//   extension; the heartbeats it signed go out for `sendAhead` more (rounded up to intervals,
//   as heartbeat-membership.ts does), and a peer declares us dead no sooner than `floor`
//   intervals after the last one it received (heartbeat-view.ts: minDeadIntervals when
//   adaptive, deadIntervals otherwise). So a peer takes over no sooner than
//   (sendAhead + floor - 1 interval) after our last extension.
//   Leases only: our last renewal is at most one renew period before the last extension, and a
//   peer takes over when the Lease expires: no sooner than (duration - renew) after it.
// A main-loop stall shorter than that changes nothing; a longer one pauses the answers until the
// loop runs again, which is what the peers see as well.

export interface AnswerWindowInput {
  heartbeat?: { intervalMs: number; adaptive?: boolean; minDeadIntervals?: number; deadIntervals?: number; sendAheadMs?: number };
  leaseDurationSeconds: number;
  leaseRenewMs: number;
}

/** How long the thread answers after the main loop last ran, and how long it waits after a stall past that. */
export interface AnswerWindow {
  windowMs: number;
  resumeMs: number;
}

/** Never shorter: a keepalive timer needs a few turns of the loop inside the window. */
export const MIN_ANSWER_WINDOW_MS = 50;

export function answerWindowMs(o: AnswerWindowInput): number {
  const hb = o.heartbeat;
  if (!hb) return Math.max(MIN_ANSWER_WINDOW_MS, o.leaseDurationSeconds * 1000 - o.leaseRenewMs);
  const dead = hb.deadIntervals ?? 5;
  const floorIntervals = hb.adaptive === false ? dead : Math.min(dead, hb.minDeadIntervals ?? 2);
  const aheadIntervals = Math.ceil((hb.sendAheadMs ?? 3 * hb.intervalMs) / hb.intervalMs);
  return Math.max(MIN_ANSWER_WINDOW_MS, (aheadIntervals + floorIntervals - 1) * hb.intervalMs);
}

/** How often the main loop extends the window: four times per window, at most every 100 ms. */
export function answerKeepaliveMs(windowMs: number): number {
  return Math.max(10, Math.min(100, Math.floor(windowMs / 4)));
}

/**
 * After the main loop itself stalled past the window, how long it keeps the answers off while its
 * membership catches up: the peers' heartbeats queued meanwhile say whether they took our
 * addresses over (they stop acknowledging us), and the re-election that follows withdraws them.
 * Two heartbeat intervals (one Lease renew period without heartbeats) cover that round.
 */
export function answerResumeMs(o: AnswerWindowInput): number {
  return o.heartbeat ? 2 * o.heartbeat.intervalMs : o.leaseRenewMs;
}

/**
 * The main loop's side of the window: run `tick(now)` on a timer every answerKeepaliveMs. It extends
 * the thread's window each time, except after a tick that came later than the window itself (the
 * loop was stalled that long, so the window closed and peers may have taken over): then it waits
 * `resumeMs` of running loop before extending again.
 */
export class AnswerKeepalive {
  private lastTick: number;
  private resumeAt = -Infinity;

  constructor(
    private readonly opts: AnswerWindow & { extend: (windowMs: number) => void },
    now: number,
  ) {
    this.lastTick = now;
    opts.extend(opts.windowMs);
  }

  tick(now: number): void {
    if (now - this.lastTick > this.opts.windowMs) this.resumeAt = now + this.opts.resumeMs;
    this.lastTick = now;
    if (now >= this.resumeAt) this.opts.extend(this.opts.windowMs);
  }
}
