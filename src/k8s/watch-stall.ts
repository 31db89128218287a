// When a watch may have been cut off without being ended. kube-apiserver force-closes a watcher that
// cannot keep up with a burst of events ("Forcing watcher close due to unresponsiveness" in its
// log, after about a second of blocked dispatch), and v1.20 (the version tested against) then
// stops sending on the HTTP response without ending it: the client keeps a healthy-looking,
// silent watch until its own timeout, 5-10 minutes later (seen: a controller and a bench watch
// that missed the last ~600 of 2,000 Service updates; reproduced by pausing a reader during 1,500
// creates). Such a close only happens in a burst, when the server's buffer for this watch was full.
// So a watch that goes silent right after a burst is restarted from its last resourceVersion:
// nothing is lost either way (the server replays from there, or answers 410 and the informer
// relists), and it costs one request per burst. Pure: the caller passes the time.

export interface WatchStallOptions {
  /** This many events within `windowMs` make a burst. */
  burstEvents: number;
  windowMs: number;
  /** Silence after a burst for this long restarts the watch. */
  quietMs: number;
}

/**
 * 20 events within a second: a forced close needs the server's per-watch buffer and both TCP
 * buffers full, hundreds of KiB, which 20 objects of ~10-20 KiB (Nodes, large Services) already
 * fill; below that rate nothing piles up. 5 s of silence after that: far longer than the gaps
 * inside a burst (milliseconds), short against the 5-10 minutes the watch would otherwise hang.
 */
export const DEFAULT_WATCH_STALL: WatchStallOptions = { burstEvents: 20, windowMs: 1000, quietMs: 5000 };

/** One per watch request: what it has seen so far. */
export class WatchStall {
  private windowStart = -Infinity;
  private inWindow = 0;
  private burst = false;
  private lastEventAt = -Infinity;

  constructor(private readonly opts: WatchStallOptions = DEFAULT_WATCH_STALL) {}

  /** An event (or bookmark) arrived at `now`. */
  event(now: number): void {
    this.lastEventAt = now;
    if (now - this.windowStart >= this.opts.windowMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (++this.inWindow >= this.opts.burstEvents) this.burst = true;
  }

  /**
   * At `now`: 'restart' when the watch has been silent for `quietMs` after a burst; otherwise the
   * time (ms from now) at which to ask again, or undefined when no burst has been seen (nothing to
   * watch for until an event arrives).
   */
  check(now: number): 'restart' | number | undefined {
    if (!this.burst) return undefined;
    const silent = now - this.lastEventAt;
    return silent >= this.opts.quietMs ? 'restart' : this.opts.quietMs - silent;
  }
}
