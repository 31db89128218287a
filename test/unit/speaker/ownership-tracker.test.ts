// OwnershipTracker (incremental layer-2 elections) against recomputing from scratch: random
// sequences of watch events (Service added, changed or deleted, endpoints changed, Nodes,
// members and config changed), the tracker told only what each event touched, exactly as the
// speaker tells it. After every event its elections and owned set must equal desiredOwnership's
// over the whole world.
import type * as k8s from '@kubernetes/client-node';
import fc from 'fast-check';
import { parseConfigText } from '../../../src/config/parse';
import type { Config } from '../../../src/config/types';
import { EXCLUDE_LABEL, type EndpointFacts, type NodeFacts } from '../../../src/speaker/election/election';
import { desiredOwnership } from '../../../src/speaker/layer2/desired';
import { OwnershipTracker, type TrackerInput } from '../../../src/speaker/layer2/ownership-tracker';

const configText = (rackIfaces: string): string => `address-pools:
- name: lan
  protocol: layer2
  addresses:
  - 198.51.100.90-198.51.100.99
  - 2001:db8:100::90-2001:db8:100::99
- name: rack-a
  protocol: layer2
  interfaces: [${rackIfaces}]
  node-selectors:
  - match-labels:
      rack: a
  addresses:
  - 203.0.113.10-203.0.113.19
- name: routed
  protocol: bgp
  addresses:
  - 192.0.2.0/28
`;

function parse(text: string): Config {
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.errors)}`);
  return parsed.config;
}
const CONFIGS = [parse(configText('eth1')), parse(configText('eth2, eth3'))];

const NODES = ['node1', 'node2', 'node3', 'node4', 'node5'];
const SERVICES = ['a', 'b', 'c', 'd', 'e', 'f'];
const IPS = ['198.51.100.90', '198.51.100.91', '2001:db8:100::90', '203.0.113.10', '203.0.113.11', '192.0.2.1', '10.9.9.9'];
const SELF = 'node1';

interface SvcSpec {
  ips: string[];
  local: boolean;
  type: 'LoadBalancer' | 'ClusterIP';
}

interface World {
  config: Config;
  services: Map<string, k8s.V1Service>;
  endpoints: Map<string, EndpointFacts>;
  nodes: Map<string, NodeFacts>;
  alive: Set<string>;
  unready: Set<string>;
}

type Event =
  | { kind: 'service'; name: string; spec: SvcSpec | undefined }
  | { kind: 'endpoints'; name: string; ready: string[] | undefined }
  | { kind: 'node'; name: string; facts: { rack: string; exclude: boolean; unavailable: boolean } | undefined }
  | { kind: 'members'; alive: string[]; unready: string[] }
  | { kind: 'config'; which: number }
  | { kind: 'unrelated'; name: string };

const svcSpec: fc.Arbitrary<SvcSpec> = fc.record({
  ips: fc.oneof(fc.subarray(IPS, { minLength: 1, maxLength: 2 }), fc.constant<string[]>([])),
  local: fc.boolean(),
  type: fc.constantFrom('LoadBalancer' as const, 'LoadBalancer' as const, 'ClusterIP' as const),
});

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('service' as const), name: fc.constantFrom(...SERVICES), spec: fc.option(svcSpec, { nil: undefined, freq: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('endpoints' as const), name: fc.constantFrom(...SERVICES), ready: fc.option(fc.subarray(NODES), { nil: undefined, freq: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('node' as const),
      name: fc.constantFrom(...NODES),
      facts: fc.option(fc.record({ rack: fc.constantFrom('a', 'b'), exclude: fc.boolean(), unavailable: fc.boolean() }), { nil: undefined, freq: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('members' as const), alive: fc.subarray(NODES), unready: fc.subarray(NODES, { maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('config' as const), which: fc.integer({ min: 0, max: CONFIGS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unrelated' as const), name: fc.constantFrom(...SERVICES) }) },
);

function service(name: string, s: SvcSpec): k8s.V1Service {
  return {
    metadata: { name, namespace: 'ns' },
    spec: { type: s.type, clusterIP: '10.96.0.10', externalTrafficPolicy: s.local ? 'Local' : 'Cluster' },
    status: { loadBalancer: { ingress: s.ips.map((ip) => ({ ip })) } },
  };
}

/** Applies an event to the world; returns what the speaker would tell the tracker. */
function apply(w: World, e: Event): ReadonlySet<string> | 'all' {
  switch (e.kind) {
    case 'service':
      if (e.spec) w.services.set(`ns/${e.name}`, service(e.name, e.spec));
      else w.services.delete(`ns/${e.name}`);
      return new Set([`ns/${e.name}`]);
    case 'endpoints':
      if (e.ready) w.endpoints.set(`ns/${e.name}`, { anyReady: true, readyNodes: new Set(e.ready) });
      else w.endpoints.delete(`ns/${e.name}`);
      return new Set([`ns/${e.name}`]);
    case 'node':
      if (e.facts) {
        const labels: Record<string, string> = { rack: e.facts.rack, ...(e.facts.exclude ? { [EXCLUDE_LABEL]: '' } : {}) };
        w.nodes.set(e.name, { name: e.name, labels, networkUnavailable: e.facts.unavailable });
      } else w.nodes.delete(e.name);
      return 'all';
    case 'members':
      w.alive = new Set(e.alive);
      w.unready = new Set(e.unready.filter((n) => w.alive.has(n)));
      return 'all';
    case 'config':
      w.config = CONFIGS[e.which];
      return 'all';
    case 'unrelated':
      return new Set([`ns/${e.name}`]);
  }
}

function input(w: World): TrackerInput {
  return {
    config: w.config,
    services: () => [...w.services.values()],
    service: (key) => w.services.get(key),
    endpoints: (key) => w.endpoints.get(key) ?? { anyReady: false, readyNodes: new Set() },
    nodes: w.nodes,
    members: { alive: w.alive, layer2Unready: w.unready },
    self: SELF,
  };
}

const summary = (es: Iterable<{ service: string; ips: string[]; pool: { name: string }; result: unknown; fallback: boolean }>) =>
  [...es].map((e) => ({ service: e.service, ips: e.ips, pool: e.pool.name, result: e.result, fallback: e.fallback })).sort((x, y) => x.service.localeCompare(y.service));

describe('OwnershipTracker (incremental elections) == desiredOwnership from scratch', () => {
  it('after every event of random sequences, told only what each event touched', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 60 }), (events) => {
        const w: World = {
          config: CONFIGS[0],
          services: new Map(),
          endpoints: new Map(),
          nodes: new Map(NODES.map((n) => [n, { name: n, labels: { rack: 'a' }, networkUnavailable: false }])),
          alive: new Set(NODES),
          unready: new Set(),
        };
        const tracker = new OwnershipTracker();
        tracker.update(input(w), 'all');
        for (const e of events) {
          const touched = apply(w, e);
          tracker.update(input(w), touched);
          const scratch = desiredOwnership({ ...input(w), services: [...w.services.values()] });
          expect(summary(tracker.elections().values())).toEqual(summary(scratch.services));
          expect([...tracker.owned().entries()].sort()).toEqual([...scratch.owned.entries()].sort());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reports what it re-elected and what left', () => {
    const w: World = { config: CONFIGS[0], services: new Map(), endpoints: new Map(), nodes: new Map([[SELF, { name: SELF, labels: {}, networkUnavailable: false }]]), alive: new Set([SELF]), unready: new Set() };
    const tracker = new OwnershipTracker();
    apply(w, { kind: 'service', name: 'a', spec: { ips: ['198.51.100.90'], local: false, type: 'LoadBalancer' } });
    apply(w, { kind: 'endpoints', name: 'a', ready: [SELF] });
    const first = tracker.update(input(w), 'all');
    expect(first.elected.map((e) => [e.service, e.result.announcer])).toEqual([['ns/a', SELF]]);
    expect([...tracker.owned().keys()]).toEqual(['198.51.100.90']);
    const touched = apply(w, { kind: 'service', name: 'a', spec: undefined });
    expect(tracker.update(input(w), touched)).toEqual({ elected: [], removed: ['ns/a'] });
    expect(tracker.owned().size).toBe(0);
  });
});
