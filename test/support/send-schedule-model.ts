// A model of the heartbeat pump's send rule (native/src/heartbeat_pump.c), in TypeScript and
// written apart from the C: it was the rule's implementation while a Worker thread sent the
// signed-ahead heartbeats. test/unit/membership/heartbeat-pump.test.ts runs random schedules and
// clocks through both and compares what each sends. Pure: time is an argument.

export interface ScheduledPeer {
  /** Where to (a peer's node address) and through which socket. */
  address: string;
  fd: number;
  /** Signed packets and when each is due, in ms after the schedule arrives (ascending). */
  packets: Uint8Array[];
  offsetsMs: number[];
}

export interface DuePacket {
  address: string;
  fd: number;
  packet: Uint8Array;
}

interface Entry {
  fd: number;
  items: Array<{ due: number; packet: Uint8Array }>;
}

export class SendSchedule {
  private entries = new Map<string, Entry>();
  private readonly lastSent = new Map<string, number>();

  /** `minGapMs`: two scheduled packets to one peer are never sent closer than this (half an interval). */
  constructor(private readonly minGapMs: number) {}

  /** A new schedule from the main thread replaces the old one whole: its unsent packets carry
   * older flags and lower sequence numbers. */
  replace(peers: readonly ScheduledPeer[], now: number): void {
    this.entries = new Map(
      peers.map((p) => [p.address, { fd: p.fd, items: p.packets.map((packet, i) => ({ due: now + p.offsetsMs[i], packet })) }]),
    );
    for (const a of this.lastSent.keys()) if (!this.entries.has(a)) this.lastSent.delete(a);
  }

  /**
   * The packets to send now, one per peer at most: the newest due one (after a stall of the
   * worker, older due packets are stale news and are dropped). A packet due less than `minGapMs`
   * after the last one sent to that peer is dropped too: a new schedule's first packet usually
   * falls on the old schedule's slot that was just sent.
   */
  due(now: number): DuePacket[] {
    const out: DuePacket[] = [];
    for (const [address, e] of this.entries) {
      let pick: Uint8Array | undefined;
      while (e.items.length > 0 && e.items[0].due <= now) pick = e.items.shift()?.packet;
      if (!pick) continue;
      const last = this.lastSent.get(address);
      if (last !== undefined && now - last < this.minGapMs) continue;
      this.lastSent.set(address, now);
      out.push({ address, fd: e.fd, packet: pick });
    }
    return out;
  }
}
