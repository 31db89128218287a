// The view a speaker publishes on its Lease, which speakers act on it, and who announces what
// across the cluster when each runs its own election (what `ironlb status`/`explain` show).
// Owners are written by hand from the sha256 orders in election.test.ts:
//   198.51.100.90: node3 < node4 < node2 < node1
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import { EXCLUDE_LABEL, type NodeFacts } from '../../../src/speaker/election/election';
import { clusterOwnership, type ActingSpeaker } from '../../../src/speaker/layer2/cluster-ownership';
import { decodeSpeakerView, encodeSpeakerView, judgeSpeakers, type PublishedSpeaker, type SpeakerView } from '../../../src/speaker/membership/speaker-view';

const view = (alive: string[], extra: Partial<SpeakerView> = {}): SpeakerView => ({ starting: false, noLayer2: false, alive, layer2Unready: [], ignoreExcludeLabel: false, ...extra });

describe('the published speaker view', () => {
  it('is versioned JSON with sorted member lists, and reads back', () => {
    const text = encodeSpeakerView(view(['node2', 'node1'], { layer2Unready: ['node2'], noLayer2: true }));
    expect(text).toBe('{"v":1,"starting":false,"noLayer2":true,"alive":["node1","node2"],"layer2Unready":["node2"],"ignoreExcludeLabel":false}');
    expect(decodeSpeakerView(text)).toEqual(view(['node1', 'node2'], { layer2Unready: ['node2'], noLayer2: true }));
  });

  it('carries the DATAPATH_DOWN speakers when there are any; views without the field read as none', () => {
    const text = encodeSpeakerView(view(['node1', 'node2'], { dataPathDown: ['node2'] }));
    expect(text).toBe('{"v":1,"starting":false,"noLayer2":false,"alive":["node1","node2"],"layer2Unready":[],"dataPathDown":["node2"],"ignoreExcludeLabel":false}');
    expect(decodeSpeakerView(text)?.dataPathDown).toEqual(['node2']);
    expect(encodeSpeakerView(view(['node1'], { dataPathDown: [] }))).not.toContain('dataPathDown');
    expect(decodeSpeakerView('{"v":1,"starting":false,"noLayer2":false,"alive":[],"layer2Unready":[],"ignoreExcludeLabel":false}')?.dataPathDown).toBeUndefined();
    expect(decodeSpeakerView('{"v":1,"starting":false,"noLayer2":false,"alive":[],"layer2Unready":[],"dataPathDown":[3],"ignoreExcludeLabel":false}')).toBeUndefined();
  });

  it("carries each Local Service's failing nodes (healthCheckNodePort) when there are any, sorted", () => {
    const text = encodeSpeakerView(view(['node1'], { serviceHealthFailing: { 'ns/b': ['node3', 'node2'], 'ns/a': ['node1'], 'ns/c': [] } }));
    expect(text).toBe('{"v":1,"starting":false,"noLayer2":false,"alive":["node1"],"layer2Unready":[],"serviceHealthFailing":{"ns/a":["node1"],"ns/b":["node2","node3"]},"ignoreExcludeLabel":false}');
    expect(decodeSpeakerView(text)?.serviceHealthFailing).toEqual({ 'ns/a': ['node1'], 'ns/b': ['node2', 'node3'] });
    expect(encodeSpeakerView(view(['node1'], { serviceHealthFailing: {} }))).not.toContain('serviceHealthFailing');
    expect(decodeSpeakerView('{"v":1,"starting":false,"noLayer2":false,"alive":[],"layer2Unready":[],"serviceHealthFailing":{"ns/a":"node1"},"ignoreExcludeLabel":false}')).toBeUndefined();
    expect(decodeSpeakerView('{"v":1,"starting":false,"noLayer2":false,"alive":[],"layer2Unready":[],"serviceHealthFailing":["ns/a"],"ignoreExcludeLabel":false}')).toBeUndefined();
  });

  it.each([
    undefined,
    '',
    'not json',
    'null',
    '[]',
    '{"v":2,"starting":false,"noLayer2":false,"alive":[],"layer2Unready":[],"ignoreExcludeLabel":false}',
    '{"v":1,"starting":"no","noLayer2":false,"alive":[],"layer2Unready":[],"ignoreExcludeLabel":false}',
    '{"v":1,"starting":false,"noLayer2":false,"alive":[1],"layer2Unready":[],"ignoreExcludeLabel":false}',
    '{"v":1,"starting":false,"noLayer2":false,"alive":[]}',
  ])('ignores %j', (text) => {
    expect(decodeSpeakerView(text)).toBeUndefined();
  });
});

describe('which speakers act on their view', () => {
  const T = Date.UTC(2026, 0, 1);
  const lease = (node: string, v: SpeakerView | undefined, ageMs = 0, durationSeconds = 6): PublishedSpeaker => ({ node, renewTime: T - ageMs, durationSeconds, view: v });
  const states = (ls: PublishedSpeaker[]): Record<string, string> => Object.fromEntries(judgeSpeakers(ls).map((j) => [j.node, j.state]));

  it('all counting each other: all act', () => {
    const all = ['a', 'b', 'c'];
    expect(states(all.map((n) => lease(n, view(all))))).toEqual({ a: 'acting', b: 'acting', c: 'acting' });
  });

  it('a speaker killed a moment ago: its Lease is fresh and counts itself, but its peers dropped it', () => {
    expect(states([lease('a', view(['a', 'b', 'c']), 900), lease('b', view(['b', 'c'])), lease('c', view(['b', 'c']))])).toEqual({ a: 'notCounted', b: 'acting', c: 'acting' });
  });

  it('Leases left behind by crashed speakers expire against the newest renewal, not the reader clock', () => {
    // a and w died long ago, each still vouching for the other in its last view.
    const ls = [lease('a', view(['a', 'w', 'b']), 7000), lease('w', view(['a', 'w', 'b']), 3600_000), lease('b', view(['b']))];
    expect(states(ls)).toEqual({ a: 'expired', w: 'expired', b: 'acting' });
    // The same Leases read an hour later: nothing changes, the reader's clock is not consulted.
    expect(states(ls.map((l) => ({ ...l, renewTime: (l.renewTime ?? 0) + 3600_000 })))).toEqual({ a: 'expired', w: 'expired', b: 'acting' });
    expect(judgeSpeakers([lease('a', view(['a', 'b']), 6000), lease('b', view(['a', 'b']))])[0].state).toBe('acting'); // exactly its duration: not yet
    expect(judgeSpeakers([{ node: 'a', durationSeconds: 6, view: view(['a']) }])[0].state).toBe('expired');
  });

  it('STARTING, isolated, and Leases without a view announce nothing', () => {
    expect(states([lease('a', view(['a', 'b'], { starting: true })), lease('b', view(['b'])), lease('c', view([])), lease('d', undefined)])).toEqual({
      a: 'starting',
      b: 'acting',
      c: 'selfNotCounted',
      d: 'noView',
    });
  });

  it('a lone speaker acts; a newly acknowledged one acts once any peer counts it', () => {
    expect(states([lease('a', view(['a']))])).toEqual({ a: 'acting' });
    // c was just acknowledged by a; b's view has not caught up yet.
    expect(states([lease('a', view(['a', 'b', 'c'])), lease('b', view(['a', 'b'])), lease('c', view(['a', 'b', 'c']))])).toEqual({ a: 'acting', b: 'acting', c: 'acting' });
  });
});

describe('who announces across the cluster', () => {
  const parsed = parseConfigText('address-pools:\n- name: lan\n  protocol: layer2\n  addresses:\n  - 198.51.100.90-198.51.100.99\n');
  if (!parsed.ok) throw new Error('bad test config');
  const svc: k8s.V1Service = { metadata: { name: 'a', namespace: 'ns' }, spec: { type: 'LoadBalancer', clusterIP: '10.96.0.1' }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.90' }] } } };
  const nodes = (excluded: string[] = []): Map<string, NodeFacts> =>
    new Map(['node1', 'node2', 'node3', 'node4'].map((name): [string, NodeFacts] => [name, { name, labels: excluded.includes(name) ? { [EXCLUDE_LABEL]: '' } : {}, networkUnavailable: false }]));
  const run = (speakers: ActingSpeaker[], excluded: string[] = []) =>
    clusterOwnership({ config: parsed.config, services: [svc], endpoints: () => ({ anyReady: true, readyNodes: new Set() }), nodes: nodes(excluded), speakers }).get('ns/a');
  const all = ['node1', 'node2', 'node3', 'node4'];

  it('everybody with the same view: the first in hash order announces', () => {
    const r = run(all.map((node) => ({ node, view: view(all) })));
    expect(r?.announcers).toEqual(['node3']);
    expect(r?.decisions).toEqual([expect.objectContaining({ speakers: all, result: expect.objectContaining({ announcer: 'node3' }) })]);
  });

  it('node3 gone from the views: node4 announces', () => {
    const rest = ['node1', 'node2', 'node4'];
    expect(run(rest.map((node) => ({ node, view: view(rest) })))?.announcers).toEqual(['node4']);
  });

  it('node3 passed over for NO_LAYER2 in every view: node4 announces', () => {
    expect(run(all.map((node) => ({ node, view: view(all, { layer2Unready: ['node3'] }) })))?.announcers).toEqual(['node4']);
  });

  it("a Local Service whose healthCheckNodePort fails on node3 in the endpoint nodes' views: node4 announces", () => {
    const local: k8s.V1Service = { ...svc, spec: { ...svc.spec, externalTrafficPolicy: 'Local' } };
    const speakers = all.map((node) => ({ node, view: view(all, node === 'node1' || node === 'node2' ? {} : { serviceHealthFailing: { 'ns/a': ['node3'] } }) }));
    const r = clusterOwnership({ config: parsed.config, services: [local], endpoints: () => ({ anyReady: true, readyNodes: new Set(['node3', 'node4']) }), nodes: nodes(), speakers }).get('ns/a');
    expect(r?.announcers).toEqual(['node4']);
    // node1 and node2 (no local endpoint) ask nothing, so their view still has node3: they announce nothing either way.
    expect(r?.decisions.map((d) => d.result.announcer)).toEqual(['node3', 'node4']);
  });

  it('views that differ: each speaker answers for what it wins in its own view', () => {
    // node3 still counts itself and node4; node4 no longer counts node3 (a change in flight).
    const r = run([
      { node: 'node3', view: view(['node3', 'node4']) },
      { node: 'node4', view: view(['node4']) },
    ]);
    expect(r?.announcers).toEqual(['node3', 'node4']);
    expect(r?.decisions.map((d) => d.speakers)).toEqual([['node3'], ['node4']]);
  });

  it("each speaker's own --ignore-exclude-lb: node3 is labelled, only its own view lets it win", () => {
    const r = run(
      [
        { node: 'node3', view: view(all, { ignoreExcludeLabel: true }) },
        ...['node1', 'node2', 'node4'].map((node) => ({ node, view: view(all) })),
      ],
      ['node3'],
    );
    expect(r?.announcers).toEqual(['node3', 'node4']);
    const uniform = run(all.map((node) => ({ node, view: view(all, { ignoreExcludeLabel: true }) })), ['node3']);
    expect(uniform?.announcers).toEqual(['node3']);
  });

  it('the elected node is not among the acting speakers: nobody announces', () => {
    const r = run(['node1', 'node2'].map((node) => ({ node, view: view(['node1', 'node2', 'node3']) })));
    expect(r?.announcers).toEqual([]);
    expect(r?.decisions[0].result.announcer).toBe('node3');
  });
});
