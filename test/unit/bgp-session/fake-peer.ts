// An in-process BGP peer on a real loopback TCP socket, speaking through the codec, so the FSM is
// tested against real sockets and real (short) timers.
import * as net from 'node:net';
import { BgpDecodeError, BgpFramer, decode, encode, openMessage, type BgpMessage, type Capability } from '../../../src/protocol/bgp';

export interface Received {
  at: number;
  m: BgpMessage;
}

export class PeerConnection {
  readonly received: Received[] = [];
  readonly closed: Promise<void>;
  private readonly framer = new BgpFramer();
  private waiters: Array<() => void> = [];
  private fourOctet = true;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.framer.push(chunk)) {
        if (f instanceof BgpDecodeError) throw f;
        const m = decode(f, { fourOctetAS: this.fourOctet });
        if (m instanceof BgpDecodeError) throw m;
        this.received.push({ at: Date.now(), m });
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((res) => socket.once('close', () => {
      this.wake();
      res();
    }));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(m: BgpMessage): void {
    this.socket.write(encode(m, { fourOctetAS: this.fourOctet }));
  }

  raw(b: Buffer): void {
    this.socket.write(b);
  }

  /** Answers the session's OPEN with ours, then a KEEPALIVE. */
  open(o: { asn: number; holdTime: number; id?: number; capabilities?: Capability[]; keepalive?: boolean }): void {
    this.send(
      openMessage({
        asn: o.asn,
        holdTime: o.holdTime,
        bgpIdentifier: o.id ?? 0x0a000001,
        capabilities: o.capabilities ?? [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'multiprotocol', afi: 2, safi: 1 },
          { kind: 'route-refresh' },
        ],
      }),
    );
    if (o.keepalive !== false) this.send({ kind: 'keepalive' });
  }

  /** Waits for the n-th message (counting from `from`) matching `pred`. */
  async waitFor<K extends BgpMessage['kind']>(kind: K, opts: { from?: number; timeoutMs?: number; count?: number } = {}): Promise<Array<Received & { m: Extract<BgpMessage, { kind: K }> }>> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const hits = this.received.slice(opts.from ?? 0).filter((r) => r.m.kind === kind) as Array<Received & { m: Extract<BgpMessage, { kind: K }> }>;
      if (hits.length >= (opts.count ?? 1)) return hits;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.count ?? 1} ${kind}; got ${this.received.map((r) => r.m.kind).join(',')}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
}

export class FakePeer {
  readonly connections: PeerConnection[] = [];
  readonly acceptedAt: number[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: net.Server) {
    server.on('connection', (s) => {
      this.connections.push(new PeerConnection(s));
      this.acceptedAt.push(Date.now());
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  static async start(): Promise<FakePeer> {
    const server = net.createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    return new FakePeer(server);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async connection(n: number, timeoutMs = 5000): Promise<PeerConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length <= n) {
      if (Date.now() > deadline) throw new Error(`no connection #${n} within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.connections[n];
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
