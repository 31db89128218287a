// Whether the responder worker still makes progress (pure: beats and time are arguments).
//
// The worker bumps a shared counter on every pass of its poll loop, which passes at least every
// MAX_POLL_WAIT_MS (100 ms) even when no frame arrives. The main thread samples it; a counter
// that has not moved for `timeoutMs` of the main thread's own time means the worker is stuck (an
// endless loop, a blocked call). Judged on change, not on timestamps across threads: a main
// thread that was itself stalled sees the counter moved when it resumes, and never blames the
// worker for its own delay.
import { MAX_POLL_WAIT_MS } from './responder-messages';

/**
 * Five missed beats. With the 100 ms check of the Responder, a stuck worker is found within
 * 0.6 s, which leaves the peers' NO_LAYER2 takeover (~0.1 s) inside the 1 s budget; and a busy
 * but healthy worker, which beats every slice (50 ms) of its loop, never gets near it.
 */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 5 * MAX_POLL_WAIT_MS;

export class WorkerLiveness {
  private lastBeats = 0;
  private lastMoveAt = 0;

  constructor(readonly timeoutMs: number = DEFAULT_LIVENESS_TIMEOUT_MS) {}

  /** Starts watching afresh (a new worker, whose counter starts at `beats`) at `now`. */
  reset(now: number, beats = 0): void {
    this.lastBeats = beats;
    this.lastMoveAt = now;
  }

  /** Records a sample; true while the worker counts as making progress. */
  observe(beats: number, now: number): boolean {
    if (beats !== this.lastBeats) {
      this.lastBeats = beats;
      this.lastMoveAt = now;
      return true;
    }
    return now - this.lastMoveAt <= this.timeoutMs;
  }

  /** How long the counter has stood still, as of `now`. */
  stillFor(now: number): number {
    return Math.max(0, now - this.lastMoveAt);
  }
}
