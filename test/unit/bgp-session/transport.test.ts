// The TCP connection under a session, over loopback: reads yield to the event loop after
// READ_BUDGET_OCTETS per turn, and writes report when all of them reached the kernel.
import * as net from 'node:net';
import { READ_BUDGET_OCTETS, tcpConnector, type BgpConnection } from '../../../src/speaker/bgp/transport';

let server: net.Server | undefined;
let conn: BgpConnection | undefined;

afterEach(async () => {
  conn?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function connectTo(onPeer: (s: net.Socket) => void): Promise<BgpConnection> {
  server = net.createServer(onPeer);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return tcpConnector()({ peerAddress: '127.0.0.1', port, ttl: 0, timeoutMs: 5000 });
}

describe('TCP BgpConnection', () => {
  it(`reads at most about ${READ_BUDGET_OCTETS / 1024} KiB per event-loop turn, however fast the peer sends`, async () => {
    const total = 8 * 1024 * 1024;
    conn = await connectTo((s) => s.end(Buffer.alloc(total, 0x5a)));
    const perTurn: number[] = [0];
    let received = 0;
    // A turn ends when the check phase runs: count what each turn delivered.
    const marker = (): void => {
      perTurn.push(0);
      if (received < total) setImmediate(marker);
    };
    setImmediate(marker);
    await new Promise<void>((resolve) => {
      conn?.listen({
        data: (chunk) => {
          perTurn[perTurn.length - 1] += chunk.length;
          received += chunk.length;
        },
        drained: () => undefined,
        closed: () => resolve(),
        error: () => undefined,
      });
    });
    expect(received).toBe(total);
    // The budget, plus what the stream had already read when it paused (one 64 KiB read at most).
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(READ_BUDGET_OCTETS + 64 * 1024);
  });

  it('reports drained once every write has reached the kernel, and says writes are pending until then', async () => {
    conn = await connectTo((s) => s.resume());
    const drained = new Promise<void>((resolve) => conn?.listen({ data: () => undefined, drained: resolve, closed: () => undefined, error: () => undefined }));
    conn.write(Buffer.alloc(1000));
    conn.write(Buffer.alloc(1000));
    expect(conn.writesPending).toBe(true);
    await drained;
    expect(conn.writesPending).toBe(false);
    expect(conn.queuedOctets).toBe(0);
  });
});
