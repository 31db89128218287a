// Opening the TCP connection of a BGP session (active side). Node cannot set TCP_MD5SIG or the
// TTL before connect(), so when the native addon is built the socket is made there (options
// first, then a non-blocking connect) and wrapped in a net.Socket once connected. Without the
// addon, net.connect is used: no TCP-MD5 (an error) and the system default TTL.
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
