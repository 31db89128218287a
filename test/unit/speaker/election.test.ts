// The layer-2 election, table-driven from MetalLB's documented rules
// (/work/shared/reference/metallb-behaviour.md §4 "Election"), through desiredOwnership — the
// function every speaker and the CLI run. The expected owners are written out by hand; none is
// computed by the code under test.
//
// Candidate order is sha256("<node>#<first LB IP>") ascending by bytes. The orders below were
// computed once with coreutils, e.g.
//   for n in node1 node2 node3 node4; do
//     printf '%s  %s\n' "$(printf '%s#%s' $n 198.51.100.90 | sha256sum | cut -c1-16)" $n
//   done | sort
// (the first 16 hex digits already differ everywhere):
//   198.51.100.90      node3 5bfa2e43… < node4 a658d8fc… < node2 ca7a4721… < node1 cdaa8cce…
//   198.51.100.91      node4 7cc34484… < node2 86134cab… < node3 badcef37… < node1 f7b2d2b3…
//   198.51.100.92      node1 366e89e4… < node3 9f7b2362… < node2 e766e6da… < node4 f14f661d…
//   2001:db8:100::90   node3 2f9b7921… < node4 4dc9c2d8… < node2 5e7167ac… < node1 b1e55f2a…
//   203.0.113.10       node2 1537da1b… < node4 7ea4f6e0… < node1 b3593f62… < node3 ecc5a534…
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import type { Config } from '../../../src/config/types';
import { EXCLUDE_LABEL, type EndpointFacts, type NodeFacts } from '../../../src/speaker/election/election';
import { desiredOwnership, type OwnershipInput } from '../../../src/speaker/layer2/desired';

const CONFIG = `address-pools:
- name: lan
  protocol: layer2
  addresses:
  - 198.51.100.90-198.51.100.99
  - 2001:db8:100::90-2001:db8:100::99
- name: rack-a
  protocol: layer2
  interfaces: [eth1]
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

function config(): Config {
  const parsed = parseConfigText(CONFIG);
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.errors)}`);
  return parsed.config;
}

interface Svc {
  name: string;
  ips: string[];
  local?: boolean;
  /** Nodes with a ready endpoint; [] = a ready endpoint on no known node; undefined = none at all. */
  readyOn?: string[];
  type?: string;
  lbClass?: string;
}

function service(s: Svc): k8s.V1Service {
  return {
    metadata: { name: s.name, namespace: 'ns' },
    spec: {
      type: s.type ?? 'LoadBalancer',
      clusterIP: '10.96.0.10',
      externalTrafficPolicy: s.local ? 'Local' : 'Cluster',
      ...(s.lbClass ? { loadBalancerClass: s.lbClass } : {}),
    } as k8s.V1ServiceSpec,
    status: { loadBalancer: { ingress: s.ips.map((ip) => ({ ip })) } },
  };
}

type NodeSpec = Partial<NodeFacts> & { name: string };
const plain = (...names: string[]): NodeSpec[] => names.map((name) => ({ name }));

interface Case {
  rule: string;
  nodes: NodeSpec[];
  alive: string[];
  layer2Unready?: string[];
  ignoreExcludeLabel?: boolean;
  lbClass?: string;
  services: Svc[];
  /** Per Service name: the announcer, or `!reason` when nobody announces it; absent = not a layer-2 Service. */
  expect: Record<string, string | undefined>;
}

const ALL = ['node1', 'node2', 'node3', 'node4'];
const EVERYWHERE = ALL;

const cases: Case[] = [
  {
    rule: 'the first node in sha256(node#ip) order announces',
    nodes: plain(...ALL),
    alive: ALL,
    services: [
      { name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE },
      { name: 'b', ips: ['198.51.100.91'], readyOn: EVERYWHERE },
      { name: 'c', ips: ['198.51.100.92'], readyOn: EVERYWHERE },
    ],
    expect: { a: 'node3', b: 'node4', c: 'node1' },
  },
  {
    rule: 'IPv6 addresses hash on their canonical text (RFC 5952), however the status spells them',
    nodes: plain(...ALL),
    alive: ALL,
    services: [{ name: 'v6', ips: ['2001:DB8:100:0:0::90'], readyOn: EVERYWHERE }],
    expect: { v6: 'node3' },
  },
  {
    rule: 'only nodes whose speaker is alive are candidates',
    nodes: plain(...ALL),
    alive: ['node1', 'node2', 'node4'],
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: 'node4' },
  },
  {
    rule: 'removing a node moves only the addresses it owned',
    nodes: plain(...ALL),
    alive: ['node2', 'node3', 'node4'],
    services: [
      { name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE },
      { name: 'c', ips: ['198.51.100.92'], readyOn: EVERYWHERE },
    ],
    expect: { a: 'node3', c: 'node3' },
  },
  {
    rule: 'a node with condition NetworkUnavailable=True is skipped',
    nodes: [...plain('node1', 'node2', 'node4'), { name: 'node3', networkUnavailable: true }],
    alive: ALL,
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: 'node4' },
  },
  {
    rule: 'a node labelled exclude-from-external-load-balancers is skipped, whatever the label value',
    nodes: [...plain('node1', 'node2', 'node4'), { name: 'node3', labels: { [EXCLUDE_LABEL]: '' } }],
    alive: ALL,
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: 'node4' },
  },
  {
    rule: '--ignore-exclude-lb: the exclusion label is ignored',
    nodes: [...plain('node1', 'node2', 'node4'), { name: 'node3', labels: { [EXCLUDE_LABEL]: 'true' } }],
    alive: ALL,
    ignoreExcludeLabel: true,
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: 'node3' },
  },
  {
    rule: "only nodes matching the pool's node selectors announce (node2 would win without them)",
    nodes: [
      { name: 'node1', labels: { rack: 'a' } },
      { name: 'node2', labels: { rack: 'b' } },
      { name: 'node3', labels: { rack: 'a' } },
      { name: 'node4' },
    ],
    alive: ALL,
    services: [{ name: 'r', ips: ['203.0.113.10'], readyOn: EVERYWHERE }],
    expect: { r: 'node1' },
  },
  {
    rule: 'no live node matches the selectors: nobody announces',
    nodes: [{ name: 'node1', labels: { rack: 'a' } }, ...plain('node2', 'node3', 'node4')],
    alive: ['node2', 'node3', 'node4'],
    services: [{ name: 'r', ips: ['203.0.113.10'], readyOn: EVERYWHERE }],
    expect: { r: '!noEligibleNode' },
  },
  {
    rule: 'a speaker on a node without a Node object is not a candidate',
    nodes: plain('node1', 'node2', 'node4'),
    alive: ALL,
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: 'node4' },
  },
  {
    rule: 'externalTrafficPolicy Local: only nodes with a ready endpoint are candidates',
    nodes: plain(...ALL),
    alive: ALL,
    services: [{ name: 'l', ips: ['198.51.100.90'], local: true, readyOn: ['node1', 'node2'] }],
    expect: { l: 'node2' },
  },
  {
    rule: 'Local: the only endpoint is on a node without a live speaker',
    nodes: plain(...ALL),
    alive: ['node1', 'node2', 'node4'],
    services: [{ name: 'l', ips: ['198.51.100.90'], local: true, readyOn: ['node3'] }],
    expect: { l: '!noLocalEndpointOnEligibleNode' },
  },
  {
    rule: 'Local: the only endpoint is on an excluded node',
    nodes: [...plain('node1', 'node2', 'node4'), { name: 'node3', labels: { [EXCLUDE_LABEL]: '' } }],
    alive: ALL,
    services: [{ name: 'l', ips: ['198.51.100.90'], local: true, readyOn: ['node3'] }],
    expect: { l: '!noLocalEndpointOnEligibleNode' },
  },
  {
    rule: 'Cluster: where the endpoints run does not matter, only that one is ready',
    nodes: plain(...ALL),
    alive: ALL,
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: ['node1'] }],
    expect: { a: 'node3' },
  },
  {
    rule: 'no ready endpoint anywhere: nobody announces, Cluster policy too (MetalLB #1640)',
    nodes: plain(...ALL),
    alive: ALL,
    services: [
      { name: 'a', ips: ['198.51.100.90'] },
      { name: 'l', ips: ['198.51.100.91'], local: true },
    ],
    expect: { a: '!noReadyEndpoint', l: '!noReadyEndpoint' },
  },
  {
    rule: 'no speaker alive: nobody announces',
    nodes: plain(...ALL),
    alive: [],
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: '!noLiveSpeaker' },
  },
  {
    rule: 'Services sharing an address land on one node (the hash is of the address, not the Service)',
    nodes: plain(...ALL),
    alive: ALL,
    services: [
      { name: 'share-tcp', ips: ['198.51.100.92'], readyOn: ['node4'] },
      { name: 'share-udp', ips: ['198.51.100.92'], readyOn: ['node2'] },
    ],
    expect: { 'share-tcp': 'node1', 'share-udp': 'node1' },
  },
  {
    rule: 'Local Services sharing an address (same selector, so the same endpoints) land on one node',
    nodes: plain(...ALL),
    alive: ALL,
    services: [
      { name: 'share-l1', ips: ['198.51.100.92'], local: true, readyOn: ['node2', 'node3'] },
      { name: 'share-l2', ips: ['198.51.100.92'], local: true, readyOn: ['node2', 'node3'] },
    ],
    expect: { 'share-l1': 'node3', 'share-l2': 'node3' },
  },
  {
    rule: 'a dual-stack Service is hashed on its first address',
    nodes: plain(...ALL),
    alive: ALL,
    services: [{ name: 'dual', ips: ['198.51.100.91', '2001:db8:100::90'], readyOn: EVERYWHERE }],
    expect: { dual: 'node4' },
  },
  {
    rule: 'NO_LAYER2 (ironlb): a node without a usable layer-2 interface is passed over',
    nodes: plain(...ALL),
    alive: ALL,
    layer2Unready: ['node3'],
    services: [{ name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE }],
    expect: { a: 'node4' },
  },
  {
    rule: 'NO_LAYER2 (ironlb): ...unless no other candidate exists, so that it says announceFailed',
    nodes: plain(...ALL),
    alive: ALL,
    layer2Unready: ['node3'],
    services: [{ name: 'l', ips: ['198.51.100.90'], local: true, readyOn: ['node3'] }],
    expect: { l: 'node3' },
  },
  {
    rule: 'only handled layer-2 Services: other types, other classes and BGP pools are not elected',
    nodes: plain(...ALL),
    alive: ALL,
    lbClass: 'example.com/lb',
    services: [
      { name: 'mine', ips: ['198.51.100.90'], readyOn: EVERYWHERE, lbClass: 'example.com/lb' },
      { name: 'classless', ips: ['198.51.100.91'], readyOn: EVERYWHERE },
      { name: 'nodeport', ips: ['198.51.100.92'], readyOn: EVERYWHERE, type: 'NodePort', lbClass: 'example.com/lb' },
      { name: 'routed', ips: ['192.0.2.3'], readyOn: EVERYWHERE, lbClass: 'example.com/lb' },
      { name: 'nowhere', ips: ['203.0.113.99'], readyOn: EVERYWHERE, lbClass: 'example.com/lb' },
    ],
    expect: { mine: 'node3' },
  },
];

function input(c: Case, self = 'node1'): OwnershipInput {
  const nodes = new Map<string, NodeFacts>(c.nodes.map((n) => [n.name, { labels: {}, networkUnavailable: false, ...n }]));
  const ready = new Map(c.services.map((s) => [`ns/${s.name}`, s.readyOn]));
  const endpoints = (key: string): EndpointFacts => {
    const on = ready.get(key);
    return on === undefined ? { anyReady: false, readyNodes: new Set() } : { anyReady: true, readyNodes: new Set(on) };
  };
  return {
    config: config(),
    services: c.services.map(service),
    endpoints,
    nodes,
    members: { alive: new Set(c.alive), layer2Unready: new Set(c.layer2Unready ?? []) },
    self,
    lbClass: c.lbClass,
    ignoreExcludeLabel: c.ignoreExcludeLabel,
  };
}

describe('layer-2 election (MetalLB §4 rules, owners written by hand)', () => {
  it.each(cases)('$rule', (c) => {
    const got: Record<string, string | undefined> = {};
    for (const e of desiredOwnership(input(c)).services) {
      got[e.service.slice('ns/'.length)] = e.result.announcer ?? `!${e.result.reason}`;
    }
    expect(got).toEqual(c.expect);
  });

  it('each node answers exactly for the addresses it wins, with the pool interfaces', () => {
    const c: Case = {
      rule: '',
      nodes: [{ name: 'node1', labels: { rack: 'a' } }, ...plain('node2', 'node3', 'node4')],
      alive: ALL,
      services: [
        { name: 'a', ips: ['198.51.100.90'], readyOn: EVERYWHERE },
        { name: 'dual', ips: ['198.51.100.91', '2001:db8:100::90'], readyOn: EVERYWHERE },
        { name: 'r', ips: ['203.0.113.10'], readyOn: EVERYWHERE },
      ],
      expect: {},
    };
    const owned = (self: string) => [...desiredOwnership(input(c, self)).owned.values()];
    expect(owned('node1')).toEqual([{ address: '203.0.113.10', interfaces: ['eth1'] }]);
    expect(owned('node2')).toEqual([]);
    expect(owned('node3')).toEqual([{ address: '198.51.100.90' }]);
    expect(owned('node4')).toEqual([{ address: '198.51.100.91' }, { address: '2001:db8:100::90' }]);
  });

  it('per address: the owner, the Services on it, or why nobody announces it', () => {
    const c = cases.find((x) => x.rule.startsWith('Services sharing')) as Case;
    const d = desiredOwnership(input(c));
    expect([...d.addresses.values()]).toEqual([{ address: '198.51.100.92', pool: 'lan', services: ['ns/share-tcp', 'ns/share-udp'], owner: 'node1', reason: undefined, detail: undefined }]);
    const none = desiredOwnership(input(cases.find((x) => x.rule.startsWith('no ready endpoint')) as Case));
    expect(none.addresses.get('198.51.100.90')).toEqual({ address: '198.51.100.90', pool: 'lan', services: ['ns/a'], reason: 'noReadyEndpoint', detail: expect.stringContaining('no ready endpoint') });
  });

  it('says which node was passed over and why when no node is eligible', () => {
    const c = cases.find((x) => x.rule.startsWith('no live node matches')) as Case;
    const [e] = desiredOwnership(input({ ...c, alive: ['node2', 'node3', 'ghost'] })).services;
    expect(e.result.announcer).toBeUndefined();
    expect(e.result.announcer === undefined && e.result.ineligible).toEqual([
      { node: 'ghost', why: 'no such Node' },
      { node: 'node2', why: "does not match the pool's node-selectors" },
      { node: 'node3', why: "does not match the pool's node-selectors" },
    ]);
  });

  it('marks an announcer elected only as the fallback', () => {
    const [fallback] = desiredOwnership(input(cases.find((x) => x.rule.includes('unless no other candidate')) as Case)).services;
    expect(fallback.fallback).toBe(true);
    const [normal] = desiredOwnership(input(cases.find((x) => x.rule.includes('is passed over')) as Case)).services;
    expect(normal.fallback).toBe(false);
  });
});
