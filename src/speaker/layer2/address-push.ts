// Hands the layer-2 speaker's owned-address sets to the responder worker one at a time. Each set
// is the full set (Responder.setAddresses replaces, it does not add), so a set still waiting while
// an earlier one is in flight is superseded by the next: only the newest is sent. Without this,
// a watch burst of N Services queued N full sets (O(N²) addresses) on the main thread and the
// worker parsed each one, growing the worker's heap by ~9 MiB at N = 1,000 (docs/footprint.md).
//
// What coalescing keeps: an address first gained in a superseded set keeps the gain mode it was
// gained with (the worker reads `gain` only when an address is new to it, conflict-watch.ts), and
// the earliest takeover of the superseded sets is reported when the set that carries it is
// acknowledged. No set waits longer than it would have in a plain queue. Pure apart from `send`.
import type { OwnedAddress } from './responder-messages';

export interface AddressSet {
  list: OwnedAddress[];
  /** Set when this set is a takeover: when the peer loss that caused it was seen (ms). */
  takeoverLossAt?: number;
}

export interface AddressPushHooks {
  send: (list: OwnedAddress[]) => Promise<void>;
  /** A set was acknowledged by the worker (the merged set, when sets were coalesced). */
  sent?: (set: AddressSet) => void;
  failed?: (e: Error) => void;
}

/** `newer` with the gain modes `older` gave its addresses, and the earlier takeover of the two. */
export function supersede(older: AddressSet, newer: AddressSet): AddressSet {
  const gains = new Map(older.list.map((o) => [o.address, o.gain]));
  const list = newer.list.map((o) => {
    if (!gains.has(o.address)) return o;
    const gain = gains.get(o.address);
    const merged: OwnedAddress = { ...o };
    if (gain === undefined) delete merged.gain;
    else merged.gain = gain;
    return merged;
  });
  const takeovers = [older.takeoverLossAt, newer.takeoverLossAt].filter((t): t is number => t !== undefined);
  return takeovers.length > 0 ? { list, takeoverLossAt: Math.min(...takeovers) } : { list };
}

export class AddressPusher {
  private waiting?: AddressSet;
  private waiters: Array<() => void> = [];
  private inFlight = false;
  /** Sets handed to send() so far (tests, and the docs' measurement). */
  sends = 0;

  constructor(private readonly hooks: AddressPushHooks) {}

  /** Resolves once a set that includes this one (this one, or a newer that superseded it) was sent or failed. */
  push(set: AddressSet): Promise<void> {
    this.waiting = this.waiting ? supersede(this.waiting, set) : set;
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    if (!this.inFlight) void this.drain();
    return done;
  }

  /** Resolves when nothing is waiting or in flight. */
  async idle(): Promise<void> {
    while (this.inFlight || this.waiting) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    while (this.waiting) {
      const set = this.waiting;
      const waiters = this.waiters;
      this.waiting = undefined;
      this.waiters = [];
      this.sends++;
      try {
        await this.hooks.send(set.list);
        this.hooks.sent?.(set);
      } catch (e) {
        this.hooks.failed?.(e instanceof Error ? e : new Error(String(e)));
      }
      for (const w of waiters) w();
    }
    this.inFlight = false;
    const rest = this.waiters;
    this.waiters = [];
    for (const w of rest) w();
  }
}
