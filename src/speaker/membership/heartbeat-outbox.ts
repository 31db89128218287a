// Signs this speaker's heartbeats, now and for the next few intervals (main thread). The packets
// for later slots go to the heartbeat pump, which sends each when due (heartbeat-pump.ts), so a
// main-loop stall shorter than the signed horizon does not silence us; a longer one, or a wedged
// loop, does once the signed packets run out.
//
// Sequence numbers are per addressee and strictly increasing: every signed packet takes the next
// one whether or not it is ever sent (a replaced schedule's unsent packets leave gaps, which the
// receivers accept: they only require "newer than the last one").
import { encodeHeartbeat, type HeartbeatKey } from './heartbeat-codec';

export interface Echo {
  echoTimestamp: number;
  echoDelayMs: number;
  echoIncarnation: number;
  echoSequence: number;
}

export interface SignInput {
  self: string;
  incarnation: number;
  key: HeartbeatKey;
  /** node -> node address (ours included; skipped). */
  peers: ReadonlyMap<string, string>;
  flagsFor(node: string): number;
  echoFor(node: string): Echo;
  /** Wall-clock-based stamp of slot 0 (heartbeat timestamps); slot k is `stamp + k·intervalMs`. */
  stamp: number;
  intervalMs: number;
  /** Slots to sign: 1 (now only) or more (now and the next intervals). */
  slots: number;
}

export interface SignedPeer {
  node: string;
  address: string;
  flags: number;
  /** Slot k's packet is due k·intervalMs from now. */
  packets: Buffer[];
  offsetsMs: number[];
}

export class HeartbeatOutbox {
  /** Last sequence signed for each peer in this incarnation. */
  private readonly seq = new Map<string, number>();

  lastSequence(node: string): number {
    return this.seq.get(node) ?? 0;
  }

  /** A new incarnation starts every peer's sequence again. */
  reset(): void {
    this.seq.clear();
  }

  sign(i: SignInput): SignedPeer[] {
    const out: SignedPeer[] = [];
    for (const [node, address] of i.peers) {
      if (node === i.self) continue;
      const flags = i.flagsFor(node);
      const echo = i.echoFor(node);
      const packets: Buffer[] = [];
      const offsetsMs: number[] = [];
      for (let k = 0; k < i.slots; k++) {
        const sequence = (this.seq.get(node) ?? 0) + 1;
        this.seq.set(node, sequence);
        const later = k * i.intervalMs;
        // The echoed timestamp is held `later` ms longer by the time this packet leaves.
        const held = echo.echoTimestamp === 0 ? echo : { ...echo, echoDelayMs: echo.echoDelayMs + later };
        packets.push(encodeHeartbeat({ node: i.self, addressee: node, incarnation: i.incarnation, sequence, timestamp: i.stamp + later, flags, ...held }, i.key));
        offsetsMs.push(later);
      }
      out.push({ node, address, flags, packets, offsetsMs });
    }
    return out;
  }
}

/** Where signed heartbeats go: sent now from the calling thread, or scheduled in the worker. */
export interface SendPort {
  send(address: string, packet: Buffer): boolean;
  schedule(peers: ReadonlyArray<{ address: string; packets: Buffer[]; offsetsMs: number[] }>): void;
}

/**
 * Slot 0 goes out now: from here, or (`viaWorker`, the periodic tick) as the worker's first due
 * packet; the later slots are scheduled in the worker. `sent(flags)` for each peer whose slot 0
 * was handed over (errors, unreachable or link down, are just missed heartbeats).
 *
 * The new schedule replaces the old one *before* slot 0 is sent from here: the pump sends on its
 * own thread, and a packet of the old schedule falling due in between (signed earlier, so a lower
 * sequence) would otherwise leave after slot 0 and be dropped by the peer as replayed (seen in CI:
 * one such drop at each peer when a speaker rejoined). Without later slots (leaving), the caller
 * empties the schedule first.
 */
export function dispatch(signed: readonly SignedPeer[], port: SendPort, viaWorker: boolean, sent: (flags: number) => void): void {
  const from = viaWorker ? 0 : 1;
  if (signed.length > 0 && signed[0].packets.length > from) {
    port.schedule(signed.map((p) => ({ address: p.address, packets: p.packets.slice(from), offsetsMs: p.offsetsMs.slice(from) })));
  }
  for (const p of signed) if (viaWorker || port.send(p.address, p.packets[0])) sent(p.flags);
}
