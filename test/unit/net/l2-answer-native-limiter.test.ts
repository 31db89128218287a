// The C ReplyLimiter (l2_limiter_* in native/src/l2_answer.c) against the TypeScript one
// (src/speaker/layer2/reply-limiter.ts), decision by decision.
import fc from 'fast-check';
import { tryLoadNative } from '../../../src/net/native';
import { ReplyLimiter } from '../../../src/speaker/layer2/reply-limiter';

const native = tryLoadNative();
const d = native ? describe : describe.skip;
if (!native) console.warn('skipping the C reply limiter tests: the addon is not built (npm run build:native)');
const named = (name: string) => expect.objectContaining({ name });

/** A few MACs, so that with few slots they share buckets. */
const MACS = Array.from({ length: 12 }, (_, i) => Buffer.from([2, 0, 0, 0, i >> 1, i * 37]));

const rateArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, -1, Number.NaN, 0.5, 1, 3, 10, 100, 1000, 1e6) },
  { weight: 2, arbitrary: fc.double({ min: 0.001, max: 10_000, noNaN: true }) },
);
const burstArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 0.5, 1, 1.5, 2, 5, 200) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 50, noNaN: true }) },
);
type Event = { kind: 'allow'; mac: number; dt: number } | { kind: 'set'; rate: number; burst: number };
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      kind: fc.constant('allow' as const),
      mac: fc.nat(MACS.length - 1),
      dt: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 40, noNaN: true }), fc.integer({ min: 0, max: 3000 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('set' as const), rate: rateArb, burst: burstArb }) },
);

d('C reply limiter against ReplyLimiter', () => {
  const n = native!;

  it('hand rows: a full burst, then the rate; rate 0 is no limit; set() refills every bucket', () => {
    const a = MACS[0];
    const c = n.l2LimiterTest(10, 3, 16);
    expect([0, 0, 0, 0].map(() => n.l2LimiterAllowTest(c, a, 1000))).toEqual([true, true, true, false]);
    expect(n.l2LimiterAllowTest(c, a, 1050)).toBe(false); // half a token
    expect(n.l2LimiterAllowTest(c, a, 1100)).toBe(true); // one token after 100 ms at 10/s
    expect(n.l2LimiterAllowTest(c, MACS[1], 1100)).toBe(true); // another source, another bucket
    expect([0, 0, 0, 0].map(() => n.l2LimiterAllowTest(c, a, 60_000))).toEqual([true, true, true, false]); // a long quiet: the burst, no more
    n.l2LimiterSetTest(c, 10, 3);
    expect([0, 0, 0, 0].map(() => n.l2LimiterAllowTest(c, a, 60_000))).toEqual([true, true, true, false]);
    n.l2LimiterSetTest(c, 0, 0);
    expect(Array.from({ length: 1000 }, () => n.l2LimiterAllowTest(c, a, 1100)).every(Boolean)).toBe(true);
  });

  it('one slot: every source shares one bucket', () => {
    const c = n.l2LimiterTest(1, 2, 1);
    expect(MACS.slice(0, 3).map((m) => n.l2LimiterAllowTest(c, m, 0))).toEqual([true, true, false]);
  });

  it('random sequences (shared slots, equal and fractional times, new limits) decide as ReplyLimiter does', () => {
    let decisions = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        rateArb,
        burstArb,
        fc.constantFrom(0, 1, 2, 3, 4, 5, 16, 4096),
        fc.constantFrom(0, 123.456, 1e9, -500),
        fc.array(eventArb, { maxLength: 150, size: 'max' }),
        (rate, burst, slots, start, events) => {
          const ts = new ReplyLimiter({ ratePerSecond: rate, burst }, slots);
          const c = n.l2LimiterTest(rate, burst, slots);
          let now = start;
          for (const [i, e] of events.entries()) {
            if (e.kind === 'set') {
              ts.setLimit({ ratePerSecond: e.rate, burst: e.burst });
              n.l2LimiterSetTest(c, e.rate, e.burst);
              continue;
            }
            now += e.dt;
            const want = ts.allow(MACS[e.mac], 0, now);
            if (n.l2LimiterAllowTest(c, MACS[e.mac], now) !== want) throw new Error(`event ${i} (mac ${e.mac} at ${now}): C ${!want}, TS ${want}`);
            decisions++;
            if (!want) refused++;
          }
        },
      ),
      { numRuns: 2000 },
    );
    expect(refused).toBeGreaterThan(decisions / 20);
    expect(refused).toBeLessThan(decisions);
  });

  it('decides as ReplyLimiter does for times that are not finite (NaN, infinities) and that go back', () => {
    const ts = new ReplyLimiter({ ratePerSecond: 2, burst: 2 }, 2);
    const c = n.l2LimiterTest(2, 2, 2);
    const times = [0, 0, 0, Number.NaN, 1, 5000, Number.NaN, 10, -Infinity, -Infinity, 3, 3, 3, Infinity, Infinity, 2, 1e12, 1e12, 1e12];
    const seen = times.map((t, i) => {
      const want = ts.allow(MACS[i % 3], 0, t);
      expect([i, n.l2LimiterAllowTest(c, MACS[i % 3], t)]).toEqual([i, want]);
      return want;
    });
    expect(seen).toContain(false);
  });

  it('reads the MAC at its offset like allow(mac, at, now) does', () => {
    const ts = new ReplyLimiter({ ratePerSecond: 1, burst: 1 }, 4);
    const c = n.l2LimiterTest(1, 1, 4);
    const frame = Buffer.concat([Buffer.alloc(22, 0xee), MACS[5]]);
    for (let t = 0; t < 5000; t += 250) expect(n.l2LimiterAllowTest(c, frame.subarray(22, 28), t)).toBe(ts.allow(frame, 22, t));
  });

  it('refuses bad arguments with TypeError or RangeError', () => {
    const c = n.l2LimiterTest(1, 1, 4);
    expect(() => n.l2LimiterTest(1, 1, 1.5)).toThrow(named('RangeError'));
    expect(() => n.l2LimiterTest(1, 1, 2 ** 25)).toThrow(named('RangeError'));
    expect(() => n.l2LimiterTest('1' as never, 1, 4)).toThrow(named('TypeError'));
    expect(() => n.l2LimiterAllowTest(c, Buffer.alloc(5), 0)).toThrow(named('RangeError'));
    expect(() => n.l2LimiterAllowTest(n.l2OwnedTest([]) as never, MACS[0], 0)).toThrow(named('TypeError'));
    expect(() => n.l2LimiterSetTest(c, 1, 'x' as never)).toThrow(named('TypeError'));
  });
});
