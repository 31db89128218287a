// Tenancy, pool order and per-node announcement plans: expected answers are hand-written tables
// from MetalLB's documented rules (_advanced_ipaddresspool_configuration.md,
// _advanced_l2_configuration.md, _advanced_bgp_configuration.md).
import { advertisementPeers, bgpAdvertisementsFor, l2PlanFor } from '../../../src/config/announcements';
import { allocationAllows, candidatePools, describeRestriction, type ServiceFacts } from '../../../src/config/service-allocation';
import type { AddressPool, Peer, ServiceAllocation } from '../../../src/config/types';
import { pool } from '../../helpers/pools';

const DOC_SAMPLE: ServiceAllocation = {
  priority: 50,
  namespaces: ['namespace-a', 'namespace-b'],
  namespaceSelectors: [{ matchLabels: { foo: 'bar' }, matchExpressions: [] }],
  serviceSelectors: [{ matchLabels: {}, matchExpressions: [{ key: 'app', operator: 'In', values: ['bar'] }] }],
};

const svc = (namespace: string, namespaceLabels: Record<string, string>, serviceLabels: Record<string, string>): ServiceFacts => ({ namespace, namespaceLabels, serviceLabels });

describe('serviceAllocation (the documented sample: app=bar Services in namespace-a, namespace-b or a namespace labelled foo=bar)', () => {
  const rows: [string, ServiceFacts, boolean][] = [
    ['app=bar in namespace-a', svc('namespace-a', {}, { app: 'bar' }), true],
    ['app=bar in namespace-b', svc('namespace-b', {}, { app: 'bar' }), true],
    ['app=bar in a namespace labelled foo=bar', svc('team-x', { foo: 'bar' }, { app: 'bar' }), true],
    ['app=bar in another namespace', svc('team-x', { foo: 'baz' }, { app: 'bar' }), false],
    ['app=web in namespace-a', svc('namespace-a', {}, { app: 'web' }), false],
    ['no labels in namespace-a', svc('namespace-a', {}, {}), false],
  ];
  it.each(rows)('%s → %s', (_d, facts, allowed) => {
    expect(allocationAllows(DOC_SAMPLE, facts)).toBe(allowed);
  });

  it('no serviceAllocation, or one with every list empty, serves everyone', () => {
    expect(allocationAllows(undefined, svc('x', {}, {}))).toBe(true);
    expect(allocationAllows({ priority: 3, namespaces: [], namespaceSelectors: [], serviceSelectors: [] }, svc('x', {}, {}))).toBe(true);
  });

  it('a namespace selector that matches no namespace still restricts the pool', () => {
    const sa: ServiceAllocation = { priority: 0, namespaces: [], namespaceSelectors: [{ matchLabels: { tenant: 'gold' }, matchExpressions: [] }], serviceSelectors: [] };
    expect(allocationAllows(sa, svc('default', {}, {}))).toBe(false);
  });

  it('the restriction in words, for Warning Events', () => {
    const p: AddressPool = { ...pool('gold', ['192.0.2.0/28']), serviceAllocation: DOC_SAMPLE };
    expect(describeRestriction(p)).toBe('pool "gold" only serves namespaces namespace-a, namespace-b or namespaces labelled foo=bar, Services labelled app in (bar)');
    expect(describeRestriction(pool('open', ['192.0.2.0/28']))).toBeUndefined();
  });
});

describe('the order pools are tried in', () => {
  const sa = (priority: number, namespaces: string[] = []): ServiceAllocation => ({ priority, namespaces, namespaceSelectors: [], serviceSelectors: [] });
  const pools: AddressPool[] = [
    pool('open-b', ['192.0.2.0/28']),
    pool('open-a', ['192.0.2.16/28']),
    { ...pool('pinned-zero', ['192.0.2.32/28']), serviceAllocation: sa(0, ['team']) },
    { ...pool('pinned-5', ['192.0.2.48/28'], { priority: 5 }), serviceAllocation: sa(5, ['team']) },
    { ...pool('pinned-1', ['192.0.2.64/28'], { priority: 1 }), serviceAllocation: sa(1) },
    { ...pool('other-team', ['192.0.2.80/28'], { priority: 1 }), serviceAllocation: sa(1, ['other']) },
    pool('manual', ['192.0.2.96/28'], { autoAssign: false }),
  ];
  it('for a Service in "team": matching pinned pools by priority (0 last), then the open pools by name', () => {
    expect(candidatePools(pools, svc('team', {}, {})).map((p) => p.name)).toEqual(['pinned-1', 'pinned-5', 'pinned-zero', 'open-a', 'open-b']);
  });
  it('for a Service elsewhere: only the pools open to it', () => {
    expect(candidatePools(pools, svc('default', {}, {})).map((p) => p.name)).toEqual(['pinned-1', 'open-a', 'open-b']);
  });
  it('ConfigMap pools: (priority, name), as before', () => {
    const cm = [pool('b', ['192.0.2.0/28']), pool('a', ['192.0.2.16/28']), pool('first', ['192.0.2.32/28'], { priority: -10 })];
    expect(candidatePools(cm, svc('x', {}, {})).map((p) => p.name)).toEqual(['first', 'a', 'b']);
  });
});

describe('layer 2 plan per node (the eno1 / ens18 example)', () => {
  const p: AddressPool = {
    ...pool('pool1', ['192.0.2.0/28']),
    l2Advertisements: [
      { nodeSelectors: [], interfaces: ['eno1'], serviceSelectors: [] },
      { nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'hostB' }, matchExpressions: [] }], interfaces: ['ens18'], serviceSelectors: [] },
    ],
  };
  it.each([
    ['hostA', { eligible: true, interfaces: ['eno1'] }],
    ['hostB', { eligible: true, interfaces: ['eno1', 'ens18'] }],
  ] as const)('%s', (host, plan) => {
    expect(l2PlanFor(p, { 'kubernetes.io/hostname': host }, {})).toEqual(plan);
  });

  it('nodes outside every advertisement are not candidates; an advertisement without interfaces means the default set', () => {
    const q: AddressPool = {
      ...pool('q', ['192.0.2.16/28']),
      l2Advertisements: [
        { nodeSelectors: [{ matchLabels: { zone: 'a' }, matchExpressions: [] }], interfaces: ['eth1'], serviceSelectors: [] },
        { nodeSelectors: [{ matchLabels: { zone: 'a' }, matchExpressions: [] }], interfaces: [], serviceSelectors: [] },
      ],
    };
    expect(l2PlanFor(q, { zone: 'b' }, {})).toEqual({ eligible: false, interfaces: [] });
    expect(l2PlanFor(q, { zone: 'a' }, {})).toEqual({ eligible: true, interfaces: 'default' });
  });

  it('serviceSelectors limit an advertisement to some Services', () => {
    const q: AddressPool = {
      ...pool('q', ['192.0.2.16/28']),
      l2Advertisements: [{ nodeSelectors: [], interfaces: [], serviceSelectors: [{ matchLabels: { expose: 'lan' }, matchExpressions: [] }] }],
    };
    expect(l2PlanFor(q, {}, { expose: 'lan' }).eligible).toBe(true);
    expect(l2PlanFor(q, {}, {}).eligible).toBe(false);
  });

  it('a ConfigMap layer2 pool: its interfaces and node selectors, on every Service', () => {
    const cm: AddressPool = { ...pool('cm', ['192.0.2.32/28']), interfaces: ['bond0'], nodeSelectors: [{ matchLabels: { edge: 'true' }, matchExpressions: [] }] };
    expect(l2PlanFor(cm, { edge: 'true' }, { any: 'x' })).toEqual({ eligible: true, interfaces: ['bond0'] });
    expect(l2PlanFor(cm, {}, {})).toEqual({ eligible: false, interfaces: [] });
  });
});

describe('BGP per node: which advertisements, to which peers', () => {
  const peers: Peer[] = ['PeerA', 'PeerB', 'PeerC'].map((name, i) => ({
    name,
    myASN: 64500,
    peerASN: 64501 + i,
    peerAddress: `203.0.113.${i + 1}`,
    peerPort: 179,
    holdTimeSeconds: 90,
    keepaliveTimeSeconds: 30,
    nodeSelectors: [],
    ebgpMultihop: false,
  }));
  const p: AddressPool = {
    ...pool('PoolA', ['198.51.100.0/24']),
    protocol: 'bgp',
    l2Advertisements: [],
    bgpAdvertisements: [
      { aggregationLength: 32, aggregationLengthV6: 128, communities: [], peers: ['PeerA', 'PeerB'], nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'NodeA' }, matchExpressions: [] }] },
      { aggregationLength: 24, aggregationLengthV6: 128, communities: [] },
    ],
  };
  it('NodeA announces both; the /32 only to PeerA and PeerB, the /24 to every peer', () => {
    const advs = bgpAdvertisementsFor(p, { 'kubernetes.io/hostname': 'NodeA' }, {});
    expect(advs.map((a) => [a.aggregationLength, advertisementPeers(a, peers).map((x) => x.name)])).toEqual([
      [32, ['PeerA', 'PeerB']],
      [24, ['PeerA', 'PeerB', 'PeerC']],
    ]);
  });
  it('NodeB announces only the /24', () => {
    expect(bgpAdvertisementsFor(p, { 'kubernetes.io/hostname': 'NodeB' }, {}).map((a) => a.aggregationLength)).toEqual([24]);
  });
});
