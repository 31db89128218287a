// AuditJudge and classify against hand-written timelines. Timing: probe every 1000 ms (jitter
// off: rand() = 0.5), answers collected 100 ms, retry 200 ms after a failed round, 2 failed rounds
// make a verdict, no probe within 500 ms of a pairing starting, at most 10 probes/s.
import { AuditJudge, classify, type AuditTarget } from '../../../src/speaker/layer2/audit-judge';

const T = { intervalMs: 1000, replyWaitMs: 100, retryMs: 200, failuresToVerdict: 2, settleMs: 500, maxProbesPerSecond: 10 };
const A = 'aaaaaaaaaaaa';
const B = 'bbbbbbbbbbbb';
const C = 'cccccccccccc';
const FOREIGN = '0000000000ff';
const OURS = new Set([A, B, C]);
const ON_A: AuditTarget = { address: '198.51.100.91', owner: 'node-a', ownerMacs: [A] };

describe('classify', () => {
  it.each([
    [[A], 'ok'],
    [[A, FOREIGN], 'ok'], // a foreign MAC is feature 1's conflict, not an audit failure
    [[], 'silent'],
    [[FOREIGN], 'silent'],
    [[B], 'wrongMac'],
    [[B, FOREIGN], 'wrongMac'],
    [[A, B], 'extraMac'],
    [[B, A, C], 'extraMac'],
  ] as const)('answers %j → %s', (heard, outcome) => {
    expect(classify(heard, [A], OURS)).toBe(outcome);
  });

  it('an owner with two MACs answering from either is ok', () => {
    expect(classify([C], [A, C], OURS)).toBe('ok');
  });
});

describe('AuditJudge', () => {
  const judge = (): AuditJudge => new AuditJudge(T, () => 0.5);

  it('waits out the settle time, then probes every interval while the owner answers', () => {
    const j = judge();
    j.setTargets([ON_A], 0);
    expect(j.nextDueAt()).toBe(500);
    expect(j.due(499)).toEqual([]);
    expect(j.due(500)).toEqual(['198.51.100.91']);
    expect(j.due(550)).toEqual([]); // in flight
    expect(j.result('198.51.100.91', [A], OURS, 600)).toEqual({ address: '198.51.100.91', owner: 'node-a', verdict: undefined, previous: undefined, outcome: 'ok' });
    expect(j.nextDueAt()).toBe(1600);
    expect(j.accused()).toEqual({ silent: new Set(), contested: new Set() });
  });

  it('two silent rounds in a row accuse the owner; one passing round clears it', () => {
    const j = judge();
    j.setTargets([ON_A], 0);
    j.due(500);
    expect(j.result('198.51.100.91', [], OURS, 600)).toMatchObject({ verdict: undefined, outcome: 'silent' });
    expect(j.nextDueAt()).toBe(800); // retry
    expect(j.due(800)).toEqual(['198.51.100.91']);
    expect(j.result('198.51.100.91', [FOREIGN], OURS, 900)).toMatchObject({ verdict: 'silent', previous: undefined, outcome: 'silent' });
    expect(j.accused()).toEqual({ silent: new Set(['node-a']), contested: new Set() });
    j.due(1100);
    expect(j.result('198.51.100.91', [A], OURS, 1200)).toMatchObject({ verdict: undefined, previous: 'silent', outcome: 'ok' });
    expect(j.accused().silent.size).toBe(0);
  });

  it('one lost answer between good rounds is no verdict', () => {
    const j = judge();
    j.setTargets([ON_A], 0);
    j.due(500);
    j.result('198.51.100.91', [], OURS, 600);
    j.due(800);
    j.result('198.51.100.91', [A], OURS, 900);
    j.due(1900);
    expect(j.result('198.51.100.91', [], OURS, 2000)).toMatchObject({ verdict: undefined, outcome: 'silent' });
  });

  it('spaces probes by the rate limit; only another speaker answering is a silent owner, a second MAC of ours contests', () => {
    const j = judge();
    j.setTargets([ON_A, { address: '198.51.100.92', owner: 'node-c', ownerMacs: [C] }], 0);
    expect(j.due(500)).toEqual(['198.51.100.91']);
    expect(j.nextDueAt()).toBe(600);
    expect(j.due(599)).toEqual([]);
    expect(j.due(600)).toEqual(['198.51.100.92']);
    j.result('198.51.100.91', [B], OURS, 700); // only another speaker of ours answers
    j.result('198.51.100.92', [C, A], OURS, 700); // the owner and another speaker of ours
    expect(j.due(900)).toEqual(['198.51.100.91']); // both retry at 900: one slot per 100 ms
    expect(j.due(999)).toEqual([]);
    expect(j.due(1000)).toEqual(['198.51.100.92']);
    expect(j.result('198.51.100.91', [B], OURS, 1050)).toMatchObject({ verdict: 'wrongMac', outcome: 'wrongMac' });
    expect(j.result('198.51.100.92', [A, C], OURS, 1050)).toMatchObject({ verdict: 'extraMac', outcome: 'extraMac' });
    expect(j.accused()).toEqual({ silent: new Set(['node-a']), contested: new Set(['node-c']) });
  });

  it('a new owner starts a new pairing: the old verdict goes, nothing is probed for the settle time', () => {
    const j = judge();
    j.setTargets([ON_A], 0);
    j.due(500);
    j.result('198.51.100.91', [], OURS, 600);
    j.due(800);
    j.result('198.51.100.91', [], OURS, 900);
    expect(j.accused().silent).toEqual(new Set(['node-a']));
    j.setTargets([{ address: '198.51.100.91', owner: 'node-b', ownerMacs: [B] }], 1000);
    expect(j.accused().silent.size).toBe(0);
    expect(j.nextDueAt()).toBe(1500);
    // A result for the old probe that comes back after the change is not judged.
    expect(j.result('198.51.100.91', [], OURS, 1010)).toBeUndefined();
    j.setTargets([], 1100);
    expect(j.nextDueAt()).toBe(Infinity);
  });
});
