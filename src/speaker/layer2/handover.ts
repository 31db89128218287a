// Make-before-break handover of the addresses a leaving node announces (docs/maintenance.md).
// Pure: the time is an argument; the Layer2Speaker applies the result (handover-driver.ts).
//
// When this node leaves by a planned exit (drain.ts) the election gives each of its addresses to
// another node at once, and that node announces it with a gratuitous burst. This node keeps
// answering ARP/NDP requests for the address for `graceMs` more — *quietly*: no gratuitous frame
// of its own, so the new owner's burst is the last word in every client's neighbour cache — and
// only then stops. While both answer, a client that resolves gets two answers, each with a MAC
// that forwards its traffic; Linux keeps the first and the next gratuitous frame of the burst
// moves it to the new owner.
//
// Per address, on each plan():
//   elected here again (drain cancelled, or the new owner died and we are the fallback)
//                             → the handover ends 'reclaimed'; announced again, with a burst
//   still ours to hand over   → handing over until the deadline, then 'completed' (dropped)
//   neither (Service deleted, no endpoint any more, another reason to lose it)
//                             → 'aborted': dropped at once, as without a handover
import type { OwnedAddress } from './responder';

export type HandoverOutcome = 'completed' | 'reclaimed' | 'aborted';

export interface Handover {
  address: OwnedAddress;
  /** The node elected instead of this one. */
  to: string;
  since: number;
  until: number;
}

export interface HandoverEnd {
  address: string;
  to: string;
  outcome: HandoverOutcome;
  /** How long this node answered after the election moved the address. */
  durationMs: number;
}

export interface HandoverPlan {
  /** What the responder answers for: the elected addresses, plus those handed over (quiet). */
  owned: Map<string, OwnedAddress>;
  started: Handover[];
  ended: HandoverEnd[];
  /** When plan() must run again (the earliest deadline), if a handover is under way. */
  nextAt?: number;
}

export interface HandoverInput {
  /** What the election gives this node now. */
  elected: ReadonlyMap<string, OwnedAddress>;
  /** Addresses this node would announce were it not leaving → the node elected instead. */
  handingOver: ReadonlyMap<string, string>;
  /** What the responder answered for until now (as last planned). */
  previous: ReadonlyMap<string, OwnedAddress>;
  now: number;
  graceMs: number;
}

export class HandoverKeeper {
  private readonly active = new Map<string, Handover>();

  /** The handovers under way, by address. */
  get underway(): ReadonlyMap<string, Handover> {
    return this.active;
  }

  plan(input: HandoverInput): HandoverPlan {
    const { elected, handingOver, previous, now, graceMs } = input;
    const owned = new Map(elected);
    const started: Handover[] = [];
    const ended: HandoverEnd[] = [];
    const end = (h: Handover, outcome: HandoverOutcome): void => {
      this.active.delete(h.address.address);
      ended.push({ address: h.address.address, to: h.to, outcome, durationMs: now - h.since });
    };
    for (const h of [...this.active.values()]) {
      const ip = h.address.address;
      if (elected.has(ip)) end(h, 'reclaimed');
      else if (!handingOver.has(ip)) end(h, 'aborted');
      else if (now >= h.until) end(h, 'completed');
      else {
        h.to = handingOver.get(ip) as string; // the heir may change (it died): the deadline does not
        owned.set(ip, { ...h.address, quiet: true });
      }
    }
    for (const [ip, to] of handingOver) {
      const before = previous.get(ip);
      // Only what we were announcing (not quietly answering) starts a handover: a node that starts
      // already labelled, or an address that just completed one, has nothing to hand over.
      if (elected.has(ip) || this.active.has(ip) || !before || before.quiet) continue;
      const address: OwnedAddress = { ...before };
      delete address.quiet;
      delete address.gain;
      const h: Handover = { address, to, since: now, until: now + graceMs };
      this.active.set(ip, h);
      started.push(h);
      owned.set(ip, { ...address, quiet: true });
    }
    let nextAt: number | undefined;
    for (const h of this.active.values()) nextAt = Math.min(nextAt ?? Infinity, h.until);
    return { owned, started, ended, ...(nextAt !== undefined ? { nextAt } : {}) };
  }
}
