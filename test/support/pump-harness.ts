// A heartbeat pump on loopback with a manual clock, for unit tests: the pump's socket, receiver
// sockets standing for peers (one port each, all on 127.0.0.1), and a way to wait until the
// pump's thread has acted on a change (its pass counter), so that what it sent or queued can be
// read back exactly rather than after a sleep.
import * as dgram from 'node:dgram';
import type { BpfInstruction, IronlbNative, PumpOptions } from '../../src/net/native';
import { HeartbeatPump, type PumpedDatagram } from '../../src/speaker/membership/heartbeat-pump';

/** ret #-1: accept everything. */
const ACCEPT_ALL: BpfInstruction[] = [[0x06, 0, 0, 0xffffffff]];

export interface Taken {
  data?: Buffer;
  family: number;
  source: string;
  at: number;
}

function openOnSomePort(native: IronlbNative): { fd: number; port: number } {
  for (let tries = 0; ; tries++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    try {
      return { fd: native.openUdpSocket(4, port, ACCEPT_ALL), port };
    } catch (e) {
      if (tries > 20) throw e;
    }
  }
}

export class PumpHarness {
  readonly pump: HeartbeatPump;
  readonly fd: number;
  readonly port: number;
  private readonly peers = new Map<string, { fd: number; port: number }>();
  private readonly fds: number[] = [];
  private readonly strangers: dgram.Socket[] = [];
  private queued: Taken[] = [];
  private clock = 0;

  constructor(
    private readonly native: IronlbNative,
    options: Partial<PumpOptions> & { peers?: string[] } = {},
  ) {
    ({ fd: this.fd, port: this.port } = openOnSomePort(native));
    this.fds.push(this.fd);
    const { peers = [], ...rest } = options;
    for (const name of peers) {
      const r = openOnSomePort(native);
      this.peers.set(name, r);
      this.fds.push(r.fd);
    }
    this.clock = rest.manualClockMs ?? 0;
    const collect = (d: PumpedDatagram): void => {
      this.queued.push({ data: d.data && Buffer.from(d.data), family: d.family, source: [...d.source].join('.'), at: d.at });
    };
    this.pump = new HeartbeatPump(native, { ratePerSecond: 100, burst: 20, minGapMs: 50, capacity: 64, manualClockMs: this.clock, ...rest }, collect);
    this.pump.sockets([this.fd]);
  }

  /** Sets the pump's clock and waits until a pass of its loop has run at that time. */
  async at(ms: number): Promise<void> {
    this.clock = ms;
    await this.settle();
  }

  /** Wakes the pump's thread and waits until a pass of its loop that began after this call has run. */
  async settle(): Promise<void> {
    const epoch = this.pump.setClock(this.clock); // also wakes the thread
    for (let i = 0; this.pump.stats().seenEpoch < epoch; i++) {
      if (i > 2000) throw new Error('the pump thread made no pass in 2 s');
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** A schedule of one byte per packet (`first`, `first + 1`, ...) to each named peer. */
  schedule(peers: Array<{ peer: string; first: number; offsetsMs: number[] }>): void {
    this.pump.schedule(
      peers.map((p) => ({ fd: this.fd, address: '127.0.0.1', port: this.peer(p.peer).port, packets: p.offsetsMs.map((_, i) => Uint8Array.of(p.first + i)), offsetsMs: p.offsetsMs })),
    );
  }

  /** Everything the pump sent since the last call, as [peer, first byte], peers in the given order. */
  sent(order: string[]): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const buf = Buffer.alloc(64 * 64);
    const meta = new Int32Array(3 * 64);
    const addrs = new Uint8Array(16 * 64);
    for (const name of order) {
      const { fd } = this.peer(name);
      for (let n = this.native.recvUdpBatch(fd, buf, 64, meta, addrs); n > 0; n = this.native.recvUdpBatch(fd, buf, 64, meta, addrs)) {
        for (let i = 0; i < n; i++) out.push([name, buf[64 * i]]);
      }
    }
    return out;
  }

  /** Closes the pump's socket under it (what the transport never does before pumpStop). */
  closeSocketUnderPump(): void {
    this.native.close(this.fd);
    this.fds.splice(this.fds.indexOf(this.fd), 1);
  }

  /** Sends `payload` to the pump from 127.0.0.1 (from its own socket). */
  sendFromLoopback(payload: Uint8Array): void {
    this.native.sendUdp(this.fd, payload, '127.0.0.1', this.port);
  }

  /** Sends `payload` to the pump from another loopback address. */
  async sendFrom(address: string, payload: Uint8Array): Promise<void> {
    const s = dgram.createSocket('udp4');
    this.strangers.push(s);
    await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
    await new Promise<void>((resolve, reject) => s.send(payload, this.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  /** Waits until the pump has examined `n` datagrams since it started. */
  async received(n: number): Promise<void> {
    for (let i = 0; this.pump.stats().received < n; i++) {
      if (i > 2000) throw new Error(`the pump examined ${this.pump.stats().received} datagrams, not ${n}, in 2 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** What the pump's callback has taken so far and takeAll() has not returned yet. */
  peek(): readonly Taken[] {
    return this.queued;
  }

  /** What the pump queued since the last call (taken now, as its callback would). */
  takeAll(): Taken[] {
    this.pump.drain();
    const out = this.queued;
    this.queued = [];
    return out;
  }

  private peer(name: string): { fd: number; port: number } {
    const r = this.peers.get(name);
    if (!r) throw new Error(`no peer ${name}`);
    return r;
  }

  private closed = false;

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pump.stop();
    for (const fd of this.fds) this.native.close(fd);
    for (const s of this.strangers) s.close();
  }
}
