// A hand-written fake of the session's transport: dials resolve or fail when the test says, the
// peer's messages are pushed in as bytes, what the session writes is decoded and kept, and a
// "stalled" connection holds its output as a peer that does not read makes the kernel do.
import { BgpDecodeError, decode, encode, openMessage, type BgpMessage, type Capability } from '../../../src/protocol/bgp';
import type { BgpConnection, ConnectionHandlers, Connector, DialOptions } from '../../../src/speaker/bgp/transport';

const CTX = { fourOctetAS: true };

export class FakeConnection implements BgpConnection {
  readonly sent: BgpMessage[] = [];
  queuedOctets = 0;
  writesPending = false;
  /** Output stays queued (the peer does not read) until flush(). */
  stalled = false;
  /** Set once the session closed the connection: the last message it sent on the way, if any. */
  closedWith?: { last?: BgpMessage };
  readonly closed: Promise<void>;
  private handlers?: ConnectionHandlers;
  private resolveClosed!: () => void;

  constructor(readonly localAddress: string | undefined) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  listen(h: ConnectionHandlers): void {
    this.handlers = h;
  }

  write(data: Buffer): void {
    this.sent.push(decodeOurs(data));
    if (this.stalled) {
      this.queuedOctets += data.length;
      this.writesPending = true;
    }
  }

  close(last?: Buffer): void {
    this.closedWith = { last: last ? decodeOurs(last) : undefined };
    this.handlers = undefined;
    this.resolveClosed();
  }

  /** The peer read everything. */
  flush(): void {
    this.stalled = false;
    this.queuedOctets = 0;
    this.writesPending = false;
    this.handlers?.drained();
  }

  // ---- the peer's side

  /** Turns of the event loop the session took for everything received (it may ask for more than one). */
  turns = 0;

  /** Delivers bytes from the peer, and again an empty chunk for as long as the session kept some back. */
  receive(m: BgpMessage | Buffer): void {
    let chunk = Buffer.isBuffer(m) ? m : encode(m, CTX);
    for (;;) {
      this.turns++;
      if (this.handlers?.data(chunk) !== false) return;
      chunk = Buffer.alloc(0);
    }
  }

  /** OPEN (IPv4 and IPv6 unicast, route refresh unless other capabilities are given), then KEEPALIVE. */
  open(o: { asn: number; holdTime: number; capabilities?: Capability[]; keepalive?: boolean }): void {
    const capabilities = o.capabilities ?? [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', asn: o.asn },
    ];
    this.receive(openMessage({ asn: o.asn, holdTime: o.holdTime, bgpIdentifier: 0x0a000001, capabilities }));
    if (o.keepalive !== false) this.receive({ kind: 'keepalive' });
  }

  peerCloses(): void {
    this.handlers?.closed();
  }

  /** Messages of one kind the session sent, from index `from` of `sent`. */
  ofKind<K extends BgpMessage['kind']>(kind: K, from = 0): Array<Extract<BgpMessage, { kind: K }>> {
    return this.sent.slice(from).filter((m): m is Extract<BgpMessage, { kind: K }> => m.kind === kind);
  }
}

function decodeOurs(wire: Buffer): BgpMessage {
  const m = decode(wire, CTX);
  if (m instanceof BgpDecodeError) throw new Error(`the session sent an undecodable message: ${m.message}`);
  return m;
}

/** Dials wait for the test: succeed() or fail() settles the oldest one. */
export class FakeConnector {
  readonly dials: Array<{ options: DialOptions; at: number }> = [];
  readonly connections: FakeConnection[] = [];
  private waiting: Array<{ resolve: (c: BgpConnection) => void; reject: (e: Error) => void }> = [];

  constructor(private readonly now: () => number) {}

  readonly connect: Connector = (options) => {
    this.dials.push({ options, at: this.now() });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  };

  get pendingDials(): number {
    return this.waiting.length;
  }

  async succeed(localAddress = '127.0.0.1'): Promise<FakeConnection> {
    const c = new FakeConnection(localAddress);
    this.connections.push(c);
    this.next().resolve(c);
    await settle();
    return c;
  }

  async fail(message = 'connect ECONNREFUSED'): Promise<void> {
    this.next().reject(new Error(message));
    await settle();
  }

  private next(): { resolve: (c: BgpConnection) => void; reject: (e: Error) => void } {
    const w = this.waiting.shift();
    if (!w) throw new Error('no dial is waiting');
    return w;
  }
}

/** Lets promise callbacks run (no time passes: the fake clock stands still). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
