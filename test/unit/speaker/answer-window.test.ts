// src/speaker/layer2/answer-window.ts: how long the answer thread may answer after the main loop
// last extended its window. A table written by hand from the rules in the file's header, and a
// timeline model: for every phase of a wedge against the heartbeat ticks, the window closes no
// later than the earliest moment a peer can take the addresses over.
import { AnswerKeepalive, answerKeepaliveMs, answerResumeMs, answerWindowMs } from '../../../src/speaker/layer2/answer-window';

const lease = { leaseDurationSeconds: 6, leaseRenewMs: 2000 };

describe('answerWindowMs', () => {
  it.each([
    ['defaults: 100 ms, adaptive floor 2, 300 ms ahead', { intervalMs: 100, minDeadIntervals: 2, deadIntervals: 5, sendAheadMs: 300 }, 400],
    ['options left out are the membership defaults (floor 2, ahead 3 intervals)', { intervalMs: 100 }, 400],
    ['not adaptive: the fixed 5 intervals', { intervalMs: 100, adaptive: false, minDeadIntervals: 2, deadIntervals: 5, sendAheadMs: 300 }, 700],
    ['sent by the main loop only', { intervalMs: 100, minDeadIntervals: 2, deadIntervals: 5, sendAheadMs: 0 }, 100],
    ['ahead rounded up to whole intervals, as the slots are', { intervalMs: 100, minDeadIntervals: 2, deadIntervals: 5, sendAheadMs: 250 }, 400],
    ['a floor above the ceiling is the ceiling', { intervalMs: 100, minDeadIntervals: 4, deadIntervals: 3, sendAheadMs: 300 }, 500],
    ['200 ms heartbeats', { intervalMs: 200, minDeadIntervals: 3, deadIntervals: 5, sendAheadMs: 400 }, 800],
    ['never below 50 ms', { intervalMs: 10, minDeadIntervals: 2, deadIntervals: 5, sendAheadMs: 0 }, 50],
  ])('%s', (_what, heartbeat, expected) => {
    expect(answerWindowMs({ heartbeat, ...lease })).toBe(expected);
  });

  it('Leases only: the Lease duration less one renew period', () => {
    expect(answerWindowMs({ ...lease })).toBe(4000);
    expect(answerWindowMs({ leaseDurationSeconds: 15, leaseRenewMs: 5000 })).toBe(10_000);
    expect(answerWindowMs({ leaseDurationSeconds: 1, leaseRenewMs: 1000 })).toBe(50);
  });

  it('closes before any peer can take over, whatever the phase of the wedge (heartbeats)', () => {
    for (const intervalMs of [50, 100, 200]) {
      for (const aheadIntervals of [0, 1, 3]) {
        for (const floor of [2, 3, 5]) {
          const hb = { intervalMs, minDeadIntervals: floor, deadIntervals: 5, sendAheadMs: aheadIntervals * intervalMs };
          const windowMs = answerWindowMs({ heartbeat: hb, ...lease });
          // The wedge comes `phase` ms after the main loop's last signing tick (< one interval);
          // the last extension is at most at the wedge. Signed heartbeats go out at the tick and
          // up to `ahead` intervals later; a peer declares us dead `floor` intervals after the
          // last one it receives (received no earlier than sent).
          for (let phase = 0; phase < intervalMs; phase += intervalMs / 10) {
            const tick = 0;
            const wedge = tick + phase;
            const lastHeartbeat = tick + aheadIntervals * intervalMs;
            const earliestTakeover = lastHeartbeat + Math.min(floor, 5) * intervalMs;
            const windowCloses = wedge + windowMs;
            if (windowMs > 50) expect(windowCloses).toBeLessThanOrEqual(earliestTakeover);
          }
        }
      }
    }
  });
});

describe('answerKeepaliveMs', () => {
  it.each([
    [400, 100],
    [4000, 100],
    [100, 25],
    [50, 12],
    [20, 10],
  ])('window %i ms: extended every %i ms', (windowMs, expected) => {
    expect(answerKeepaliveMs(windowMs)).toBe(expected);
  });
});

describe('answerResumeMs', () => {
  it('two heartbeat intervals, or one Lease renew period without heartbeats', () => {
    expect(answerResumeMs({ heartbeat: { intervalMs: 100 }, ...lease })).toBe(200);
    expect(answerResumeMs({ heartbeat: { intervalMs: 250 }, ...lease })).toBe(500);
    expect(answerResumeMs({ ...lease })).toBe(2000);
  });
});

describe('AnswerKeepalive', () => {
  function keepalive() {
    const extended: number[] = [];
    let now = 1000;
    const k = new AnswerKeepalive({ windowMs: 400, resumeMs: 200, extend: () => void extended.push(now) }, now);
    return { extended, k, at: (t: number) => k.tick((now = t)) };
  }

  it('extends at start and on every timely tick', () => {
    const { extended, at } = keepalive();
    for (const t of [1100, 1200, 1300, 1700]) at(t); // 1300 -> 1700: 400 ms, not more than the window
    expect(extended).toEqual([1000, 1100, 1200, 1300, 1700]);
  });

  it('after a tick later than the window, waits the resume time of running loop before extending again', () => {
    const { extended, at } = keepalive();
    at(1100);
    at(2000); // 900 ms late: the window closed at 1500
    at(2100);
    at(2199);
    at(2200); // 200 ms after the late tick
    at(2300);
    expect(extended).toEqual([1000, 1100, 2200, 2300]);
  });

  it('a second stall during the wait starts the wait over', () => {
    const { extended, at } = keepalive();
    at(2000); // late: wait until 2200
    at(2500); // late again (500 > 400): wait until 2700
    at(2600);
    at(2700);
    expect(extended).toEqual([1000, 2700]);
  });
});
