// src/net/startup-pages.ts: the one release after startup, on a hand-driven timer and a fake
// release (the release itself is tested on a live process in file-pages.test.ts).
import { scheduleStartupPageRelease } from '../../../src/net/startup-pages';
import type { ReleasedPages } from '../../../src/net/native';
import { createLogger } from '../../../src/util/log';

function harness(release: () => ReleasedPages) {
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const lines: Array<{ level: string; msg: string; [k: string]: unknown }> = [];
  const gauge: number[] = [];
  const cancel = scheduleStartupPageRelease({
    delayMs: 10_000,
    release,
    log: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }),
    released: { set: (b) => gauge.push(b) },
    setTimer: (fn, ms) => {
      const t = { fn, ms, cleared: false, unref: () => undefined };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => ((t as { cleared: boolean }).cleared = true),
  });
  return { timers, lines, gauge, cancel };
}

describe('scheduleStartupPageRelease', () => {
  it('releases once, after the delay, and reports what it dropped', () => {
    const release = jest.fn(() => ({ mappings: 3, rssKiB: 20_480, failed: 0 }));
    const h = harness(release);
    expect(release).not.toHaveBeenCalled();
    expect(h.timers).toHaveLength(1);
    expect(h.timers[0].ms).toBe(10_000);
    h.timers[0].fn();
    expect(release).toHaveBeenCalledTimes(1);
    expect(h.gauge).toEqual([20 * 1024 * 1024]);
    expect(h.lines).toEqual([expect.objectContaining({ level: 'info', mappings: 3, mib: 20, refused: 0 })]);
    h.cancel();
    expect(h.timers[0].cleared).toBe(false); // it already ran: nothing to clear
    expect(h.timers).toHaveLength(1); // and no second release is scheduled
  });

  it('warns when madvise refused some ranges, and counts only what was dropped', () => {
    const h = harness(() => ({ mappings: 2, rssKiB: 1024, failed: 1 }));
    h.timers[0].fn();
    expect(h.gauge).toEqual([1024 * 1024]);
    expect(h.lines).toEqual([expect.objectContaining({ level: 'warn', mappings: 2, refused: 1 })]);
  });

  it('logs a failure and leaves the gauge alone (the speaker goes on with the larger RSS)', () => {
    const h = harness(() => {
      throw new Error('reading /proc/self/smaps: Permission denied (EACCES)');
    });
    expect(() => h.timers[0].fn()).not.toThrow();
    expect(h.gauge).toEqual([]);
    expect(h.lines).toEqual([expect.objectContaining({ level: 'warn', error: expect.stringContaining('EACCES') })]);
  });

  it('a stop before the delay cancels it', () => {
    const release = jest.fn(() => ({ mappings: 1, rssKiB: 4, failed: 0 }));
    const h = harness(release);
    h.cancel();
    expect(h.timers[0].cleared).toBe(true);
    expect(release).not.toHaveBeenCalled();
  });
});
