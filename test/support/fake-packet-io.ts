// An in-memory PacketIo (src/net/packet-io.ts) for unit tests of the responder's logic: sockets
// are numbered queues; tests push received frames in and read what was sent. Polling never
// blocks: with nothing readable it moves the given clock by the timeout, as a real poll() would
// have waited, so loops driven by it end.
import { runFilter } from '../../src/net/bpf';
import type { BpfInstruction } from '../../src/net/native';
import type { PacketIo } from '../../src/net/packet-io';

export interface FakeSocket {
  fd: number;
  ifindex: number;
  ethertype: number;
  filter: readonly BpfInstruction[] | null;
  rcvbuf: number;
  /** Frames waiting to be received, with their packet type (linux/if_packet.h). */
  queue: Array<{ frame: Buffer; pkttype: number }>;
  /** Frames sent, copied at send time. */
  sent: Buffer[];
  /** Solicited-node (or other) multicast MACs joined, hex. */
  groups: Set<string>;
  /** Kernel queue drops to report on the next packetStats(). */
  drops: number;
  /** Frames the socket's filter dropped (with `kernelFilters`). */
  filtered: number;
  closed: boolean;
}

export class FakePacketIo implements PacketIo {
  private nextFd = 100;
  readonly sockets = new Map<number, FakeSocket>();
  readonly eventFds = new Map<number, number>();
  monitorFd = -1;
  /** Route-monitor notifications waiting (-1: an overrun). */
  monitorEvents = 0;
  /** Make the next openPacketSocket for this ifindex fail with this errno name. */
  readonly failOpen = new Map<number, string>();
  /** Make sends fail (queue full) while true. */
  sendBlocked = false;
  /** The next recv() throws this errno name (once, as the kernel reports a socket error once). */
  recvError?: string;
  polls = 0;

  /** `kernelFilters`: deliver() runs each socket's BPF filter, as the kernel does (runFilter). Off by
   * default, so that the responder's own checks see every frame a test delivers. */
  constructor(
    private readonly clock: { advance(ms: number): void },
    private readonly opts: { kernelFilters?: boolean } = {},
  ) {}

  setSocketFilter(fd: number, filter: readonly BpfInstruction[]): void {
    this.open(fd).filter = filter;
  }

  createEventFd(): number {
    const fd = this.nextFd++;
    this.eventFds.set(fd, 0);
    return fd;
  }

  signal(fd: number): void {
    this.eventFds.set(fd, (this.eventFds.get(fd) ?? 0) + 1);
  }

  openPacketSocket(ifindex: number, ethertype: number, filter?: readonly BpfInstruction[] | null): number {
    const code = this.failOpen.get(ifindex);
    if (code) {
      this.failOpen.delete(ifindex);
      throw Object.assign(new Error(`${code}: fake`), { code, errno: 19, syscall: 'bind' });
    }
    const fd = this.nextFd++;
    this.sockets.set(fd, { fd, ifindex, ethertype, filter: filter ?? null, rcvbuf: 0, queue: [], sent: [], groups: new Set(), drops: 0, filtered: 0, closed: false });
    return fd;
  }

  setRecvBuffer(fd: number, bytes: number): number {
    this.open(fd).rcvbuf = bytes;
    return bytes;
  }

  recv(fd: number, buffer: Uint8Array, meta?: Int32Array | null): number {
    const s = this.open(fd);
    const error = this.recvError;
    if (error) {
      this.recvError = undefined;
      throw Object.assign(new Error(`${error}: fake`), { code: error, errno: 100, syscall: 'recvfrom' });
    }
    const next = s.queue.shift();
    if (!next) return -1;
    const n = Math.min(next.frame.length, buffer.length);
    buffer.set(next.frame.subarray(0, n));
    if (meta) {
      meta[0] = next.pkttype;
      meta[1] = s.ifindex;
      meta[2] = s.ethertype;
    }
    return n;
  }

  send(fd: number, buffer: Uint8Array, length = buffer.length): number {
    const s = this.open(fd);
    if (this.sendBlocked) return -1;
    s.sent.push(Buffer.from(buffer.subarray(0, length)));
    return length;
  }

  addMembership(fd: number, _ifindex: number, mac: Uint8Array): void {
    this.open(fd).groups.add(Buffer.from(mac).toString('hex'));
  }

  dropMembership(fd: number, _ifindex: number, mac: Uint8Array): void {
    this.open(fd).groups.delete(Buffer.from(mac).toString('hex'));
  }

  packetStats(fd: number): { packets: number; drops: number } {
    const s = this.open(fd);
    const drops = s.drops;
    s.drops = 0;
    return { packets: 0, drops };
  }

  close(fd: number): void {
    const s = this.sockets.get(fd);
    if (s) {
      if (s.closed) throw new Error(`EBADF: fd ${fd} closed twice`);
      s.closed = true;
      return;
    }
    if (fd === this.monitorFd) {
      this.monitorFd = -2;
      return;
    }
    if (!this.eventFds.delete(fd)) throw new Error(`EBADF: fd ${fd} is not open`);
  }

  pollReadable(fds: readonly number[], timeoutMs: number): number[] {
    this.polls++;
    const ready = fds.filter((fd) => {
      if (this.eventFds.has(fd)) return (this.eventFds.get(fd) ?? 0) > 0;
      if (fd === this.monitorFd) return this.monitorEvents !== 0;
      const s = this.sockets.get(fd);
      return s !== undefined && !s.closed && s.queue.length > 0;
    });
    if (ready.length === 0) this.clock.advance(Math.max(0, timeoutMs));
    return ready;
  }

  drainEventFd(fd: number): number {
    const n = this.eventFds.get(fd) ?? 0;
    this.eventFds.set(fd, 0);
    return n;
  }

  openRouteMonitor(): number {
    this.monitorFd = this.nextFd++;
    return this.monitorFd;
  }

  drainRouteMonitor(_fd: number): number {
    const n = this.monitorEvents;
    this.monitorEvents = 0;
    return n;
  }

  // ---- test helpers -----------------------------------------------------------------------

  /** The open sockets on `ifindex` for `ethertype`. */
  socketsOn(ifindex: number, ethertype: number): FakeSocket[] {
    return [...this.sockets.values()].filter((s) => !s.closed && s.ifindex === ifindex && s.ethertype === ethertype);
  }

  /** Queues a received frame on the one open socket for (ifindex, ethertype). */
  deliver(ifindex: number, ethertype: number, frame: Buffer, pkttype = 1): FakeSocket {
    const [s] = this.socketsOn(ifindex, ethertype);
    if (!s) throw new Error(`no open socket on ifindex ${ifindex} for 0x${ethertype.toString(16)}`);
    if (this.opts.kernelFilters && s.filter && runFilter(s.filter, frame) === 0) s.filtered++;
    else s.queue.push({ frame, pkttype });
    return s;
  }

  /** Every fd still open (sockets, monitor, eventfds). */
  openFds(): number[] {
    return [
      ...[...this.sockets.values()].filter((s) => !s.closed).map((s) => s.fd),
      ...(this.monitorFd >= 0 ? [this.monitorFd] : []),
      ...this.eventFds.keys(),
    ];
  }

  private open(fd: number): FakeSocket {
    const s = this.sockets.get(fd);
    if (!s || s.closed) throw Object.assign(new Error(`EBADF: fd ${fd}`), { code: 'EBADF', errno: 9, syscall: 'fake' });
    return s;
  }
}
