// FenceState (fence-state.ts), the shell around the self-fence rule: the API_OK flag it reports
// changing, what it logs and the gauge, over a fake Lease layer and a hand-driven clock.
import { FenceState, type FenceLease } from '../../../src/speaker/membership/fence-state';
import { SpeakerMetrics } from '../../../src/metrics/speaker-metrics';
import type { Logger } from '../../../src/util/log';

class FakeLease implements FenceLease {
  working = true;
  lastRenewStartedAt: number | undefined = 0;
  need?: number;
  apiWorking(_now: number, needUpForMs: number): boolean {
    this.need = needUpForMs;
    return this.working;
  }
}

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  const log = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error'), child: () => log } as unknown as Logger;
  return { log, lines };
}

describe('FenceState', () => {
  const timers = { renewMs: 2000, leaseDurationMs: 6000, heartbeatIntervalMs: 100 };

  it('reports its API_OK flag changing, fences at 5800 ms with a peer saying API_OK, and lifts on our next renewal', async () => {
    const lease = new FakeLease();
    const { log, lines } = recordingLog();
    const metrics = new SpeakerMetrics();
    const f = new FenceState(timers, lease, log, metrics);
    expect(f.applies).toBe(true);
    expect(f.update(0, true, 1)).toBe(true); // false -> true
    expect(lease.need).toBe(5800); // API_OK waits for the API server to be up for the duration less the margin
    expect(f.apiOk).toBe(true);
    expect(f.update(100, true, 1)).toBe(false);
    lease.working = false; // our renewals stop going through
    expect(f.update(2500, true, 1)).toBe(true);
    expect(f.apiOk).toBe(false);
    expect(f.update(5799, true, 1)).toBe(false);
    expect(f.fenced).toBe(false);
    f.update(5800, true, 1);
    expect(f.fenced).toBe(true);
    expect(lines).toEqual([expect.stringMatching(/^warn fenced: /)]);
    expect(await metrics.registry.getSingleMetricAsString('ironlb_speaker_fenced_bool')).toMatch(/ironlb_speaker_fenced_bool 1$/m);
    // No peer says API_OK for 401 ms: lifted (the API server is down for everybody).
    f.update(6000, true, 0);
    expect(f.fenced).toBe(true);
    f.update(6201, true, 0);
    expect(f.fenced).toBe(false);
    f.update(6300, true, 1);
    expect(f.fenced).toBe(true);
    lease.lastRenewStartedAt = 6350; // a renewal went through
    lease.working = true;
    expect(f.update(6400, true, 1)).toBe(true);
    expect(f.fenced).toBe(false);
    expect(lines.map((l) => l.split(':')[0])).toEqual(['warn fenced', 'info no longer fenced', 'warn fenced', 'info no longer fenced']);
  });

  it('never fences or says API_OK while not running', () => {
    const lease = new FakeLease();
    lease.lastRenewStartedAt = undefined;
    const f = new FenceState(timers, lease, recordingLog().log);
    expect(f.update(100_000, false, 1)).toBe(false);
    expect(f.apiOk).toBe(false);
    expect(f.fenced).toBe(false);
  });
});
