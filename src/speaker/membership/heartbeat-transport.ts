// The heartbeat sockets (main-thread side). Receiving happens in a worker thread
// (heartbeat-receiver-worker.ts), behind a kernel socket filter that only lets through
// heartbeat-shaped datagrams from the addresses the speaker Leases publish: a flood from anyone
// else is dropped by the kernel and never wakes a thread (issue 14.1). The filter is rebuilt
// whenever the set of peer addresses changes. Sending is a synchronous sendto() on the same
// sockets, so heartbeats leave from the heartbeat port.
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { maxFilteredSources, udpHeartbeatFilter } from '../../net/bpf';
import { errorText } from '../../k8s/api-call';
import { loadNative, type IronlbNative } from '../../net/native';
import { resolveWorkerModule, startWorker } from '../../net/ts-worker';
import { tryParseIP } from '../../protocol/address';
import type { Logger } from '../../util/log';
import { HEARTBEAT_MAGIC_U32, HEARTBEAT_MAX_LEN, HEARTBEAT_MIN_LEN, HEARTBEAT_VERSION, type Heartbeat, type HeartbeatKey } from './heartbeat-codec';
import { sourceKey, type AdmissionDrop, type AdmissionPeer } from './heartbeat-admission';
import type { ScheduledPeer } from './send-schedule';

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
  /** The receiver isolate's V8 heap size (committed bytes). */
  heapBytes?: number;
}

export type ToReceiver =
  | { type: 'peers'; peers: AdmissionPeer[] }
  | { type: 'keys'; keys: Array<{ id: number; secret: Uint8Array }> }
  | { type: 'sockets'; fds: number[] }
  | { type: 'schedule'; peers: ScheduledPeer[] }
  | { type: 'stop' };
export type FromReceiver =
  | { type: 'ready' }
  | { type: 'heartbeats'; list: ReceivedHeartbeat[] }
  | { type: 'unverified'; nodes: string[] }
  | ({ type: 'counters' } & ReceiverCounters)
  | { type: 'error'; message: string };

export interface ReceiverInit {
  wakeFd: number;
  self: string;
  ratePerSecond: number;
  burst: number;
  noticeMs: number;
  statsMs: number;
  /** Heartbeat port and interval, for the signed-ahead sends. */
  port: number;
  intervalMs: number;
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
/** Receive queue per socket: absorbs bursts while the worker is descheduled (capped by rmem_max). */
const RCVBUF_BYTES = 4 << 20;

export class HeartbeatTransport {
  private readonly native: IronlbNative;
  private fds = new Map<4 | 6, number>();
  private wakeFd = -1;
  private worker?: Worker;
  private running = false;
  /** Per family: the source list the filter was last built from (hex keys, sorted). */
  private readonly filtered = new Map<4 | 6, string>();
  private peersKey = '';
  private keysKey = '';
  private lastPeers: AdmissionPeer[] = [];
  private lastKeys: HeartbeatKey[] = [];
  private readonly warned = new Set<string>();

  constructor(private readonly opts: HeartbeatTransportOptions) {
    this.native = loadNative();
  }

  /**
   * Starts the receiver thread. Separate from open() so that its start-up (which, under ts-node,
   * means compiling it) overlaps the speaker's first API calls.
   */
  async startReceiver(): Promise<void> {
    this.wakeFd = this.native.createEventFd();
    this.running = true;
    await this.startWorker();
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
    // Peers before sockets: the receiver knows every peer before it reads a datagram.
    this.setPeers(peers);
    this.post({ type: 'sockets', fds: [...this.fds.values()] });
  }

  private async startWorker(): Promise<void> {
    const init: ReceiverInit = {
      wakeFd: this.wakeFd,
      self: this.opts.self,
      // Ten times a peer's heartbeat rate: room for its extra sends on state changes.
      ratePerSecond: (10 * 1000) / this.opts.intervalMs,
      burst: 20,
      noticeMs: this.opts.intervalMs / 2,
      statsMs: 1000,
      port: this.opts.port,
      intervalMs: this.opts.intervalMs,
    };
    const worker = startWorker(resolveWorkerModule(path.join(__dirname, 'heartbeat-receiver-worker'), __filename), { workerData: init });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: FromReceiver): void => {
        if (m.type !== 'ready') return;
        worker.off('message', onMsg);
        resolve();
      };
      worker.on('message', onMsg);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`heartbeat receiver exited during start (code ${code})`)));
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.on('message', (m: FromReceiver) => this.onMessage(m));
    worker.on('error', (e) => this.opts.log.error('heartbeat receiver failed', { error: e.message }));
    worker.on('exit', (code) => {
      if (!this.running || this.worker !== worker) return;
      // Hearing nobody would isolate this node: start a new receiver.
      this.opts.log.error('heartbeat receiver exited; restarting it', { code });
      setTimeout(() => void this.restart(), 200);
    });
    this.worker = worker;
    // A restarted receiver gets the current state; the first one gets it from open().
    this.post({ type: 'peers', peers: this.lastPeers });
    this.post({ type: 'keys', keys: this.lastKeys.map((k) => ({ id: k.id, secret: k.secret })) });
    if (this.fds.size > 0) this.post({ type: 'sockets', fds: [...this.fds.values()] });
  }

  private async restart(): Promise<void> {
    if (!this.running) return;
    await this.startWorker().catch((e: Error) => {
      this.opts.log.error('could not restart the heartbeat receiver', { error: e.message });
      setTimeout(() => void this.restart(), 1000);
    });
  }

  private onMessage(m: FromReceiver): void {
    switch (m.type) {
      case 'heartbeats':
        for (const r of m.list) this.opts.onHeartbeat(r);
        break;
      case 'unverified':
        this.opts.onUnverified(m.nodes);
        break;
      case 'counters':
        this.opts.onCounters(m);
        break;
      case 'error':
        this.opts.log.warn('heartbeat receiver error', { error: m.message });
        break;
    }
  }

  private post(m: ToReceiver): void {
    if (!this.worker) return;
    this.worker.postMessage(m);
    this.native.signalEventFd(this.wakeFd);
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
    this.lastPeers = peers;
    this.post({ type: 'peers', peers });
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
    this.lastKeys = [...keys];
    this.post({ type: 'keys', keys: keys.map((k) => ({ id: k.id, secret: k.secret })) });
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
   * Heartbeats signed ahead for the worker to send when due (send-schedule.ts), per peer address:
   * `offsetsMs` after now. Replaces the previous schedule; an empty list stops the sends.
   */
  schedule(peers: ReadonlyArray<{ address: string; packets: Buffer[]; offsetsMs: number[] }>): void {
    const out: ScheduledPeer[] = [];
    // No receiver thread (it is being restarted): what is due now goes out from here, so that
    // the periodic heartbeats are not lost meanwhile.
    if (!this.worker) for (const p of peers) if (p.offsetsMs[0] === 0) this.send(p.address, p.packets[0]);
    for (const p of peers) {
      const fd = this.fds.get(p.address.includes(':') ? 6 : 4);
      if (fd !== undefined) out.push({ address: p.address, fd, packets: p.packets, offsetsMs: p.offsetsMs });
    }
    this.post({ type: 'schedule', peers: out });
  }

  /** Datagrams the kernel dropped on our sockets so far (filter refused or queue full). */
  kernelDrops(): number {
    let sum = 0;
    for (const fd of this.fds.values()) sum += this.native.socketDrops(fd);
    return sum;
  }

  async stop(): Promise<void> {
    this.running = false;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage({ type: 'stop' } satisfies ToReceiver);
      this.native.signalEventFd(this.wakeFd);
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    }
    for (const fd of this.fds.values()) this.native.close(fd);
    this.fds.clear();
    if (this.wakeFd >= 0) this.native.close(this.wakeFd);
    this.wakeFd = -1;
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
