// Per-source limit on the answers the responder sends (pure: the time is an argument).
//
// The source is the hardware address the answer goes to (the ARP sender hardware address, the
// NS source link-layer address or Ethernet source): that bounds what anyone can make this node
// send to one MAC, whatever they put in the other fields, so the responder cannot be used to
// flood a victim. A token bucket per source, in a fixed table indexed by a hash of the MAC: no
// allocation per frame and bounded memory whatever the number of sources (sources that share a
// slot share its budget, which only ever limits more, never less).

export interface ReplyLimit {
  /** Sustained answers per second to one source; 0 = no limit. */
  ratePerSecond: number;
  /** Answers one source may get at once after being quiet. */
  burst: number;
}

/**
 * A host resolves each of our addresses it talks to about once per reachable time (15–45 s on
 * Linux) plus a few NUD probes: 100/s per source leaves room for a router in front of thousands
 * of Service addresses, while keeping one source's share of our replies small.
 */
export const DEFAULT_REPLY_LIMIT: ReplyLimit = { ratePerSecond: 100, burst: 200 };

const DEFAULT_SLOTS = 4096;

export class ReplyLimiter {
  private readonly tokens: Float64Array;
  private readonly stamps: Float64Array;
  private readonly mask: number;
  private limit: ReplyLimit;

  /** `slots` is rounded up to a power of two. */
  constructor(limit: ReplyLimit = DEFAULT_REPLY_LIMIT, slots = DEFAULT_SLOTS) {
    let n = 1;
    while (n < slots) n <<= 1;
    this.mask = n - 1;
    this.tokens = new Float64Array(n);
    this.stamps = new Float64Array(n).fill(-Infinity);
    this.limit = { ...limit };
  }

  /** New limits; every source starts again with a full bucket. */
  setLimit(limit: ReplyLimit): void {
    this.limit = { ...limit };
    this.stamps.fill(-Infinity);
  }

  /** Takes one answer for the MAC at `mac[at, at+6)` at `now` (ms, monotonic): false when over the limit. */
  allow(mac: Uint8Array, at: number, now: number): boolean {
    const { ratePerSecond, burst } = this.limit;
    if (!(ratePerSecond > 0)) return true;
    // FNV-1a over the six bytes.
    let h = 0x811c9dc5;
    for (let i = 0; i < 6; i++) h = Math.imul(h ^ mac[at + i], 0x01000193);
    const slot = (h ^ (h >>> 16)) & this.mask;
    const last = this.stamps[slot];
    let t = last === -Infinity ? burst : this.tokens[slot] + (Math.max(0, now - last) * ratePerSecond) / 1000;
    if (t > burst) t = burst;
    this.stamps[slot] = now;
    if (t < 1) {
      this.tokens[slot] = t;
      return false;
    }
    this.tokens[slot] = t - 1;
    return true;
  }
}
