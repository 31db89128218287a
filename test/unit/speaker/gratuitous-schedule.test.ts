// The gratuitous schedule, driven by a hand-stepped clock. Expected send times are written out by
// hand from the rule (MetalLB's 1.1 s × 5 s burst; a restarted burst is due at once).
import { GratuitousSchedule, type GratuitousTiming } from '../../../src/speaker/layer2/gratuitous-schedule';

const METALLB: GratuitousTiming = { burstIntervalMs: 1100, burstDurationMs: 5000, refreshIntervalMs: 0 };

/** Steps the clock from `from` to `to` every `step` ms, running `at` hooks first; returns [time, key] sends. */
function run<K>(s: GratuitousSchedule<K>, from: number, to: number, step: number, at: Record<number, (now: number) => void> = {}): Array<[number, K]> {
  const sent: Array<[number, K]> = [];
  for (let now = from; now <= to; now += step) {
    at[now]?.(now);
    for (const k of s.takeDue(now)) sent.push([now, k]);
  }
  return sent;
}

describe('GratuitousSchedule', () => {
  it('a burst sends at once, then every interval while the window lasts', () => {
    const s = new GratuitousSchedule<string>(METALLB);
    s.burst('a', 0);
    expect(run(s, 0, 12_000, 100).map(([t]) => t)).toEqual([0, 1100, 2200, 3300, 4400]);
  });

  it('a burst restarted after its last frame but inside its window sends at once (the flaky-test defect)', () => {
    const s = new GratuitousSchedule<string>(METALLB);
    s.burst('a', 0);
    // 4700: the burst sent its last frame at 4400 and its window runs to 5000.
    const sent = run(s, 0, 12_000, 100, { 4700: (now) => s.burst('a', now) }).map(([t]) => t);
    expect(sent).toEqual([0, 1100, 2200, 3300, 4400, 4700, 5800, 6900, 8000, 9100]);
  });

  it('a burst restarted mid-burst sends at once and keeps its own cadence from then on', () => {
    const s = new GratuitousSchedule<string>(METALLB);
    s.burst('a', 0);
    const sent = run(s, 0, 12_000, 100, { 1500: (now) => s.burst('a', now) }).map(([t]) => t);
    expect(sent).toEqual([0, 1100, 1500, 2600, 3700, 4800, 5900]);
  });

  it('a late caller gets one frame per key, not a catch-up storm', () => {
    const s = new GratuitousSchedule<string>(METALLB);
    s.burst('a', 0);
    expect(s.takeDue(0)).toEqual(['a']);
    expect(s.takeDue(3500)).toEqual(['a']); // 1100, 2200, 3300 were missed: one frame now
    expect(s.nextDueAt()).toBe(4600);
    expect(s.takeDue(4599)).toEqual([]);
    expect(s.takeDue(4600)).toEqual(['a']); // still inside the 5000 ms window
    expect(s.nextDueAt()).toBe(Infinity); // 5700 would be past it
  });

  it('a zero duration sends only the first frame', () => {
    const s = new GratuitousSchedule<string>({ ...METALLB, burstDurationMs: 0 });
    s.burst('a', 0);
    expect(run(s, 0, 10_000, 100).map(([t]) => t)).toEqual([0]);
    expect(s.nextDueAt()).toBe(Infinity);
  });

  it('refresh sends one frame per period outside bursts only', () => {
    const s = new GratuitousSchedule<string>({ burstIntervalMs: 1000, burstDurationMs: 2500, refreshIntervalMs: 2000 });
    s.burst('a', 0);
    // Burst: 0, 1000, 2000. Refresh due at 2000 falls inside the window (2000 < 2500): skipped,
    // rescheduled to 4000; then 6000, 8000.
    expect(run(s, 0, 8000, 500).map(([t]) => t)).toEqual([0, 1000, 2000, 4000, 6000, 8000]);
  });

  it('forgets lost keys and counts open windows', () => {
    const s = new GratuitousSchedule<string>(METALLB);
    s.burst('a', 0);
    s.burst('b', 3000);
    expect(s.announcing(4000)).toBe(2);
    expect(s.announcing(6000)).toBe(1);
    s.retain((k) => k !== 'b');
    expect(s.announcing(6000)).toBe(0);
    expect(run(s, 0, 10_000, 100).map(([, k]) => k)).toEqual(['a', 'a', 'a', 'a', 'a']);
  });
});
