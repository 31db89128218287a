// ironlb.io/Announced as one speaker decides it from its election of a layer-2 Service: who writes
// (the announcer; the first ready speaker by name when nobody announces) and what. Expected
// conditions written by hand from the rules in docs/configuration.md ("Service conditions").
import type * as k8s from '@kubernetes/client-node';
import type { AddressPool } from '../../../src/config/types';
import { announcedCondition, announcedHolds, falseWriter } from '../../../src/speaker/announced-condition';
import type { MemberView, ServiceElection } from '../../../src/speaker/layer2/desired';

const T = 'ironlb.io/Announced';
const SINCE = '2026-11-28T23:00:00Z';

const svc = (extra: { ips?: string[]; conditions?: k8s.V1Condition[]; generation?: number } = {}): k8s.V1Service => ({
  metadata: { namespace: 'ns', name: 'web', generation: extra.generation },
  spec: { type: 'LoadBalancer' },
  status: { loadBalancer: { ingress: (extra.ips ?? ['192.168.40.90']).map((ip) => ({ ip })) }, conditions: extra.conditions },
});

const election = (result: ServiceElection['result'], interfaces: string[] = []): ServiceElection => ({
  service: 'ns/web',
  object: svc(),
  ips: ['192.168.40.90'],
  pool: { name: 'p' } as AddressPool,
  interfaces,
  result,
  fallback: false,
});

const members = (alive: string[], unready: string[] = []): MemberView => ({ alive: new Set(alive), layer2Unready: new Set(unready) });
const ALL = members(['node-b', 'node-a', 'node-c']);
const elected = (n: string) => election({ announcer: n, candidates: [n] });
const none = election({ reason: 'noEligibleNode', detail: 'no live speaker runs on a node eligible for the pool' });

describe('Announced, decided', () => {
  const table: Array<[string, ServiceElection | undefined, string, MemberView, Partial<k8s.V1Condition> | undefined]> = [
    ['the announcer writes True with node, protocol, interfaces, since', elected('node-b'), 'node-b', ALL, { status: 'True', reason: 'Layer2', message: `node "node-b" announces 192.168.40.90 with protocol layer2 on eth0, eth1 since ${SINCE}` }],
    ['another speaker writes nothing', elected('node-b'), 'node-a', ALL, undefined],
    ['nobody elected: the first ready speaker by name writes False', none, 'node-a', ALL, { status: 'False', reason: 'NoEligibleNode', message: 'no live speaker runs on a node eligible for the pool' }],
    ['nobody elected: the other speakers write nothing', none, 'node-b', ALL, undefined],
    ['nobody elected, the first by name cannot announce on layer 2: the next one writes', none, 'node-b', members(['node-a', 'node-b'], ['node-a']), { status: 'False', reason: 'NoEligibleNode' }],
    ['no ready endpoint', election({ reason: 'noReadyEndpoint', detail: 'the Service has no ready endpoint, so no node announces it' }), 'node-a', ALL, { status: 'False', reason: 'NoReadyEndpoint', message: 'the Service has no ready endpoint, so no node announces it' }],
  ];

  it.each(table)('%s', (_name, e, self, view, want) => {
    const got = announcedCondition({ svc: svc(), election: e, self, members: view, usableInterfaces: ['eth1', 'eth0'], since: SINCE });
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject({ type: T, ...want });
  });

  it('the pool\'s interfaces are named when it has some', () => {
    const got = announcedCondition({ svc: svc(), election: election({ announcer: 'node-a', candidates: ['node-a'] }, ['bond0']), self: 'node-a', members: ALL, usableInterfaces: ['eth0'], since: SINCE });
    expect(got?.message).toBe(`node "node-a" announces 192.168.40.90 with protocol layer2 on bond0 since ${SINCE}`);
  });

  it('a Service without an address that still shows True is set False by the first ready speaker only', () => {
    const shown = svc({ ips: [], conditions: [{ type: T, status: 'True', reason: 'Layer2', message: 'x', lastTransitionTime: new Date(0) }] });
    expect(announcedCondition({ svc: shown, election: undefined, self: 'node-a', members: ALL, usableInterfaces: [], since: SINCE })).toMatchObject({ status: 'False', reason: 'NoAddress' });
    expect(announcedCondition({ svc: shown, election: undefined, self: 'node-b', members: ALL, usableInterfaces: [], since: SINCE })).toBeUndefined();
    // Without our True condition, or with an address (a BGP Service has no layer-2 election): nothing.
    expect(announcedCondition({ svc: svc({ ips: [] }), election: undefined, self: 'node-a', members: ALL, usableInterfaces: [], since: SINCE })).toBeUndefined();
    expect(announcedCondition({ svc: svc({ conditions: shown.status?.conditions }), election: undefined, self: 'node-a', members: ALL, usableInterfaces: [], since: SINCE })).toBeUndefined();
  });

  it('falseWriter is the first alive, layer-2-ready speaker by name', () => {
    expect(falseWriter(ALL)).toBe('node-a');
    expect(falseWriter(members(['node-c', 'node-b'], ['node-b']))).toBe('node-c');
    expect(falseWriter(members([]))).toBeUndefined();
  });

  it('an unchanged condition is not rewritten for a new "since" (speaker restart); a new owner is', () => {
    const shownMsg = `node "node-b" announces 192.168.40.90 with protocol layer2 on eth0, eth1 since 2026-01-01T00:00:00Z`;
    const shown = svc({ conditions: [{ type: T, status: 'True', reason: 'Layer2', message: shownMsg, lastTransitionTime: new Date(0) }] });
    const same = announcedCondition({ svc: shown, election: elected('node-b'), self: 'node-b', members: ALL, usableInterfaces: ['eth0', 'eth1'], since: SINCE });
    const moved = announcedCondition({ svc: shown, election: elected('node-c'), self: 'node-c', members: ALL, usableInterfaces: ['eth0', 'eth1'], since: SINCE });
    if (!same || !moved) throw new Error('expected conditions');
    expect(announcedHolds(shown, same)).toBe(true);
    expect(announcedHolds(shown, moved)).toBe(false);
  });
});
