// The heartbeat pump (native/src/heartbeat_pump.c) on loopback with a manual clock: what it sends
// and when (the signed-ahead heartbeats), and what it passes on to the main thread (sources, rate
// limit, arrival time, queue bound). The tables are written from the rules in the C file's header;
// the random runs compare the pump with a TypeScript model of the send rule written apart from it
// (test/support/send-schedule-model.ts) and with a token bucket written here.
import fc from 'fast-check';
import { PUMP_SLOT, tryLoadNative } from '../../../src/net/native';
import { HEARTBEAT_MAX_LEN } from '../../../src/speaker/membership/heartbeat-codec';
import { PumpHarness } from '../../support/pump-harness';
import { SendSchedule } from '../../support/send-schedule-model';

const native = tryLoadNative();
const maybe = native ? describe : describe.skip;

/** Every harness a test opened is closed after it, whatever happened. */
const opened: PumpHarness[] = [];
function harness(options?: ConstructorParameters<typeof PumpHarness>[1]): PumpHarness {
  const made = new PumpHarness(native!, options);
  opened.push(made);
  return made;
}
afterEach(() => {
  for (const made of opened.splice(0)) made.close();
});

maybe('heartbeat pump: sends', () => {
  let h: PumpHarness;
  const start = (peers: string[]): PumpHarness => (h = harness({ peers, minGapMs: 50 }));

  it('sends each packet when due, then nothing once the signed horizon is used up', async () => {
    start(['b']);
    await h.at(1000);
    h.schedule([{ peer: 'b', first: 1, offsetsMs: [0, 100, 200, 300] }]);
    await h.settle();
    expect(h.sent(['b'])).toEqual([['b', 1]]);
    await h.at(1099);
    expect(h.sent(['b'])).toEqual([]);
    await h.at(1100);
    expect(h.sent(['b'])).toEqual([['b', 2]]);
    await h.at(1200);
    expect(h.sent(['b'])).toEqual([['b', 3]]);
    await h.at(1300);
    expect(h.sent(['b'])).toEqual([['b', 4]]);
    // The main thread signed nothing more (stalled past the horizon, or wedged): silence.
    await h.at(2000);
    expect(h.sent(['b'])).toEqual([]);
    expect(h.pump.stats()).toMatchObject({ sent: 4, sendFailed: 0 });
  });

  it('after a stall sends only the newest due packet', async () => {
    start(['b']);
    h.schedule([{ peer: 'b', first: 1, offsetsMs: [10, 100, 200, 300] }]);
    await h.at(250);
    expect(h.sent(['b'])).toEqual([['b', 3]]); // 1 and 2 are stale news
    await h.at(299);
    expect(h.sent(['b'])).toEqual([]); // 4 is due at 300
    await h.at(300);
    expect(h.sent(['b'])).toEqual([['b', 4]]); // 50 ms after the last send: not closer than the minimum
  });

  it('keeps half an interval between two packets to one peer across a replacement', async () => {
    start(['b', 'c']);
    h.schedule([
      { peer: 'b', first: 1, offsetsMs: [0, 100, 200] },
      { peer: 'c', first: 11, offsetsMs: [0, 100, 200] },
    ]);
    await h.settle();
    expect(h.sent(['b', 'c'])).toEqual([['b', 1], ['c', 11]]);
    await h.at(100);
    expect(h.sent(['b', 'c'])).toEqual([['b', 2], ['c', 12]]);
    // The next tick's schedule arrives at 103: its first packet would follow 3 ms after the last one.
    await h.at(103);
    h.schedule([{ peer: 'b', first: 21, offsetsMs: [0, 100, 200] }]);
    await h.settle();
    expect(h.sent(['b', 'c'])).toEqual([]); // b's 21 dropped (3 < 50); c is no longer scheduled
    await h.at(203);
    expect(h.sent(['b', 'c'])).toEqual([['b', 22]]);
    // A replacement 60 ms after the last send goes out at once.
    await h.at(263);
    h.schedule([{ peer: 'b', first: 31, offsetsMs: [0, 100] }]);
    await h.settle();
    expect(h.sent(['b', 'c'])).toEqual([['b', 31]]);
  });

  it('an empty schedule stops the sends (leaving)', async () => {
    start(['b']);
    h.schedule([{ peer: 'b', first: 1, offsetsMs: [0, 100, 200] }]);
    await h.settle();
    expect(h.sent(['b'])).toEqual([['b', 1]]);
    await h.at(10);
    h.schedule([]);
    await h.at(500);
    expect(h.sent(['b'])).toEqual([]);
  });

  it('sends what the TypeScript model of the rule sends, for random schedules and clocks', async () => {
    const names = ['b', 'c', 'd'];
    const step = fc.oneof(
      fc.record({ kind: fc.constant('clock' as const), advance: fc.integer({ min: 0, max: 160 }) }),
      fc.record({
        kind: fc.constant('schedule' as const),
        peers: fc.subarray(names).chain((peers) => fc.tuple(...peers.map((p) => fc.record({ peer: fc.constant(p), offsets: fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 5 }) })))),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        h = harness({ peers: names, minGapMs: 50 });
        try {
          const model = new SendSchedule(50);
          let now = 0;
          let next = 1;
          for (const s of steps) {
            if (s.kind === 'clock') {
              now += s.advance;
              await h.at(now);
            } else {
              const peers = s.peers.map((p) => ({ peer: p.peer, first: next, offsetsMs: [...p.offsets].sort((a, b) => a - b) }));
              next += 5;
              h.schedule(peers);
              model.replace(peers.map((p) => ({ address: p.peer, fd: 0, packets: p.offsetsMs.map((_, i) => Uint8Array.of(p.first + i)), offsetsMs: p.offsetsMs })), now);
              await h.settle();
            }
            const expected = model.due(now).map((d): [string, number] => [d.address, d.packet[0]]);
            expect(h.sent(names)).toEqual(names.flatMap((n) => expected.filter(([a]) => a === n)));
          }
        } finally {
          h.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});

maybe('heartbeat pump: receives', () => {
  let h: PumpHarness;

  it('holds the largest heartbeat whole in one slot', () => {
    expect(HEARTBEAT_MAX_LEN).toBeLessThanOrEqual(PUMP_SLOT);
  });

  it('passes on datagrams from peer addresses with their arrival time, and drops every other source', async () => {
    h = harness({ manualClockMs: 5000 });
    h.pump.sources(['127.0.0.1', '198.51.100.7']);
    h.sendFromLoopback(Buffer.from('one'));
    await h.sendFrom('127.0.0.2', Buffer.from('stranger'));
    await h.received(2);
    expect(h.takeAll()).toEqual([{ data: Buffer.from('one'), family: 4, source: '127.0.0.1', at: 5000 }]);
    expect(h.pump.stats()).toMatchObject({ received: 2, queued: 1, unknownSource: 1, lastUnknownFrom: '127.0.0.2' });
  });

  it('rate-limits per source address before anything reaches this thread, refilling at the configured rate', async () => {
    h = harness({ ratePerSecond: 100, burst: 20, capacity: 64 });
    h.pump.sources(['127.0.0.1', '127.0.0.2']);
    await h.settle();
    for (let i = 0; i < 30; i++) h.sendFromLoopback(Uint8Array.of(i));
    await h.received(30);
    expect(h.takeAll().map((d) => d.data?.[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(h.pump.stats()).toMatchObject({ rateLimited: 10, lastLimitedFrom: '127.0.0.1' });
    // The rate-limited sources are reported once (the main thread treats them as vouched for).
    expect(h.pump.limitedSources()).toEqual(['127.0.0.1']);
    expect(h.pump.limitedSources()).toEqual([]);
    // Another peer's budget is untouched.
    await h.sendFrom('127.0.0.2', Buffer.from('b'));
    await h.received(31);
    expect(h.takeAll().map((d) => d.source)).toEqual(['127.0.0.2']);
    // 100/s: 10 ms buys one more; 25 ms two (not three).
    await h.at(10);
    h.sendFromLoopback(Uint8Array.of(100));
    h.sendFromLoopback(Uint8Array.of(101));
    await h.received(33);
    expect(h.takeAll().map((d) => d.data?.[0])).toEqual([100]);
    await h.at(35);
    for (let i = 0; i < 3; i++) h.sendFromLoopback(Uint8Array.of(110 + i));
    await h.received(36);
    expect(h.takeAll().map((d) => d.data?.[0])).toEqual([110, 111]);
  });

  it('admits what a token bucket written apart admits, for random arrival times', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ advance: fc.integer({ min: 0, max: 40 }), count: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 10 }), async (bursts) => {
        h = harness({ ratePerSecond: 50, burst: 4, capacity: 256 });
        try {
          h.pump.sources(['127.0.0.1']);
          let tokens = 4;
          let now = 0;
          let sent = 0;
          let seq = 0;
          for (const b of bursts) {
            now += b.advance;
            tokens = Math.min(4, tokens + (b.advance * 50) / 1000);
            await h.at(now);
            const expected: number[] = [];
            for (let i = 0; i < b.count; i++, seq++) {
              h.sendFromLoopback(Uint8Array.of(seq & 255));
              if (tokens >= 1) {
                tokens -= 1;
                expected.push(seq & 255);
              }
            }
            sent += b.count;
            await h.received(sent);
            expect(h.takeAll().map((d) => d.data?.[0])).toEqual(expected);
          }
        } finally {
          h.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it('keeps the newest datagrams when the main thread does not take them in time', async () => {
    h = harness({ capacity: 4, burst: 50, ratePerSecond: 0 });
    h.pump.sources(['127.0.0.1']);
    for (let i = 0; i < 10; i++) h.sendFromLoopback(Uint8Array.of(i));
    await h.received(10);
    expect(h.takeAll().map((d) => d.data?.[0])).toEqual([6, 7, 8, 9]);
    expect(h.pump.stats()).toMatchObject({ overflow: 6, queued: 10 });
  });

  it('passes on a datagram longer than its slot without its bytes, to be counted as malformed', async () => {
    h = harness();
    h.pump.sources(['127.0.0.1']);
    h.sendFromLoopback(Buffer.alloc(2000, 1));
    await h.received(1);
    expect(h.takeAll()).toEqual([{ data: undefined, family: 4, source: '127.0.0.1', at: 0 }]);
    expect(h.pump.stats().truncated).toBe(1);
  });

  it('passes on random datagrams byte for byte, of random lengths and at the edges of a slot (fuzz)', async () => {
    h = harness({ ratePerSecond: 0, burst: 5000, capacity: 4096 });
    h.pump.sources(['127.0.0.1']);
    const sent = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 1100 }), { numRuns: 1500, seed: 42 });
    sent.push(new Uint8Array(0), new Uint8Array(1024), new Uint8Array(1025), new Uint8Array(9000));
    let taken: Array<Buffer | undefined> = [];
    for (let i = 0; i < sent.length; i += 100) {
      // In slices, so that the socket's receive queue never overflows.
      for (const d of sent.slice(i, i + 100)) h.sendFromLoopback(d);
      await h.received(Math.min(i + 100, sent.length));
      taken = taken.concat(h.takeAll().map((d) => d.data));
    }
    expect(taken).toHaveLength(sent.length);
    taken.forEach((d, i) => {
      if (sent[i].length > 1024) expect(d).toBeUndefined();
      else expect(d && Buffer.compare(d, Buffer.from(sent[i]))).toBe(0);
    });
    expect(h.pump.stats()).toMatchObject({ truncated: sent.filter((d) => d.length > 1024).length, overflow: 0 });
  });

  it('stops polling a socket closed under it instead of spinning on it', async () => {
    h = harness();
    await h.settle();
    h.closeSocketUnderPump();
    await h.settle();
    const passes = h.pump.stats().passes;
    await new Promise((r) => setTimeout(r, 100));
    // With the manual clock an idle pass waits up to 1 s: a thread spinning on POLLNVAL makes thousands.
    expect(h.pump.stats().passes - passes).toBeLessThan(5);
    expect(h.pump.stats().pollErrors).toBe(1);
  });

  it('calls back when datagrams are queued, and a stopped pump refuses calls', async () => {
    h = harness();
    h.pump.sources(['127.0.0.1']);
    for (let i = 0; i < 3; i++) h.sendFromLoopback(Uint8Array.of(i));
    // Nothing here takes the datagrams: the pump's callback must.
    for (let i = 0; h.peek().length < 3; i++) {
      if (i > 2000) throw new Error(`the callback took ${h.peek().length} of 3 datagrams in 2 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(h.peek().map((d) => d.data?.[0])).toEqual([0, 1, 2]);
    h.pump.stop();
    h.pump.stop(); // idempotent
    expect(() => h.pump.stats()).toThrow(/stopped/);
  });
});
