// The responder engine's side of address conflict detection: indexes the watched addresses so
// that each received ARP/NDP frame is checked with one map lookup, tells claims from our own
// speakers (their MACs are known) from foreign ones, and turns ConflictWatch's actions into
// calls on the engine (send probes, start answering, defend) and messages to the main thread.
import { formatIPv6, ipv4ToNumber, tryParseIP } from '../../protocol/address';
import { arpSenderAddress, macKey, readArpClaim, readNdpClaim } from '../../protocol/conflict-frames';
import { ConflictWatch, DEFAULT_CONFLICT_TIMING, type ConflictAction, type ConflictTiming, type GainMode } from './conflict-watch';
import type { FromWorker } from './responder-messages';

export interface ConflictGuardHooks {
  /** Send one probe for `address` on every interface it may use. */
  probe(address: string): void;
  /** Start (own = true) answering and announcing `address`, which this node wants. */
  own(address: string): void;
  /** One announcement of an owned address (a defence). */
  defend(address: string): void;
  /** `address` is neither wanted nor watched any more: its state may go. */
  forget(address: string): void;
  post(m: FromWorker): void;
}

export class ConflictGuard {
  private readonly watch = new ConflictWatch();
  private readonly v4 = new Map<number, string>();
  private readonly v6 = new Set<string>();
  /** Our speakers' MACs (every node's interfaces) as macKey()s: their claims are no conflict. */
  private known = new Set<string>();
  private local = new Set<string>();
  /** Frames from a foreign MAC that claimed a watched address (all, including undefended ones). */
  claims = 0;

  constructor(private readonly hooks: ConflictGuardHooks) {}

  setTiming(t: ConflictTiming = DEFAULT_CONFLICT_TIMING): void {
    this.watch.setTiming(t);
  }

  /** The peers' MACs (from their Leases). */
  setKnownMacs(macs: readonly string[]): void {
    this.known = new Set(macs.map((m) => macKey(m)).filter((m): m is string => m !== undefined));
  }

  /** This node's interface MACs. */
  setLocalMacs(macs: readonly string[]): void {
    this.local = new Set(macs.map((m) => macKey(m)).filter((m): m is string => m !== undefined));
  }

  isOwned(address: string): boolean {
    return this.watch.isOwned(address);
  }

  watched(address: string): boolean {
    return this.watch.has(address);
  }

  conflicts(): Map<string, string> {
    return this.watch.conflicts();
  }

  want(address: string, mode: GainMode, now: number): void {
    this.index(address);
    this.apply(this.watch.want(address, mode, now));
  }

  unwant(address: string): void {
    this.watch.unwant(address);
    if (!this.watch.has(address)) this.unindex(address);
  }

  nextDueAt(): number {
    return this.watch.nextDueAt();
  }

  due(now: number): void {
    this.apply(this.watch.due(now));
  }

  /** Checks a received ARP frame (cheap unless its sender address is watched). */
  inspectArp(frame: Uint8Array, length: number, now: number): void {
    if (this.v4.size === 0) return;
    const sender = arpSenderAddress(frame, length);
    if (sender < 0) return;
    const address = this.v4.get(sender);
    if (!address) return;
    const claim = readArpClaim(frame, length);
    if (claim) this.claim(address, claim.mac, now);
  }

  /** Checks a received NDP frame (only Neighbor Advertisements claim addresses). */
  inspectNdp(frame: Uint8Array, length: number, now: number): void {
    if (this.v6.size === 0 || length < 55 || frame[54] !== 136) return;
    const claim = readNdpClaim(frame, length);
    if (!claim) return;
    const address = formatIPv6(claim.address);
    if (this.v6.has(address)) this.claim(address, claim.mac, now);
  }

  private claim(address: string, mac: string, now: number): void {
    if (this.local.has(mac) || this.known.has(mac)) return;
    this.claims++;
    this.apply(this.watch.claim(address, mac, now));
  }

  private apply(actions: ConflictAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'probe':
          this.hooks.probe(a.address);
          break;
        case 'own':
          this.hooks.own(a.address);
          break;
        case 'defend':
          this.hooks.defend(a.address);
          break;
        case 'conflict':
          this.hooks.post({ type: 'conflict', address: a.address, mac: a.mac, phase: a.phase });
          break;
        case 'cleared':
          this.hooks.post({ type: 'conflictCleared', address: a.address });
          if (!this.watch.has(a.address)) {
            this.unindex(a.address);
            this.hooks.forget(a.address);
          }
          break;
      }
    }
  }

  private index(address: string): void {
    const ip = tryParseIP(address);
    if (!ip) return;
    if (ip.family === 4) this.v4.set(ipv4ToNumber(ip.bytes), address);
    else this.v6.add(address);
  }

  private unindex(address: string): void {
    const ip = tryParseIP(address);
    if (!ip) return;
    if (ip.family === 4) this.v4.delete(ipv4ToNumber(ip.bytes));
    else this.v6.delete(address);
  }
}
