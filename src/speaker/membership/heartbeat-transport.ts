// The heartbeat sockets. Receiving happens in the heartbeat pump (heartbeat-pump.ts, a native
// thread), behind a kernel socket filter that only lets through heartbeat-shaped datagrams from
// the addresses the speaker Leases publish: a flood from anyone else is dropped by the kernel and
// never wakes a thread (issue 14.1). The filter is rebuilt whenever the set of peer addresses
// changes. The pump rate-limits per peer address and queues the rest with its arrival time; each
// queued datagram is checked here (heartbeat-admission.ts). Sending is a synchronous sendto() on
// the same sockets, so heartbeats leave from the heartbeat port; the heartbeats signed ahead are
// sent by the pump when due.
import { maxFilteredSources, udpHeartbeatFilter } from '../../net/bpf';
import { errorText } from '../../k8s/api-call';
import { loadNative, type IronlbNative, type PumpStats } from '../../net/native';
import { formatIPv4, formatIPv6, tryParseIP } from '../../protocol/address';
import type { Logger } from '../../util/log';
import { HEARTBEAT_MAGIC_U32, HEARTBEAT_MAX_LEN, HEARTBEAT_MIN_LEN, HEARTBEAT_VERSION, type Heartbeat, type HeartbeatKey } from './heartbeat-codec';
import { ADMISSION_DROPS, HeartbeatAdmission, sourceKey, type AdmissionDrop, type AdmissionPeer, type SourceKey } from './heartbeat-admission';
import { HeartbeatPump, type PumpedDatagram, type ScheduledSend } from './heartbeat-pump';

export interface ReceivedHeartbeat {
  heartbeat: Heartbeat;
  keyId: number;
  from: string;
  /** Arrival in the receiver, ms on process.hrtime's clock (shared by all threads). */
  at: number;
}

export interface ReceiverCounters {
  dropped: Record<AdmissionDrop, number>;
  accepted: number;
  /** A recent source address per drop reason (for logs). */
  lastFrom: Partial<Record<AdmissionDrop, string>>;
}

export interface HeartbeatTransportOptions {
  port: number;
  self: string;
  intervalMs: number;
  log: Logger;
  onHeartbeat: (r: ReceivedHeartbeat) => void;
  /** Peers some of whose datagrams were rate-limited (could not be checked). */
  onUnverified: (nodes: string[]) => void;
  /** Cumulative receiver counters, every second. */
  onCounters: (c: ReceiverCounters) => void;
}

const SHAPE = { minPayload: HEARTBEAT_MIN_LEN, maxPayload: HEARTBEAT_MAX_LEN, magic: HEARTBEAT_MAGIC_U32, version: HEARTBEAT_VERSION };
/** Receive queue per socket: absorbs bursts while the pump is descheduled (capped by rmem_max). */
const RCVBUF_BYTES = 4 << 20;
/** Datagrams the pump queues for this thread: a main-loop stall of ~1 s with 100 peers at 10/s. */
const PUMP_CAPACITY = 1024;
/** Datagrams examined per peer address in a burst. */
const BURST = 20;
/** How often the counters go out (onCounters). */
const STATS_MS = 1000;

export class HeartbeatTransport {
  private readonly native: IronlbNative;
  private fds = new Map<4 | 6, number>();
  private pump?: HeartbeatPump;
  private admission: HeartbeatAdmission;
  private timer?: NodeJS.Timeout;
  private lastStats = 0;
  /** Drops counted on this thread (the pump counts its own). */
  private readonly dropped = Object.fromEntries(ADMISSION_DROPS.map((r) => [r, 0])) as Record<AdmissionDrop, number>;
  private readonly lastFrom: Partial<Record<AdmissionDrop, string>> = {};
  private accepted = 0;
  /** Per family: the source list the filter was last built from (hex keys, sorted). */
  private readonly filtered = new Map<4 | 6, string>();
  private peersKey = '';
  private keysKey = '';
  private nodeBySource = new Map<SourceKey, string>();
  private readonly warned = new Set<string>();

  constructor(private readonly opts: HeartbeatTransportOptions) {
    this.native = loadNative();
    this.admission = new HeartbeatAdmission({ self: opts.self });
  }

  /** Starts the pump's thread (before open(), so that nothing waits for it later). */
  async startReceiver(): Promise<void> {
    this.pump = new HeartbeatPump(
      this.native,
      {
        // Ten times a peer's heartbeat rate: room for its extra sends on state changes.
        ratePerSecond: (10 * 1000) / this.opts.intervalMs,
        burst: BURST,
        minGapMs: this.opts.intervalMs / 2,
        capacity: PUMP_CAPACITY,
      },
      (d) => this.receive(d),
    );
    // Peers some of whose datagrams were rate-limited are reported every half interval, the counters every second.
    this.timer = setInterval(() => this.report(), this.opts.intervalMs / 2);
    this.timer.unref();
  }

  /** Opens the sockets, their filters admitting `peers` (node -> address) from the first datagram. */
  open(peers: ReadonlyMap<string, string>): void {
    const { sources } = this.collect(peers);
    for (const family of [4, 6] as const) {
      try {
        const fd = this.native.openUdpSocket(family, this.opts.port, this.filterFor(family, sources.get(family) ?? []));
        this.fds.set(family, fd);
        this.filtered.set(family, sourcesKey(sources.get(family) ?? []));
        this.native.setRecvBuffer(fd, RCVBUF_BYTES);
      } catch (e) {
        if (family === 4) throw e;
        this.opts.log.info('no IPv6 heartbeat socket', { error: errorText(e) });
      }
    }
    // Peers before sockets: the pump knows every peer before it reads a datagram.
    this.setPeers(peers);
    this.pump?.sockets([...this.fds.values()]);
  }

  private receive(d: PumpedDatagram): void {
    const r = this.admission.admit(d.data, sourceKey(d.source));
    if (r.ok) {
      this.accepted++;
      this.opts.onHeartbeat({ heartbeat: r.heartbeat, keyId: r.keyId, from: formatSource(d), at: d.at });
      return;
    }
    this.dropped[r.reason]++;
    if (this.lastFrom[r.reason] === undefined || this.dropped[r.reason] % 1024 === 1) this.lastFrom[r.reason] = formatSource(d);
  }

  private report(): void {
    if (!this.pump) return;
    const limited = this.pump.limitedSources();
    if (limited.length > 0) {
      const nodes = limited.map((a) => this.nodeOf(a)).filter((n): n is string => n !== undefined);
      if (nodes.length > 0) this.opts.onUnverified(nodes);
    }
    const now = performance.now();
    if (now - this.lastStats < STATS_MS) return;
    this.lastStats = now;
    this.opts.onCounters(this.counters(this.pump.stats()));
  }

  /** This thread's drops and the pump's, cumulative. */
  private counters(stats: PumpStats): ReceiverCounters {
    const dropped = { ...this.dropped };
    dropped['unknown-source'] += stats.unknownSource;
    dropped['rate-limited'] += stats.rateLimited;
    dropped['queue-full'] += stats.overflow;
    const lastFrom = { ...this.lastFrom };
    if (stats.lastUnknownFrom) lastFrom['unknown-source'] = stats.lastUnknownFrom;
    if (stats.lastLimitedFrom) lastFrom['rate-limited'] = stats.lastLimitedFrom;
    return { dropped, accepted: this.accepted, lastFrom };
  }

  private nodeOf(address: string): string | undefined {
    const ip = tryParseIP(address);
    return ip && this.nodeBySource.get(sourceKey(ip.bytes));
  }

  /** The peers' node addresses (from the Leases): the kernel filter and the receiver follow them. */
  setPeers(addresses: ReadonlyMap<string, string>): void {
    const { peers, sources } = this.collect(addresses);
    for (const [family, fd] of this.fds) {
      const list = sources.get(family) ?? [];
      const key = sourcesKey(list);
      if (this.filtered.get(family) === key) continue;
      this.native.setSocketFilter(fd, this.filterFor(family, list));
      this.filtered.set(family, key);
    }
    const key = JSON.stringify(peers.map((p) => [p.node, p.source]).sort());
    if (key === this.peersKey) return;
    this.peersKey = key;
    this.admission.setPeers(peers, performance.now());
    this.nodeBySource = new Map(peers.map((p) => [p.source, p.node]));
    this.pump?.sources([...sources.values()].flat().map((bytes) => (bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes))));
  }

  /** The receiver's peer table and the filters' source lists, from node -> address. */
  private collect(addresses: ReadonlyMap<string, string>): { peers: AdmissionPeer[]; sources: Map<4 | 6, Buffer[]> } {
    const peers: AdmissionPeer[] = [];
    const sources = new Map<4 | 6, Buffer[]>();
    for (const [node, address] of addresses) {
      if (node === this.opts.self) continue;
      const ip = tryParseIP(address);
      if (!ip) {
        this.warnOnce(`address:${node}:${address}`, 'speaker Lease publishes an unusable node address', { node, address });
        continue;
      }
      peers.push({ node, source: sourceKey(ip.bytes) });
      sources.set(ip.family, [...(sources.get(ip.family) ?? []), ip.bytes]);
    }
    return { peers, sources };
  }

  private filterFor(family: 4 | 6, sources: Buffer[]): ReturnType<typeof udpHeartbeatFilter> {
    if (sources.length <= maxFilteredSources(family)) return udpHeartbeatFilter(family, SHAPE, sources);
    // Too many for one classic BPF program: the kernel checks the shape only; the receiver still
    // drops unknown sources before any crypto.
    this.warnOnce(`filter:${family}`, 'too many peers for the kernel source filter; filtering sources in the receiver only', { family, peers: sources.length });
    return udpHeartbeatFilter(family, SHAPE, undefined);
  }

  setKeys(keys: readonly HeartbeatKey[]): void {
    const key = keys.map((k) => k.id).join(',');
    if (key === this.keysKey) return;
    this.keysKey = key;
    this.admission.setKeys(keys);
  }

  /** Sends one datagram; false if it could not be handed to the kernel (no route, queue full). */
  send(address: string, packet: Buffer): boolean {
    const fd = this.fds.get(address.includes(':') ? 6 : 4);
    if (fd === undefined) return false;
    try {
      return this.native.sendUdp(fd, packet, address, this.opts.port) === packet.length;
    } catch {
      return false; // unreachable, link down: a missed heartbeat
    }
  }

  /**
   * Heartbeats signed ahead for the pump to send when due, per peer address: `offsetsMs` after
   * now. Replaces the previous schedule; an empty list stops the sends.
   */
  schedule(peers: ReadonlyArray<{ address: string; packets: Buffer[]; offsetsMs: number[] }>): void {
    const out: ScheduledSend[] = [];
    // No pump yet (or any more): what is due now goes out from here.
    if (!this.pump) for (const p of peers) if (p.offsetsMs[0] === 0) this.send(p.address, p.packets[0]);
    for (const p of peers) {
      const fd = this.fds.get(p.address.includes(':') ? 6 : 4);
      if (fd !== undefined) out.push({ address: p.address, fd, port: this.opts.port, packets: p.packets, offsetsMs: p.offsetsMs });
    }
    this.pump?.schedule(out);
  }

  /** Datagrams the kernel dropped on our sockets so far (filter refused or queue full). */
  kernelDrops(): number {
    let sum = 0;
    for (const fd of this.fds.values()) sum += this.native.socketDrops(fd);
    return sum;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Joins the pump's thread before its sockets are closed.
    this.pump?.stop();
    this.pump = undefined;
    for (const fd of this.fds.values()) this.native.close(fd);
    this.fds.clear();
  }

  private warnOnce(key: string, msg: string, fields: Record<string, unknown>): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.log.warn(msg, fields);
  }
}

function sourcesKey(sources: Buffer[]): string {
  return sources
    .map((b) => b.toString('hex'))
    .sort()
    .join(',');
}

function formatSource(d: PumpedDatagram): string {
  return d.family === 4 ? formatIPv4(d.source) : formatIPv6(d.source);
}
