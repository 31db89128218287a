import { DropCounters } from '../../../src/speaker/membership/heartbeat-drops';
import { ADMISSION_DROPS, type AdmissionDrop } from '../../../src/speaker/membership/heartbeat-admission';
import type { Logger } from '../../../src/util/log';

function logger(lines: Array<Record<string, unknown>>): Logger {
  const l: Logger = { debug: () => undefined, info: () => undefined, warn: (msg, f) => lines.push({ msg, ...f }), error: () => undefined, child: () => l };
  return l;
}

const counters = (over: Partial<Record<AdmissionDrop, number>>): { dropped: Record<AdmissionDrop, number>; accepted: number; lastFrom: Partial<Record<AdmissionDrop, string>> } => ({
  dropped: { ...(Object.fromEntries(ADMISSION_DROPS.map((r) => [r, 0])) as Record<AdmissionDrop, number>), ...over },
  accepted: 0,
  lastFrom: { forged: '198.51.100.11' },
});

describe('DropCounters', () => {
  it('adds the receiver\'s and the kernel\'s cumulative counts by difference, also across a receiver restart', () => {
    const lines: Array<Record<string, unknown>> = [];
    const d = new DropCounters(logger(lines));
    d.fromReceiver(counters({ forged: 5, 'rate-limited': 100 }));
    d.fromReceiver(counters({ forged: 7, 'rate-limited': 100 }));
    d.fromReceiver(counters({ forged: 2 })); // a restarted worker counts from zero again
    d.kernel(1000);
    d.kernel(1500);
    d.count('replayed', '198.51.100.12');
    expect(d.totals()).toMatchObject({ forged: 9, 'rate-limited': 100, kernel: 1500, replayed: 1, misaddressed: 0 });
    // One warning per reason and second, however many drops.
    expect(lines.filter((l) => l.reason === 'forged')).toHaveLength(1);
    expect(lines.find((l) => l.reason === 'forged')?.from).toBe('198.51.100.11');
  });
});
