// The heartbeat transport on loopback: a peer's authentic heartbeat reaches onHeartbeat with its
// arrival time and source; a flood of forgeries from the peer's address costs at most the burst
// in MAC checks, the rest is rate-limited in the pump, the peer is reported as unverified, and the
// counters add up the pump's drops and the main thread's.
import { tryLoadNative } from '../../../src/net/native';
import { nullLogger } from '../../../src/util/log';
import { encodeHeartbeat, heartbeatKey, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';
import { HeartbeatTransport, type ReceivedHeartbeat, type ReceiverCounters } from '../../../src/speaker/membership/heartbeat-transport';

const native = tryLoadNative();
const maybe = native ? describe : describe.skip;
const key = heartbeatKey(Buffer.alloc(32, 3));
const hb = (sequence: number): Heartbeat => ({ node: 'peer', addressee: 'self', incarnation: 1, sequence, timestamp: 1, flags: 0, echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0 });

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

maybe('HeartbeatTransport (loopback)', () => {
  it('delivers authentic heartbeats and keeps a flood of forgeries off the main thread', async () => {
    const received: ReceivedHeartbeat[] = [];
    const unverified: string[] = [];
    let counters: ReceiverCounters | undefined;
    let transport: HeartbeatTransport | undefined;
    let port = 0;
    // A free port: the transport binds the wildcard address.
    for (let tries = 0; !transport; tries++) {
      port = 20000 + Math.floor(Math.random() * 30000);
      const t = new HeartbeatTransport({
        port,
        self: 'self',
        intervalMs: 100,
        log: nullLogger,
        onHeartbeat: (r) => received.push(r),
        onUnverified: (nodes) => unverified.push(...nodes),
        onCounters: (c) => (counters = c),
      });
      await t.startReceiver();
      try {
        t.open(new Map([['peer', '127.0.0.1'], ['self', '127.0.0.2']]));
        transport = t;
      } catch (e) {
        await t.stop();
        if (tries > 20) throw e;
      }
    }
    try {
      transport.setKeys([key]);
      const before = Number(process.hrtime.bigint()) / 1e6;
      expect(transport.send('127.0.0.1', encodeHeartbeat(hb(1), key))).toBe(true);
      await until('the heartbeat', () => received.length === 1);
      expect(received[0]).toMatchObject({ heartbeat: hb(1), keyId: key.id, from: '127.0.0.1' });
      expect(received[0].at).toBeGreaterThanOrEqual(before);
      expect(received[0].at).toBeLessThanOrEqual(Number(process.hrtime.bigint()) / 1e6);

      // 200 forgeries at once: the burst (20, one token already spent) is checked and refused, the rest never leaves the pump.
      const forged = { id: key.id, secret: Buffer.alloc(32, 9) };
      for (let i = 0; i < 200; i++) transport.send('127.0.0.1', encodeHeartbeat(hb(100 + i), forged));
      await until('the counters', () => (counters?.dropped.forged ?? 0) + (counters?.dropped['rate-limited'] ?? 0) >= 200);
      expect(counters?.dropped.forged).toBeGreaterThanOrEqual(19);
      // Refill at 100/s while the datagrams arrive: a few more than the burst may be checked.
      expect(counters?.dropped.forged).toBeLessThanOrEqual(30);
      expect(counters?.accepted).toBe(1);
      expect(counters?.lastFrom['rate-limited']).toBe('127.0.0.1');
      expect(unverified).toContain('peer');
      expect(received).toHaveLength(1);
    } finally {
      await transport.stop();
    }
  });
});
