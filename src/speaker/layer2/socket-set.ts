// The responder's packet sockets: per interface one ARP and one NDP socket (BPF-filtered), the
// solicited-node multicast groups joined on the NDP one, and the route monitor. All system calls
// go through PacketIo, so unit tests run this with test/support/fake-packet-io.ts.
import { arpFilter, arpFilterFor, neighborDiscoveryFilter, neighborDiscoveryFilterFor } from '../../net/bpf';
import type { BpfInstruction } from '../../net/native';
import { ETH_P_ARP, ETH_P_IPV6, isNativeError } from '../../net/native';
import type { PacketIo } from '../../net/packet-io';
import { formatMac, parseMac } from '../../protocol/address';
import type { ResponderInterfaceView } from '../../protocol/l2-responder';
import type { ResponderInterfaceConfig, ResponderInterfaceStatus } from './responder-messages';

/**
 * Receive queue per socket: absorbs bursts while the worker is descheduled (each small frame costs
 * ~770 bytes of queue). 1 MiB (~1300 frames, 13 ms of a 100k/s flood) lost 0.6 % of legitimate
 * requests under bench:arp's flood on a loaded 2-core machine; 8 MiB holds ~100 ms of it. Kernel
 * memory, used only while frames wait.
 */
const RCVBUF_BYTES = 8 << 20;

export type SocketKind = 'arp' | 'ndp';

export interface InterfaceSockets {
  readonly cfg: ResponderInterfaceConfig;
  readonly view: ResponderInterfaceView;
  arpFd: number;
  ndpFd: number;
  /** Joined solicited-node MACs (hex). */
  readonly joined: Set<string>;
  error?: string;
}

export interface SocketSetEvents {
  /** A socket could not be opened (the interface keeps its other socket, if any). */
  interfaceError(name: string, message: string, code?: string): void;
  /** Something failed that is worth showing in the stats (not per packet). */
  error(message: string): void;
  /** Called right after a socket is opened and right before one is closed, so that a record of
   * the open fds kept from these (for cleanup should the thread die) never names a closed fd. */
  fdOpened(fd: number): void;
  fdClosing(fd: number): void;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sameConfig(a: ResponderInterfaceConfig, b: ResponderInterfaceConfig): boolean {
  return a.ifindex === b.ifindex && a.mac === b.mac && (a.arp !== false) === (b.arp !== false) && (a.ndp !== false) === (b.ndp !== false);
}

export class PacketSocketSet {
  private readonly ifaces = new Map<string, InterfaceSockets>();
  private readonly byFd = new Map<number, { iface: InterfaceSockets; kind: SocketKind }>();
  readonly monitorFd: number;
  private pollList: number[];
  /** The ARP sockets' filter: arpFilterFor(the addresses of interest), once they are known. */
  private arpProgram: BpfInstruction[] = arpFilter();
  /** The NDP sockets' filter: neighborDiscoveryFilterFor(the IPv6 addresses of interest), once known. */
  private ndpProgram: BpfInstruction[] = neighborDiscoveryFilter();
  private arpInterestKey = '';
  private ndpInterestKey = '';
  private closedAll = false;

  constructor(
    private readonly io: PacketIo,
    private readonly wakeFd: number,
    private readonly on: SocketSetEvents,
  ) {
    this.monitorFd = this.openMonitor();
    this.pollList = this.basePollFds();
  }

  /** The fds to poll: the wake eventfd, the route monitor, every packet socket. */
  get pollFds(): readonly number[] {
    return this.pollList;
  }

  interfaces(): IterableIterator<InterfaceSockets> {
    return this.ifaces.values();
  }

  get(name: string): InterfaceSockets | undefined {
    return this.ifaces.get(name);
  }

  /** Every open packet socket with its kind and interface. */
  packetSockets(): Array<{ fd: number; kind: SocketKind; view: ResponderInterfaceView }> {
    const out: Array<{ fd: number; kind: SocketKind; view: ResponderInterfaceView }> = [];
    for (const s of this.ifaces.values()) {
      if (s.arpFd >= 0) out.push({ fd: s.arpFd, kind: 'arp', view: s.view });
      if (s.ndpFd >= 0) out.push({ fd: s.ndpFd, kind: 'ndp', view: s.view });
    }
    return out;
  }

  socket(fd: number): { iface: InterfaceSockets; kind: SocketKind } | undefined {
    return this.byFd.get(fd);
  }

  /** Opens and closes sockets to match `list`; returns the interfaces opened now (new, back, or changed). */
  configure(list: readonly ResponderInterfaceConfig[]): InterfaceSockets[] {
    const wanted = new Map(list.map((c) => [c.name, c]));
    for (const [name, s] of this.ifaces) {
      const c = wanted.get(name);
      if (!c || !sameConfig(c, s.cfg)) {
        this.closeIface(s);
        this.ifaces.delete(name);
      }
    }
    const opened: InterfaceSockets[] = [];
    for (const c of list) {
      if (this.ifaces.has(c.name)) continue;
      const s = this.openIface(c);
      this.ifaces.set(c.name, s);
      opened.push(s);
    }
    this.pollList = [...this.basePollFds(), ...this.byFd.keys()];
    return opened;
  }

  /** Joins and leaves solicited-node groups so that each NDP socket is in exactly `want(iface)`. */
  syncMemberships(want: (s: InterfaceSockets) => Map<string, Buffer>): void {
    for (const s of this.ifaces.values()) {
      if (s.ndpFd < 0) continue;
      const groups = want(s);
      for (const hex of [...s.joined]) {
        if (groups.has(hex)) continue;
        try {
          this.io.dropMembership(s.ndpFd, s.cfg.ifindex, Buffer.from(hex, 'hex'));
        } catch (e) {
          this.on.error(`${s.cfg.name}: ${errText(e)}`);
        }
        s.joined.delete(hex);
      }
      for (const [hex, mac] of groups) {
        if (s.joined.has(hex)) continue;
        try {
          this.io.addMembership(s.ndpFd, s.cfg.ifindex, mac);
          s.joined.add(hex);
        } catch (e) {
          this.on.error(`${s.cfg.name}: join ${formatMac(mac)}: ${errText(e)}`);
        }
      }
    }
  }

  /** Link/address notifications read now: 0 none, -1 overrun or error. */
  readMonitor(): number {
    try {
      return this.io.drainRouteMonitor(this.monitorFd);
    } catch (e) {
      this.on.error(`route monitor: ${errText(e)}`);
      return -1;
    }
  }

  /** Frames the kernel dropped for want of queue space since the last call, all sockets. */
  takeSocketDrops(): number {
    let n = 0;
    for (const fd of this.byFd.keys()) {
      try {
        n += this.io.packetStats(fd).drops;
      } catch {
        // socket gone
      }
    }
    return n;
  }

  status(): ResponderInterfaceStatus[] {
    return [...this.ifaces.values()].map((s) => ({
      name: s.cfg.name,
      ifindex: s.cfg.ifindex,
      arp: s.arpFd >= 0,
      ndp: s.ndpFd >= 0,
      multicastGroups: s.joined.size,
      ...(s.error ? { error: s.error } : {}),
    }));
  }

  closeAll(): void {
    // Once: the route monitor's fd number may belong to something else after the first close.
    if (this.closedAll) return;
    this.closedAll = true;
    for (const s of this.ifaces.values()) this.closeIface(s);
    this.ifaces.clear();
    this.closeFd(this.monitorFd);
    this.pollList = [this.wakeFd];
  }

  private basePollFds(): number[] {
    return this.monitorFd >= 0 ? [this.wakeFd, this.monitorFd] : [this.wakeFd];
  }

  private openMonitor(): number {
    try {
      const fd = this.io.openRouteMonitor();
      this.on.fdOpened(fd);
      return fd;
    } catch (e) {
      this.on.error(`route monitor: ${errText(e)} (interfaces are rescanned periodically only)`);
      return -1;
    }
  }

  private closeFd(fd: number): void {
    if (fd < 0) return;
    this.byFd.delete(fd);
    this.on.fdClosing(fd);
    try {
      this.io.close(fd);
    } catch {
      // already closed
    }
  }

  private closeIface(s: InterfaceSockets): void {
    this.closeFd(s.arpFd);
    this.closeFd(s.ndpFd);
    s.arpFd = -1;
    s.ndpFd = -1;
    s.joined.clear();
  }

  /**
   * The IPv4 addresses whose ARP requests are worth reading (owned, probed or watched for a
   * conflict): every ARP socket's kernel filter is replaced so that requests for any other address
   * are dropped before they queue (bpf.ts arpFilterFor). A no-op when the set is unchanged.
   */
  setArpInterest(addresses: readonly Uint8Array[]): void {
    const key = addresses.map((a) => a.join('.')).sort().join(',');
    if (key === this.arpInterestKey) return;
    this.arpInterestKey = key;
    this.arpProgram = arpFilterFor(addresses);
    this.refilter('arpFd', this.arpProgram);
  }

  /** The same for the IPv6 addresses and the NDP sockets (bpf.ts neighborDiscoveryFilterFor). */
  setNdpInterest(addresses: readonly Uint8Array[]): void {
    const key = addresses.map((a) => Buffer.from(a).toString('hex')).sort().join(',');
    if (key === this.ndpInterestKey) return;
    this.ndpInterestKey = key;
    this.ndpProgram = neighborDiscoveryFilterFor(addresses);
    this.refilter('ndpFd', this.ndpProgram);
  }

  private refilter(kind: 'arpFd' | 'ndpFd', program: BpfInstruction[]): void {
    for (const s of this.ifaces.values()) {
      if (s[kind] < 0) continue;
      try {
        this.io.setSocketFilter(s[kind], program);
      } catch (e) {
        this.on.error(`${s.cfg.name}: ${errText(e)}`);
      }
    }
  }

  private openIface(cfg: ResponderInterfaceConfig): InterfaceSockets {
    const s: InterfaceSockets = { cfg, view: { ifindex: cfg.ifindex, mac: parseMac(cfg.mac) }, arpFd: -1, ndpFd: -1, joined: new Set() };
    const open = (kind: SocketKind): number => {
      try {
        const fd =
          kind === 'arp'
            ? this.io.openPacketSocket(cfg.ifindex, ETH_P_ARP, this.arpProgram)
            : this.io.openPacketSocket(cfg.ifindex, ETH_P_IPV6, this.ndpProgram);
        this.on.fdOpened(fd);
        this.byFd.set(fd, { iface: s, kind });
        try {
          this.io.setRecvBuffer(fd, RCVBUF_BYTES);
        } catch (e) {
          this.on.error(`${cfg.name}: ${errText(e)}`);
        }
        return fd;
      } catch (e) {
        s.error = `${kind}: ${errText(e)}`;
        this.on.error(`${cfg.name}: ${s.error}`);
        this.on.interfaceError(cfg.name, s.error, isNativeError(e) ? e.code : undefined);
        return -1;
      }
    };
    if (cfg.arp !== false) s.arpFd = open('arp');
    if (cfg.ndp !== false) s.ndpFd = open('ndp');
    return s;
  }
}
