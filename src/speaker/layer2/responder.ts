// Main-thread handle of the layer-2 responder. The packet work (ARP/NDP answers, gratuitous
// announcements, multicast membership) happens in a worker thread (responder-worker.ts) that
// blocks in poll() on its packet sockets, so a busy or stalled main event loop never delays an
// answer. This side only sends commands (each acknowledged) and receives periodic counters.
import { EventEmitter } from 'events';
import * as path from 'path';
import type { Worker } from 'worker_threads';
import { loadNative } from '../../net/native';
import { resolveWorkerModule, startWorker } from '../../net/ts-worker';
import { formatIPv4, formatIPv6, tryParseIP, tryParseMac } from '../../protocol/address';
import type { L2DropReason } from '../../protocol/l2-responder';

/** An interface the responder listens and announces on. */
export interface ResponderInterfaceConfig {
  name: string;
  ifindex: number;
  mac: string;
  /** Open the ARP socket (default true; needs a broadcast link). */
  arp?: boolean;
  /** Open the NDP socket (default true). */
  ndp?: boolean;
}

/** An address this node owns, optionally limited to some interfaces (L2Advertisement.interfaces). */
export interface OwnedAddress {
  address: string;
  /** Interface names; absent or empty: every interface the responder listens on. */
  interfaces?: string[];
}

export { DEFAULT_TIMING, type ResponderTiming } from './gratuitous-schedule';
import { DEFAULT_TIMING, type ResponderTiming } from './gratuitous-schedule';

export interface ProtocolCounters {
  arp: number;
  ndp: number;
}

/** Cumulative since the worker started. */
export interface ResponderCounters {
  /** Frames that passed the socket filter and were examined. */
  requests: ProtocolCounters;
  /** Answers sent (ARP replies, solicited NAs). */
  replies: ProtocolCounters;
  /** Gratuitous frames sent (ARP request+reply count as 2; unsolicited NAs). */
  gratuitous: ProtocolCounters;
  drops: Record<L2DropReason, number>;
  /** Sends that failed (queue full, interface down, ...). */
  sendFailures: number;
  recvErrors: number;
  /** Frames the kernel dropped because our socket queue was full (PACKET_STATISTICS). */
  socketDrops: number;
  /** Link/address change notifications read from the route monitor (an overrun counts as one). */
  linkEvents: number;
}

export interface ResponderInterfaceStatus {
  name: string;
  ifindex: number;
  arp: boolean;
  ndp: boolean;
  /** Solicited-node multicast MACs joined on this interface. */
  multicastGroups: number;
  error?: string;
}

export interface ResponderStats {
  /** Date.now() in the worker when taken. */
  at: number;
  counters: ResponderCounters;
  interfaces: ResponderInterfaceStatus[];
  ownedV4: number;
  ownedV6: number;
  /** Addresses inside a gratuitous burst window right now. */
  announcing: number;
  lastError?: string;
}

// ---- messages (structured-clone plain data) ------------------------------------------------

export type ToWorker =
  | { type: 'configure'; id: number; interfaces: ResponderInterfaceConfig[]; timing: ResponderTiming }
  | { type: 'setAddresses'; id: number; addresses: OwnedAddress[] }
  | { type: 'announce'; id: number; addresses?: string[] }
  | { type: 'getStats'; id: number }
  | { type: 'stop'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'ack'; id: number; error?: string; stats?: ResponderStats }
  | { type: 'stats'; stats: ResponderStats }
  | { type: 'interfaceError'; interface: string; message: string; code?: string }
  /** Interfaces or their addresses changed (route monitor): the owner should rescan them now. */
  | { type: 'linksChanged' };

export interface WorkerInit {
  wakeFd: number;
}

export interface ResponderOptions {
  interfaces?: ResponderInterfaceConfig[];
  timing?: Partial<ResponderTiming>;
  /** How long to wait for the worker to come up (ts-node compiles on first use). */
  startTimeoutMs?: number;
}

/** Canonical text of an address (so "2001:DB8::0090" and "2001:db8::90" are one key). */
export function canonicalAddress(text: string): string | undefined {
  const ip = tryParseIP(text);
  if (!ip) return undefined;
  return ip.family === 4 ? formatIPv4(ip.bytes) : formatIPv6(ip.bytes);
}

interface Pending {
  resolve: (m: { stats?: ResponderStats }) => void;
  reject: (e: Error) => void;
}

export interface ResponderEvents {
  stats: [ResponderStats];
  interfaceError: [{ interface: string; message: string; code?: string }];
  /** Interfaces or their addresses changed: rescan them. */
  linksChanged: [];
  error: [Error];
  exit: [number];
}

export class Responder extends EventEmitter<ResponderEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;
  private stopping?: Promise<void>;
  private latest?: ResponderStats;
  private timing: ResponderTiming;
  private interfaces: ResponderInterfaceConfig[] = [];

  private constructor(
    private readonly worker: Worker,
    private readonly wakeFd: number,
    timing: ResponderTiming,
  ) {
    super();
    this.timing = timing;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => {
      this.failPending(e);
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    worker.on('exit', (code) => {
      this.exited = true;
      this.failPending(new Error(`responder worker exited (code ${code})`));
      try {
        loadNative().close(this.wakeFd);
      } catch {
        // already closed
      }
      this.emit('exit', code);
    });
  }

  /** Starts the worker and waits until it is ready (and configured, when interfaces are given). */
  static async start(opts: ResponderOptions = {}): Promise<Responder> {
    const native = loadNative();
    const wakeFd = native.createEventFd();
    const file = resolveWorkerModule(path.join(__dirname, 'responder-worker'), __filename);
    const init: WorkerInit = { wakeFd };
    let worker: Worker;
    try {
      worker = startWorker(file, { workerData: init });
    } catch (e) {
      native.close(wakeFd);
      throw e;
    }
    const r = new Responder(worker, wakeFd, { ...DEFAULT_TIMING, ...opts.timing });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error('responder worker did not start in time'));
      }, opts.startTimeoutMs ?? 30_000);
      const onMsg = (m: FromWorker) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        worker.off('message', onMsg);
        worker.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number) => {
        clearTimeout(timer);
        reject(new Error(`responder worker exited during start (code ${code})`));
      };
      worker.on('message', onMsg);
      worker.once('exit', onExit);
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    await r.setInterfaces(opts.interfaces ?? []);
    return r;
  }

  /** The most recent counters posted by the worker. */
  get lastStats(): ResponderStats | undefined {
    return this.latest;
  }

  get running(): boolean {
    return !this.exited && !this.stopping;
  }

  /** Replaces the set of interfaces (sockets are opened/closed to match). */
  async setInterfaces(interfaces: ResponderInterfaceConfig[]): Promise<void> {
    for (const i of interfaces) {
      if (!tryParseMac(i.mac)) throw new Error(`responder: interface ${i.name}: invalid MAC ${JSON.stringify(i.mac)}`);
      if (!Number.isInteger(i.ifindex) || i.ifindex <= 0) throw new Error(`responder: interface ${i.name}: invalid ifindex ${i.ifindex}`);
    }
    this.interfaces = interfaces.map((i) => ({ ...i }));
    await this.request({ type: 'configure', interfaces: this.interfaces, timing: this.timing });
  }

  /** Updates timing (applies to bursts started afterwards). */
  async setTiming(timing: Partial<ResponderTiming>): Promise<void> {
    this.timing = { ...this.timing, ...timing };
    await this.request({ type: 'configure', interfaces: this.interfaces, timing: this.timing });
  }

  /**
   * Replaces the full set of owned addresses. Newly owned addresses are announced at once (then
   * in bursts); addresses no longer listed are not answered from the moment this resolves.
   */
  async setAddresses(addresses: ReadonlyArray<string | OwnedAddress>): Promise<void> {
    const list: OwnedAddress[] = [];
    for (const a of addresses) {
      const entry = typeof a === 'string' ? { address: a } : a;
      const canonical = canonicalAddress(entry.address);
      if (!canonical) throw new Error(`responder: invalid address ${JSON.stringify(entry.address)}`);
      list.push(entry.interfaces && entry.interfaces.length > 0 ? { address: canonical, interfaces: [...entry.interfaces] } : { address: canonical });
    }
    await this.request({ type: 'setAddresses', addresses: list });
  }

  /** (Re)starts the gratuitous window for these owned addresses (default: all). */
  async announce(addresses?: string[]): Promise<void> {
    const list = addresses?.map((a) => {
      const c = canonicalAddress(a);
      if (!c) throw new Error(`responder: invalid address ${JSON.stringify(a)}`);
      return c;
    });
    await this.request(list ? { type: 'announce', addresses: list } : { type: 'announce' });
  }

  /** Fresh counters straight from the worker. */
  async getStats(): Promise<ResponderStats> {
    const m = await this.request({ type: 'getStats' });
    if (!m.stats) throw new Error('responder: no stats in reply');
    this.latest = m.stats;
    return m.stats;
  }

  /** Stops answering, closes the sockets and ends the worker. Idempotent. */
  stop(timeoutMs = 5000): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (this.exited) return;
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      try {
        await Promise.race([this.request({ type: 'stop' }, true), delay(timeoutMs)]);
      } catch {
        // worker already gone or failed: terminate below
      }
      const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
      await exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  private request(msg: DistributiveOmit<ToWorker, 'id'>, allowWhileStopping = false): Promise<{ stats?: ResponderStats }> {
    if (this.exited || (this.stopping && !allowWhileStopping)) {
      return Promise.reject(new Error('responder is stopped'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id } as ToWorker);
      // The worker may be blocked in poll(): wake it so the command applies now.
      try {
        loadNative().signalEventFd(this.wakeFd);
      } catch (e) {
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ack': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error));
        else p.resolve({ stats: m.stats });
        return;
      }
      case 'stats':
        this.latest = m.stats;
        this.emit('stats', m.stats);
        return;
      case 'interfaceError':
        this.emit('interfaceError', { interface: m.interface, message: m.message, code: m.code });
        return;
      case 'linksChanged':
        this.emit('linksChanged');
        return;
      case 'ready':
        return;
    }
  }

  private failPending(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
