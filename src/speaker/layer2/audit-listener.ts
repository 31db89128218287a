// The responder engine's side of the announcement audit (audit-judge.ts decides on the main
// thread): while an audit probe of an address is out, collect the MACs of every ARP reply /
// gratuitous ARP / Neighbor Advertisement that claims it. One map lookup per received frame, and
// nothing at all while no audit is out.
import { formatIPv6, ipv4ToNumber, tryParseIP } from '../../protocol/address';
import { arpSenderAddress, readArpClaim, readNdpClaim } from '../../protocol/conflict-frames';

/** An address no audit reads within this long is dropped (its reader went away). */
const STALE_MS = 10_000;

interface Window {
  macs: Set<string>;
  since: number;
}

export class AuditListener {
  private readonly v4 = new Map<number, Window>();
  private readonly v6 = new Map<string, Window>();

  /** Starts (or restarts) collecting answers for `address`; false when it is no IP address. */
  begin(address: string, now: number): boolean {
    const ip = tryParseIP(address);
    if (!ip) return false;
    this.dropStale(now);
    const w = { macs: new Set<string>(), since: now };
    if (ip.family === 4) this.v4.set(ipv4ToNumber(ip.bytes), w);
    else this.v6.set(formatIPv6(ip.bytes), w);
    return true;
  }

  /** The MACs (lower-case hex) heard for `address` since begin(); stops collecting. */
  take(address: string): string[] {
    const ip = tryParseIP(address);
    if (!ip) return [];
    let w: Window | undefined;
    if (ip.family === 4) {
      const k = ipv4ToNumber(ip.bytes);
      w = this.v4.get(k);
      this.v4.delete(k);
    } else {
      const k = formatIPv6(ip.bytes);
      w = this.v6.get(k);
      this.v6.delete(k);
    }
    return w ? [...w.macs].sort() : [];
  }

  inspectArp(frame: Uint8Array, length: number): void {
    if (this.v4.size === 0) return;
    const sender = arpSenderAddress(frame, length);
    if (sender < 0) return;
    const w = this.v4.get(sender);
    if (!w) return;
    const claim = readArpClaim(frame, length);
    if (claim) w.macs.add(claim.mac);
  }

  /** Only Neighbor Advertisements (ICMPv6 type 136 at its untagged offset) claim addresses. */
  inspectNdp(frame: Uint8Array, length: number): void {
    if (this.v6.size === 0 || length < 55 || frame[54] !== 136) return;
    const claim = readNdpClaim(frame, length);
    if (!claim) return;
    this.v6.get(formatIPv6(claim.address))?.macs.add(claim.mac);
  }

  private dropStale(now: number): void {
    for (const m of [this.v4, this.v6] as Array<Map<number | string, Window>>) for (const [k, w] of m) if (now - w.since > STALE_MS) m.delete(k);
  }
}
