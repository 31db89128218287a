// The connection under a BGP session: the narrow interface the session uses (BgpConnection,
// with a hand-written fake in the unit tests) and its TCP implementation.
//
// Opening it (active side): Node cannot set TCP_MD5SIG or the TTL before connect(), so when the
// native addon is built the socket is made there (options first, then a non-blocking connect)
// and wrapped in a net.Socket once connected. Without the addon, net.connect is used: no TCP-MD5
// (an error) and the system default TTL.
//
// Reading is fair: after READ_BUDGET_OCTETS in one turn of the event loop, or when the receiver
// says it has had enough for now (a message budget: small messages are the expensive ones), the
// socket pauses until the next turn, so a peer sending at line rate cannot hold the loop (libuv
// reads up to 32 × 64 KiB per poll) and the heartbeats, timers and other sessions keep their turns.
import * as net from 'node:net';
import { tryLoadNative, type IronlbNative } from '../../net/native';

export interface DialOptions {
  readonly peerAddress: string;
  readonly port: number;
  readonly sourceAddress?: string;
  /** IP TTL / hop limit of our packets; 0 = system default. */
  readonly ttl: number;
  readonly md5Key?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export type Dialer = (o: DialOptions) => Promise<net.Socket>;

export class DialError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DialError';
  }
}

export function defaultDialer(): Dialer {
  const native = tryLoadNative();
  return native && typeof native.tcpConnect === 'function' ? (o) => nativeDial(native, o) : nodeDial;
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

async function nativeDial(native: IronlbNative, o: DialOptions): Promise<net.Socket> {
  let fd: number;
  try {
    fd = native.tcpConnect(o.peerAddress, o.port, o.sourceAddress ?? null, o.ttl, o.md5Key ?? null);
  } catch (e) {
    throw new DialError(`connect ${o.peerAddress}:${o.port}: ${(e as Error).message}`, errCode(e));
  }
  const deadline = Date.now() + o.timeoutMs;
  let wait = 2;
  for (;;) {
    let r: number;
    try {
      r = native.tcpConnectResult(fd);
    } catch (e) {
      native.close(fd);
      throw new DialError(`connect ${o.peerAddress}:${o.port}: ${(e as Error).message}`, errCode(e));
    }
    if (r === 0) break;
    if (o.signal?.aborted || Date.now() >= deadline) {
      native.close(fd);
      throw new DialError(`connect ${o.peerAddress}:${o.port}: ${o.signal?.aborted ? 'aborted' : 'timed out'}`, o.signal?.aborted ? 'ABORT_ERR' : 'ETIMEDOUT');
    }
    await new Promise((res) => setTimeout(res, wait));
    wait = Math.min(wait * 2, 50);
  }
  return new net.Socket({ fd, readable: true, writable: true });
}

function nodeDial(o: DialOptions): Promise<net.Socket> {
  if (o.md5Key) return Promise.reject(new DialError('TCP-MD5 needs the native addon (npm run build:native)', 'ENOTSUP'));
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: o.peerAddress, port: o.port, localAddress: o.sourceAddress });
    const fail = (e: Error): void => {
      cleanup();
      s.destroy();
      reject(new DialError(`connect ${o.peerAddress}:${o.port}: ${e.message}`, errCode(e)));
    };
    const timer = setTimeout(() => fail(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), o.timeoutMs);
    const onAbort = (): void => fail(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup(): void {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      s.removeListener('error', fail);
    }
    s.once('error', fail);
    s.once('connect', () => {
      cleanup();
      resolve(s);
    });
  });
}

export interface ConnectionHandlers {
  /** Octets received; false = the receiver kept some unprocessed: call again next turn (an empty chunk). */
  data(chunk: Buffer): boolean | void;
  /** Every octet written so far has been handed to the kernel. */
  drained(): void;
  closed(): void;
  error(e: Error): void;
}

/** One established BGP transport connection, as the session sees it. */
export interface BgpConnection {
  /** Our end's address (the NEXT_HOP we announce), IPv4-mapped IPv6 shown as IPv4. */
  readonly localAddress: string | undefined;
  /** Octets written and not yet handed to the kernel: what a peer that does not read makes us hold. */
  readonly queuedOctets: number;
  /** Some write has not been confirmed handed to the kernel yet (`drained` follows when all are). */
  readonly writesPending: boolean;
  listen(h: ConnectionHandlers): void;
  write(data: Buffer): void;
  /** Stops delivering events; sends `last` (if any) and closes, or drops at once without it. */
  close(last?: Buffer): void;
  /** Resolves when the connection is fully closed. */
  readonly closed: Promise<void>;
}

/** Opens a connection for a session: the dialer's socket wrapped, or a fake in tests. */
export type Connector = (o: DialOptions) => Promise<BgpConnection>;

/** Octets read per event-loop turn before the socket pauses until the next turn. */
export const READ_BUDGET_OCTETS = 256 * 1024;
/** How long a closing connection may take to flush its last message before it is dropped. */
const CLOSE_LINGER_MS = 1000;

export function tcpConnector(dialer: Dialer = defaultDialer()): Connector {
  return async (o) => new TcpConnection(await dialer(o));
}

class TcpConnection implements BgpConnection {
  readonly localAddress: string | undefined;
  readonly closed: Promise<void>;
  private handlers?: ConnectionHandlers;
  private unflushed = 0;
  private readThisTurn = 0;
  private yielding = false;

  constructor(private readonly socket: net.Socket) {
    this.localAddress = socket.localAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: Error) => this.handlers?.error(e));
    socket.on('close', () => this.handlers?.closed());
  }

  get queuedOctets(): number {
    return this.socket.writableLength;
  }

  get writesPending(): boolean {
    return this.unflushed > 0;
  }

  listen(h: ConnectionHandlers): void {
    this.handlers = h;
  }

  write(data: Buffer): void {
    if (this.socket.destroyed) return;
    this.unflushed++;
    this.socket.write(data, () => {
      if (--this.unflushed === 0) this.handlers?.drained();
    });
  }

  close(last?: Buffer): void {
    this.handlers = undefined;
    const s = this.socket;
    s.removeAllListeners('data');
    s.on('error', () => undefined);
    if (last && !s.destroyed) {
      s.write(last);
      s.end();
      setTimeout(() => s.destroy(), CLOSE_LINGER_MS).unref();
    } else {
      s.destroy();
    }
  }

  private onData(chunk: Buffer): void {
    if (this.readThisTurn === 0) setImmediate(() => (this.readThisTurn = 0));
    this.readThisTurn += chunk.length;
    const done = this.handlers?.data(chunk) !== false;
    if ((!done || this.readThisTurn >= READ_BUDGET_OCTETS) && !this.yielding) this.yieldTurn();
  }

  /** Stops reading until the next turn of the event loop (libuv stops once the stream's small buffer fills). */
  private yieldTurn(): void {
    this.yielding = true;
    this.socket.pause();
    setImmediate(() => {
      this.yielding = false;
      if (!this.handlers || this.socket.destroyed) return;
      // What the receiver kept back comes first; it may need further turns.
      if (this.handlers.data(EMPTY) === false) return this.yieldTurn();
      this.socket.resume();
    });
  }
}

const EMPTY = Buffer.alloc(0);
