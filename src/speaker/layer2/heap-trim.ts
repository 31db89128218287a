// When the responder worker asks V8 to collect its old generation and give the pages back (pure;
// the worker calls the addon's lowMemoryNotification when this says so).
//
// Why: objects that outlive two young-generation collections during a burst of commands (address
// sets, audit probes) are promoted and then die. V8 collects the old generation only when it
// reaches its limit, which for a Worker with the default heap limit is far above what the
// responder ever holds, so that garbage stayed: measured with 1,000 Services on three nodes, the
// worker's heap stayed at 11–14 MiB committed for minutes after the burst, against ~5 MiB live
// (docs/footprint.md). A full collection of such a heap pauses the worker for ~10 ms, so it is
// done only after the heap grew by `growthBytes` since the last one and then stopped growing
// (between two looks: the burst is over), and at most every `minIntervalMs`. In a steady state
// that promotes nothing it is done once after a burst.

export interface HeapTrimOptions {
  /** Committed heap growth since the last trim (or the start) that is worth a collection. */
  growthBytes: number;
  minIntervalMs: number;
}

export const DEFAULT_HEAP_TRIM: HeapTrimOptions = { growthBytes: 3 << 20, minIntervalMs: 10_000 };

export class HeapTrim {
  private baseline?: number;
  private previous?: number;
  private lastTrimAt = -Infinity;

  constructor(private readonly opts: HeapTrimOptions = DEFAULT_HEAP_TRIM) {}

  /** Whether to collect now, given the committed heap (bytes). The first call sets the baseline. */
  due(now: number, committed: number): boolean {
    const previous = this.previous;
    this.previous = committed;
    if (this.baseline === undefined || committed < this.baseline) {
      // At the start, or V8 gave memory back by itself: measure growth from here.
      this.baseline = committed;
      return false;
    }
    const settled = previous !== undefined && committed <= previous;
    return settled && committed - this.baseline >= this.opts.growthBytes && now - this.lastTrimAt >= this.opts.minIntervalMs;
  }

  /** A collection was done; `committed` is what it left. */
  trimmed(now: number, committed: number): void {
    this.baseline = committed;
    this.previous = committed;
    this.lastTrimAt = now;
  }
}
