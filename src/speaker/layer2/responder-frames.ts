// The frames the responder engine sends of its own accord, not as answers: conflict and audit
// probes, gratuitous ARP and unsolicited NA, one per open interface the address may use; and the
// one send path every frame takes, answers included (a failed or short send is counted and
// remembered as the last error, never thrown: one bad interface must not stop the loop).
import type { PacketIo } from '../../net/packet-io';
import { buildGratuitousArp } from '../../protocol/arp';
import { buildArpProbe, buildDadProbe } from '../../protocol/conflict-frames';
import { buildUnsolicitedNeighborAdvertisement } from '../../protocol/ndp';
import { allowedOn, type AddrState } from './responder-addresses';
import type { ResponderCounters } from './responder-messages';
import type { PacketSocketSet } from './socket-set';

export const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class FrameSender {
  constructor(
    private readonly io: PacketIo,
    private readonly sockets: PacketSocketSet,
    /** The engine's counters (the same object: its snapshots see these counts). */
    private readonly counters: ResponderCounters,
    private readonly error: (message: string) => void,
  ) {}

  /** Sends `length` bytes of `frame` on `fd`; false (counted) when it did not all go out. */
  send(fd: number, frame: Buffer, length: number): boolean {
    try {
      if (this.io.send(fd, frame, length) === length) return true;
    } catch (e) {
      this.error(errText(e));
    }
    this.counters.sendFailures++;
    return false;
  }

  /** An ARP probe (RFC 5227) or a DAD probe for `a` on each interface it may use. */
  probe(a: Pick<AddrState, 'family' | 'bytes' | 'interfaces'>): void {
    for (const s of this.sockets.interfaces()) {
      if (!allowedOn(a, s.cfg.name)) continue;
      const fd = a.family === 4 ? s.arpFd : s.ndpFd;
      if (fd < 0) continue;
      const f = a.family === 4 ? buildArpProbe(s.view.mac, a.bytes) : buildDadProbe(s.view.mac, a.bytes);
      if (this.send(fd, f, f.length)) this.counters.probes++;
    }
  }

  /** Gratuitous ARP (IPv4) or an unsolicited NA (IPv6) for `a` on each interface it may use. */
  gratuitous(a: AddrState): void {
    for (const s of this.sockets.interfaces()) {
      if (!allowedOn(a, s.cfg.name)) continue;
      if (a.family === 4 && s.arpFd >= 0) {
        for (const f of buildGratuitousArp(s.view.mac, a.bytes)) if (this.send(s.arpFd, f, f.length)) this.counters.gratuitous.arp++;
      } else if (a.family === 6 && s.ndpFd >= 0) {
        const na = buildUnsolicitedNeighborAdvertisement(s.view.mac, a.bytes, a.bytes);
        if (this.send(s.ndpFd, na, na.length)) this.counters.gratuitous.ndp++;
      }
    }
  }
}
