import { WatchStall } from '../../../src/k8s/watch-stall';

// Expected answers written by hand from the rule: a burst is `burstEvents` events within
// `windowMs`; after one, `quietMs` of silence means restart.
const opts = { burstEvents: 3, windowMs: 100, quietMs: 50 };

test('no burst, no watching: a trickle never arms it', () => {
  const w = new WatchStall(opts);
  expect(w.check(0)).toBeUndefined();
  for (const t of [0, 60, 120, 180, 240]) w.event(t); // two per window at most
  expect(w.check(10_000)).toBeUndefined();
});

test('a burst arms it; the answer is the time left until quietMs of silence, then restart', () => {
  const w = new WatchStall(opts);
  w.event(0);
  w.event(10);
  expect(w.check(10)).toBeUndefined(); // two events: not yet a burst
  w.event(20);
  expect(w.check(20)).toBe(50);
  expect(w.check(45)).toBe(25);
  w.event(60); // still coming: the silence starts again
  expect(w.check(100)).toBe(10);
  expect(w.check(110)).toBe('restart');
  expect(w.check(5000)).toBe('restart');
});

test('the window restarts after windowMs: three events spread over two windows are no burst', () => {
  const w = new WatchStall(opts);
  w.event(0);
  w.event(90);
  w.event(100); // a new window begins at 100 (0 + windowMs)
  expect(w.check(100)).toBeUndefined();
  w.event(150);
  w.event(199); // 100, 150, 199: three within the window that began at 100
  expect(w.check(199)).toBe(50);
});
