// The N-API addon. Calls that need CAP_NET_RAW (packet sockets) skip with a message when not root.
import * as fs from 'fs';
import * as net from 'net';
import { ETH_P_ARP, isNativeError, loadNative, nativeCandidates, NativeNotBuiltError, tryLoadNative } from '../../../src/net/native';
import { arpRequestFilter } from '../../../src/net/bpf';

const native = tryLoadNative();
const d = native ? describe : describe.skip;
if (!native) console.warn('skipping native addon tests: not built (npm run build:native)');
/** Addon errors come from the main realm, so match on the name rather than instanceof. */
const named = (name: string) => expect.objectContaining({ name });
const root = typeof process.getuid === 'function' && process.getuid() === 0;

d('native addon', () => {
  const n = native!;

  it('loads through loadNative() and exposes the API', () => {
    expect(loadNative()).toBe(n);
    for (const f of ['openPacketSocket', 'recv', 'send', 'addMembership', 'dropMembership', 'packetStats', 'setRecvBuffer', 'close', 'setTcpMd5', 'pollReadable', 'createEventFd', 'signalEventFd', 'drainEventFd', 'openRouteMonitor', 'drainRouteMonitor']) {
      expect(typeof (n as unknown as Record<string, unknown>)[f]).toBe('function');
    }
  });

  it('eventfd wakes pollReadable and drains', () => {
    const fd = n.createEventFd();
    try {
      expect(n.pollReadable([fd], 0)).toEqual([]);
      n.signalEventFd(fd);
      n.signalEventFd(fd);
      expect(n.pollReadable([fd], 1000)).toEqual([fd]);
      expect(n.drainEventFd(fd)).toBe(2);
      expect(n.drainEventFd(fd)).toBe(0);
    } finally {
      n.close(fd);
    }
  });

  it('opens a route monitor that polls and drains without blocking (events: test/e2e/net-responder)', () => {
    const fd = n.openRouteMonitor();
    try {
      expect(n.drainRouteMonitor(fd)).toBeGreaterThanOrEqual(-1);
      expect(n.drainRouteMonitor(fd)).toBe(0); // drained: nothing left, and no EAGAIN thrown
      expect(() => n.drainRouteMonitor('x' as unknown as number)).toThrow(named('TypeError'));
    } finally {
      n.close(fd);
    }
  });

  it('pollReadable honours fractional timeouts', () => {
    const fd = n.createEventFd();
    const t = process.hrtime.bigint();
    n.pollReadable([fd], 2.5);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    n.close(fd);
    expect(ms).toBeGreaterThanOrEqual(2);
    expect(ms).toBeLessThan(200);
  });

  it('lowMemoryNotification gives back the old-generation garbage of the calling thread', async () => {
    // In a Worker as in the responder: objects kept across young-generation collections are
    // promoted, then dropped; V8 keeps them until its (large) old-generation limit, the call takes them.
    const { Worker } = await import('node:worker_threads');
    const code = `
      const { parentPort } = require('worker_threads');
      const v8 = require('v8');
      const m = { exports: {} };
      process.dlopen(m, ${JSON.stringify(nativeCandidates().find((p) => fs.existsSync(p)))});
      let keep = [];
      for (let r = 0; r < 200; r++) { keep.push(Array.from({ length: 2000 }, (_, i) => ({ a: i, s: 'x' + i + r }))); if (keep.length > 20) keep.shift(); }
      keep = [];
      const before = v8.getHeapStatistics().total_heap_size;
      m.exports.lowMemoryNotification();
      parentPort.postMessage({ before, after: v8.getHeapStatistics().total_heap_size });`;
    const w = new Worker(code, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 3 } });
    const { before, after } = await new Promise<{ before: number; after: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    await w.terminate();
    expect(before - after).toBeGreaterThan(3 << 20);
  });

  it('throws Errors carrying the errno name', () => {
    expect.assertions(4);
    try {
      n.close(987654);
    } catch (e) {
      expect(isNativeError(e)).toBe(true);
      expect(e).toMatchObject({ code: 'EBADF', syscall: 'close' });
      expect((e as Error).message).toMatch(/Bad file descriptor/);
    }
    expect(() => n.recv(-1 as number, 'x' as unknown as Buffer)).toThrow(named('TypeError'));
  });

  it('validates arguments with TypeError/RangeError', () => {
    expect(() => n.openPacketSocket(0, ETH_P_ARP)).toThrow(named('RangeError'));
    expect(() => n.openPacketSocket(1, 0x10000)).toThrow(named('RangeError'));
    expect(() => n.openPacketSocket(1, ETH_P_ARP, [[1, 2, 3]] as never)).toThrow(named('TypeError'));
    expect(() => n.pollReadable('x' as never, 0)).toThrow(named('TypeError'));
  });

  (root ? it : it.skip)('opens a filtered packet socket on lo, reads nothing, closes', () => {
    const fd = n.openPacketSocket(1, ETH_P_ARP, arpRequestFilter());
    try {
      expect(n.recv(fd, Buffer.alloc(64), new Int32Array(3))).toBe(-1);
      expect(n.packetStats(fd)).toEqual({ packets: 0, drops: 0 });
      expect(n.setRecvBuffer(fd, 1 << 20)).toBeGreaterThanOrEqual(1 << 20);
      n.addMembership(fd, 1, Buffer.from('3333ff000090', 'hex'));
      n.dropMembership(fd, 1, Buffer.from('3333ff000090', 'hex'));
    } finally {
      n.close(fd);
    }
  });

  (root ? it : it.skip)('reports ENODEV for a missing interface', () => {
    expect(() => n.openPacketSocket(999999, ETH_P_ARP)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('sets and clears TCP_MD5SIG on a net.Server socket (IPv4 and IPv6)', async () => {
    for (const [host, peer] of [
      ['127.0.0.1', '127.0.0.2'],
      ['::1', '::2'],
      ['::', '198.51.100.1'], // dual-stack socket, IPv4 peer: v4-mapped key
    ] as const) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => server.listen(0, host, resolve).once('error', reject));
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      try {
        n.setTcpMd5(fd, peer, 'secret');
        n.setTcpMd5(fd, peer, Buffer.from('bin\0ary'));
        n.setTcpMd5(fd, peer, ''); // remove
      } catch (e) {
        if (isNativeError(e) && (e.code === 'ENOPROTOOPT' || e.code === 'ENOENT')) {
          console.warn(`TCP_MD5SIG unavailable here: ${e.message}`);
        } else throw e;
      } finally {
        await new Promise((r) => server.close(r));
      }
    }
  });

  it('rejects bad MD5 arguments', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      expect(() => n.setTcpMd5(fd, 'not-an-ip', 'k')).toThrow(named('TypeError'));
      expect(() => n.setTcpMd5(fd, '2001:db8::1', 'k')).toThrow(named('TypeError')); // IPv6 peer on an IPv4 socket
      expect(() => n.setTcpMd5(fd, '127.0.0.2', 'k'.repeat(81))).toThrow(named('RangeError'));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('native loader', () => {
  it('says how to build the addon when it is missing', () => {
    const err = new NativeNotBuiltError(['/nowhere/ironlb_native.node']);
    expect(err.message).toMatch(/run npm run build:native/);
  });

  it('searches native/build/Release upwards from the module', () => {
    expect(nativeCandidates('/a/b/src/net').slice(-4)).toContain('/a/native/build/Release/ironlb_native.node');
  });
});
