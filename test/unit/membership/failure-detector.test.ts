// The adaptive failure detector and the view's use of it. Every expected value is worked out by
// hand in the comments (longest gap + margin, clamped), never computed with the code under test.
import { adaptiveDeadline, ArrivalWindow, StallClock, type DetectorOptions } from '../../../src/speaker/membership/failure-detector';
import { FLAG_LEAVING, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';
import { HeartbeatView } from '../../../src/speaker/membership/heartbeat-view';

const O: DetectorOptions = { floorMs: 150, ceilingMs: 500, marginMs: 100, minSamples: 8, window: 50 };

describe('adaptiveDeadline', () => {
  it('is the ceiling until minSamples gaps are known', () => {
    expect(adaptiveDeadline([], O)).toBe(500);
    expect(adaptiveDeadline([100, 100, 100, 100, 100, 100, 100], O)).toBe(500); // 7 < 8
  });

  it('is the longest gap + margin, clamped', () => {
    // longest 100: 100 + 100
    expect(adaptiveDeadline(Array(8).fill(100), O)).toBe(200);
    // 90/110 alternating: 110 + 100
    expect(adaptiveDeadline([90, 110, 90, 110, 90, 110, 90, 110], O)).toBe(210);
    // 50/150: 150 + 100
    expect(adaptiveDeadline([50, 150, 50, 150, 50, 150, 50, 150], O)).toBe(250);
    // One extra send (a 10-ms gap) among steady ones changes nothing: still 100 + 100. (With
    // mean + 4σ + margin, the first design, it was 88.75 + 4 × 29.8 + 100 ≈ 308.)
    expect(adaptiveDeadline([10, 100, 100, 100, 100, 100, 100, 100], O)).toBe(200);
    // One 450-ms gap: 550, above the ceiling
    expect(adaptiveDeadline([100, 100, 100, 100, 100, 100, 100, 450], O)).toBe(500);
    // margin 0, steady 100: 100, below the floor
    expect(adaptiveDeadline(Array(8).fill(100), { ...O, marginMs: 0 })).toBe(150);
  });
});

describe('ArrivalWindow', () => {
  it('learns the rhythm from arrivals, keeps the last `window` gaps, skips deaths and our own stalls', () => {
    const w = new ArrivalWindow({ ...O, minSamples: 4, window: 4 });
    for (const t of [0, 100, 200, 300]) w.arrived(t);
    expect(w.samples).toBe(3);
    expect(w.deadlineMs()).toBe(500); // 3 < 4
    w.arrived(400);
    expect(w.deadlineMs()).toBe(200); // four gaps of 100
    w.arrived(1000); // 600 > ceiling: the peer was dead and came back, not a gap of its rhythm
    expect(w.samples).toBe(4);
    expect(w.deadlineMs()).toBe(200);
    w.arrived(1300); // one 300-ms gap: 300 + 100
    expect(w.deadlineMs()).toBe(400);
    // A gap that began before our stall ended (1550) measures us, not the peer: skipped
    w.arrived(1700, 1550);
    expect([w.samples, w.deadlineMs()]).toEqual([4, 400]);
    // Three more 100-ms gaps: the 300 is still among the last four
    for (const t of [1800, 1900, 2000]) w.arrived(t);
    expect(w.deadlineMs()).toBe(400);
    w.arrived(2100); // now evicted: 100 + 100
    expect(w.deadlineMs()).toBe(200);
    w.reset();
    expect([w.samples, w.deadlineMs()]).toEqual([0, 500]);
  });
});

describe('StallClock', () => {
  it('forgives a look gap longer than the stall bound, minus one look period', () => {
    const c = new StallClock(25, 100);
    expect([c.look(0), c.look(25), c.look(125)]).toEqual([0, 0, 0]); // 100 is not > 100
    expect(c.stalledUntil).toBe(-Infinity);
    expect(c.look(426)).toBe(276); // gap 301 - 25
    expect(c.stalledUntil).toBe(426);
    expect(c.look(400)).toBe(0); // a clock that went back is no stall
  });
});

const hb = (node: string, incarnation: number, sequence: number): Heartbeat => ({
  node,
  addressee: 'a',
  incarnation,
  sequence,
  timestamp: 5000,
  flags: 0,
  echoTimestamp: 0,
  echoDelayMs: 0,
  echoIncarnation: 0,
  echoSequence: 0,
});

/** b sends 9 heartbeats 100 ms apart (0..800): 8 gaps of 100 ms. */
function steady(v: HeartbeatView): void {
  for (let i = 0; i < 9; i++) v.accept(hb('b', 1, i + 1), i * 100);
}

describe('HeartbeatView with adaptive detection (interval 100, floor 2, ceiling 5 intervals, margin 1 interval)', () => {
  const view = (adaptive?: boolean): HeartbeatView => new HeartbeatView({ self: 'a', intervalMs: 100, adaptive });

  it('declares a steady peer dead after 200 ms of silence instead of 500', () => {
    const v = view();
    steady(v);
    // longest gap 100: deadline 100 + 100 = 200; suspect at 3/5 of it, 120
    expect(v.deadlineFor('b')).toBe(200);
    expect([v.state('b', 920), v.state('b', 921), v.state('b', 1000), v.state('b', 1001)]).toEqual(['alive', 'suspect', 'suspect', 'dead']);
  });

  it('gives a jittery peer longer, and the fixed rule when adaptive detection is off', () => {
    const v = view();
    // gaps 50/150 alternating (8 gaps), last at 800: deadline 150 + 100 = 250
    for (const [i, t] of [0, 50, 200, 250, 400, 450, 600, 650, 800].entries()) v.accept(hb('b', 1, i + 1), t);
    expect([v.state('b', 1050), v.state('b', 1051)]).toEqual(['suspect', 'dead']);
    const fixed = view(false);
    steady(fixed);
    expect([fixed.state('b', 1300), fixed.state('b', 1301)]).toEqual(['suspect', 'dead']);
  });

  it('starts a restarted peer (new incarnation) from the ceiling again', () => {
    const v = view();
    steady(v);
    v.accept(hb('b', 2, 1), 900);
    expect(v.deadlineFor('b')).toBe(500);
    expect([v.state('b', 1400), v.state('b', 1401)]).toEqual(['suspect', 'dead']);
  });

  it('forgives a stall of our own loop: queued heartbeats are not silence (dead at 200 ms without observe)', () => {
    const v = view();
    steady(v);
    for (let t = 800; t <= 900; t += 25) v.observe(t);
    // We stall from 900 to 1150 (a 250-ms look gap); b's heartbeats of 900..1100 wait in a queue.
    v.observe(1150); // forgives 250 - 25 = 225: b's last heard moves from 800 to 1025
    expect(v.state('b', 1150)).not.toBe('dead'); // silence 125 of 200
    // The queued heartbeat is read at 1160; its gap (800 -> 1160) spans our stall: no sample.
    v.accept(hb('b', 1, 10), 1160);
    expect(v.deadlineFor('b')).toBe(200);
    // b really dies now: found 200 ms after its last heartbeat, our looks on time again.
    for (let t = 1175; t <= 1350; t += 25) v.observe(t);
    expect([v.state('b', 1360), v.state('b', 1361)]).toEqual(['suspect', 'dead']);
  });

  it('a stall never revives a peer that was already dead', () => {
    const v = view();
    steady(v);
    v.observe(1100); // b dead (silence 300 > 200)
    expect(v.state('b', 1100)).toBe('dead');
    v.observe(2100); // a 1-s stall forgives 975: last heard 1775, silence 325
    expect(v.state('b', 2100)).toBe('dead');
  });

  it('replayed heartbeats neither keep a dead peer alive nor stretch its deadline, nor kill a live one', () => {
    const v = view();
    steady(v);
    // b dies after 800; its captured heartbeats are replayed 400 ms apart. Had they counted, b
    // would be heard again and a 400-ms gap would push its deadline to the ceiling.
    for (const t of [950, 1350]) expect(v.accept(hb('b', 1, 9), t)).toBe('replayed');
    expect(v.state('b', 1001)).toBe('dead');
    expect(v.state('b', 1360)).toBe('dead');
    expect(v.deadlineFor('b')).toBe(200);
    // c, alive in its second life: a replayed LEAVING heartbeat of its first life is refused.
    for (let i = 0; i < 9; i++) v.accept(hb('c', 2, i + 1), i * 100);
    expect(v.accept({ ...hb('c', 1, 50), flags: FLAG_LEAVING }, 850)).toBe('replayed');
    expect([v.state('c', 900), v.hasLeft('c')]).toEqual(['alive', false]);
  });

  it('vouching (datagrams rate-limited under a flood) adds no rhythm', () => {
    const v = view();
    for (let i = 0; i < 3; i++) v.accept(hb('b', 1, i + 1), i * 100);
    for (let t = 210; t <= 1000; t += 10) v.vouch('b', t);
    expect(v.deadlineFor('b')).toBe(500); // still 2 gaps, below minSamples
  });
});
