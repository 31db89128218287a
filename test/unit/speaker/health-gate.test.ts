// HealthGate against hand-written timelines: (time ms, check ok?) → healthy after it, and whether
// it changed. Options: down after 2 failures in a row, up after 1000 ms of success, the hold
// doubling on a flap within 10 s, at most 4000 ms.
import { HealthGate } from '../../../src/speaker/datapath/health-gate';

const OPTS = { failuresToDown: 2, holdMs: 1000, maxHoldMs: 4000, flapWindowMs: 10_000 };

function replay(steps: ReadonlyArray<readonly [number, boolean]>): Array<[number, boolean, boolean]> {
  const g = new HealthGate(OPTS);
  return steps.map(([t, ok]) => {
    const changed = g.observe(ok, t);
    return [t, g.healthy, changed];
  });
}

describe('HealthGate', () => {
  it('one failed check is not an outage; two in a row are', () => {
    expect(replay([[0, true], [250, false], [500, true], [750, false], [1000, false], [1250, false]])).toEqual([
      [0, true, false],
      [250, true, false],
      [500, true, false],
      [750, true, false],
      [1000, false, true],
      [1250, false, false],
    ]);
  });

  it('comes back only after the hold of uninterrupted success; a failure restarts the hold', () => {
    expect(replay([[0, false], [100, false], [200, true], [900, true], [1000, false], [1100, true], [2000, true], [2100, true]])).toEqual([
      [0, true, false],
      [100, false, true],
      [200, false, false],
      [900, false, false],
      [1000, false, false], // the hold restarts: success from 1100
      [1100, false, false],
      [2000, false, false], // 900 ms of success
      [2100, true, true], // 1000 ms
    ]);
  });

  it('a flap within the window doubles the hold, up to the cap; a quiet window resets it', () => {
    const g = new HealthGate(OPTS);
    const down = (t: number): void => {
      g.observe(false, t);
      g.observe(false, t + 1);
    };
    down(0);
    expect(g.currentHoldMs).toBe(1000);
    g.observe(true, 10);
    expect(g.observe(true, 1010)).toBe(true);
    down(2000); // 2 s after the last down: a flap
    expect(g.currentHoldMs).toBe(2000);
    g.observe(true, 2010);
    expect(g.observe(true, 3500)).toBe(false);
    expect(g.observe(true, 4010)).toBe(true);
    down(5000);
    expect(g.currentHoldMs).toBe(4000);
    g.observe(true, 5010);
    g.observe(true, 9010);
    down(9500);
    expect(g.currentHoldMs).toBe(4000); // capped
    g.observe(true, 9510);
    g.observe(true, 13_510);
    down(30_000); // 20.5 s after the last down: quiet, back to the base hold
    expect(g.currentHoldMs).toBe(1000);
  });

  it('refuses a gate that could never go down', () => {
    expect(() => new HealthGate({ ...OPTS, failuresToDown: 0 })).toThrow(/at least 1/);
  });
});
