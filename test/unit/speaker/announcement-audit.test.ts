// AnnouncementAudit wiring, with fake timers: node2 audits node1's address (node2 is next in the
// order), its verdict reaches node1 through a fake membership (as heartbeats would carry it), and
// node1 re-announces, then withdraws, then returns. Expected times are worked out by hand from the
// defaults: the first probe settleMs (3.3 s) ± 0.4 s jitter after the pairing starts, answers read
// 300 ms later, a failed round retried 500 ms after it, two failed rounds make the verdict (by
// 3.7 + 0.3 + 0.5 + 0.3 = 4.8 s); the owner withdraws 2 s after the accusation, and returns 10 s
// after the last one went away.
import type { EventRecorder } from '../../../src/k8s/events';
import { SpeakerMetrics } from '../../../src/metrics/speaker-metrics';
import type { Membership } from '../../../src/speaker/membership/membership';
import { AnnouncementAudit, type AuditResponder } from '../../../src/speaker/layer2/announcement-audit';
import type { ServiceElection } from '../../../src/speaker/layer2/desired';
import { createLogger } from '../../../src/util/log';

const IP = '198.51.100.91';
const MACS: Record<string, string> = { node1: '02:00:00:00:00:01', node2: '02:00:00:00:00:02', node3: '02:00:00:00:00:03' };

function election(announcer: string, candidates: string[]): ServiceElection {
  const object = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
  return { service: 'default/web', object, ips: [IP], interfaces: [], result: { announcer, candidates }, fallback: false } as unknown as ServiceElection;
}

describe('AnnouncementAudit', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('a silent owner: verdict, Event, re-announce, withdrawal; back after the hold once nobody accuses it', async () => {
    let verdicts = { silent: new Set<string>(), contested: new Set<string>() };
    const ownerListeners: Array<() => void> = [];
    const auditorMembership = { setAuditVerdicts: (silent: ReadonlySet<string>, contested: ReadonlySet<string>) => {
      verdicts = { silent: new Set(silent), contested: new Set(contested) };
      for (const cb of ownerListeners) cb();
    } } as unknown as Membership;
    const ownerMembership = {
      auditAccusers: () => ({ silent: verdicts.silent.has('node1') ? new Set(['node2']) : new Set(), contested: new Set() }),
      onAuditChange: (cb: () => void) => ownerListeners.push(cb),
    } as unknown as Membership;
    const events: string[] = [];
    const common = (nodeName: string) => ({
      nodeName,
      log: createLogger({ level: 'error', write: () => undefined }),
      metrics: new SpeakerMetrics(),
      events: { emit: (_t: unknown, type: string, reason: string, message: string) => events.push(`${type} ${reason} ${message}`) } as unknown as EventRecorder,
      macsOf: (n: string) => [MACS[n]],
      allMacs: () => Object.values(MACS),
    });
    const probes: number[] = [];
    const auditorResponder: AuditResponder = {
      auditProbe: async () => void probes.push(Date.now()),
      auditRead: async () => [], // the owner's answers never reach the wire
      announce: async () => undefined,
    };
    let announced = 0;
    let standingChanges = 0;
    const ownerResponder: AuditResponder = { auditProbe: async () => undefined, auditRead: async () => [], announce: async () => void announced++ };
    const auditor = new AnnouncementAudit({ ...common('node2'), onStandingChange: () => undefined }, auditorMembership, () => auditorResponder);
    const owner = new AnnouncementAudit({ ...common('node1'), onStandingChange: () => void standingChanges++ }, ownerMembership, () => ownerResponder);
    auditor.start();
    owner.start();
    const start = Date.now();

    auditor.update([election('node1', ['node1', 'node2', 'node3'])], []);
    owner.update([election('node1', ['node1', 'node2', 'node3'])], []); // the owner audits nothing here
    await jest.advanceTimersByTimeAsync(2899);
    expect(probes).toEqual([]); // settle: 3.3 s - 0.4 s at the earliest
    await jest.advanceTimersByTimeAsync(1901); // 4.8 s
    // Two rounds at least (a third, the retry after the verdict, may be out by now).
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(probes[1] - probes[0]).toBe(800); // read 300 ms after the probe, retried 500 ms later
    expect(verdicts.silent).toEqual(new Set(['node1']));
    expect(events).toEqual([expect.stringMatching(/^Warning AnnouncementAuditFailed audit of 198\.51\.100\.91 by node "node2": no answer from node "node1" \(MACs heard: none\)/)]);
    expect(announced).toBe(1);
    expect(owner.ready).toBe(true);

    await jest.advanceTimersByTimeAsync(2000); // 6.8 s: at least 2 s after the accusation
    expect(owner.ready).toBe(false);
    expect(standingChanges).toBe(1);

    // Every speaker now elects node2 (node1 is NO_LAYER2): node2 owns it and node3 audits it.
    const movedAt = Date.now();
    auditor.update([election('node2', ['node2', 'node3'])], []);
    expect(verdicts.silent).toEqual(new Set());
    await jest.advanceTimersByTimeAsync(9999);
    expect(owner.ready).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(owner.ready).toBe(true);
    expect(standingChanges).toBe(2);
    expect(Date.now() - movedAt).toBe(10_000);
    expect(Date.now() - start).toBeLessThan(17_000);
    auditor.stop();
    owner.stop();
  });
});
