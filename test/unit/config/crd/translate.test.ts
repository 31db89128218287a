// metallb.io objects → Config. Expected values are written by hand from MetalLB's documentation
// (website/content/configuration/*.md, api/v1beta1 and v1beta2 field docs) and its defaults.
import { l2AdvertisementsOf, bgpAdvertisementsOf } from '../../../../src/config/announcements';
import { formatObjectIssue, translateObjects, type ObjectsResult } from '../../../../src/config/crd/translate';
import type { AddressPool, Config } from '../../../../src/config/types';
import { bfdProfile, bgpAdv, bgpPeer, community, ipPool, l2Adv, NS, secret } from './objects';

function accepted(objects: readonly unknown[]): { config: Config; warnings: string[] } {
  const result: ObjectsResult = translateObjects(objects, { namespace: NS });
  if (!result.ok) throw new Error(`expected the objects to be accepted, got:\n${result.errors.map(formatObjectIssue).join('\n')}`);
  return { config: result.config, warnings: result.warnings.map(formatObjectIssue) };
}

/** What a test compares a pool on: written by hand, no derived values. */
function summary(p: AddressPool): Record<string, unknown> {
  return {
    name: p.name,
    addresses: p.addresses.map((a) => a.text),
    autoAssign: p.autoAssign,
    avoidBuggyIPs: p.avoidBuggyIPs,
    l2: l2AdvertisementsOf(p).map((a) => ({ nodes: a.nodeSelectors.length, interfaces: a.interfaces, from: a.source })),
    bgp: bgpAdvertisementsOf(p).map((a) => ({ v4: a.aggregationLength, v6: a.aggregationLengthV6, localPref: a.localPref, peers: a.peers, from: a.source })),
  };
}

describe('MetalLB documentation examples', () => {
  it('an IPAddressPool with an L2Advertisement that names no pool (configuration/_index.md)', () => {
    const { config, warnings } = accepted([ipPool('first-pool', { addresses: ['192.168.1.240-192.168.1.250'] }), l2Adv('example')]);
    expect(config.pools.map(summary)).toEqual([
      {
        name: 'first-pool',
        addresses: ['192.168.1.240-192.168.1.250'],
        autoAssign: true,
        avoidBuggyIPs: false,
        l2: [{ nodes: 0, interfaces: [], from: 'L2Advertisement metallb-system/example' }],
        bgp: [],
      },
    ]);
    expect(config.pools[0].serviceAllocation).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('a pool without any advertisement is assigned but not announced, and says so', () => {
    const { config, warnings } = accepted([ipPool('first-pool', { addresses: ['192.168.10.0/24', '192.168.9.1-192.168.9.5', 'fc00:f853:0ccd:e799::/124'] })]);
    expect(config.pools.map(summary)).toEqual([
      { name: 'first-pool', addresses: ['192.168.10.0/24', '192.168.9.1-192.168.9.5', 'fc00:f853:0ccd:e799::/124'], autoAssign: true, avoidBuggyIPs: false, l2: [], bgp: [] },
    ]);
    expect(warnings).toEqual([
      'IPAddressPool metallb-system/first-pool: no L2Advertisement or BGPAdvertisement selects this pool: its addresses are assigned but not announced',
    ]);
  });

  it('BGP: a local /32 with LOCAL_PREF and a community alias, and an external /24 (_advanced_bgp_configuration.md)', () => {
    const { config, warnings } = accepted([
      ipPool('first-pool', { addresses: ['198.51.100.10/24'] }),
      community('communities', { 'vpn-only': '1234:1', NO_ADVERTISE: '65535:65282' }),
      bgpAdv('local', { ipAddressPools: ['first-pool'], aggregationLength: 32, localPref: 100, communities: ['vpn-only', 'NO_ADVERTISE'] }),
      bgpAdv('external', { ipAddressPools: ['first-pool'], aggregationLength: 24 }),
      bgpPeer('sample', { myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1' }),
    ]);
    expect(warnings).toEqual([]);
    expect(config.pools.map(summary)).toEqual([
      {
        name: 'first-pool',
        addresses: ['198.51.100.10/24'],
        autoAssign: true,
        avoidBuggyIPs: false,
        l2: [],
        bgp: [
          { v4: 32, v6: 128, localPref: 100, peers: [], from: 'BGPAdvertisement metallb-system/local' },
          { v4: 24, v6: 128, localPref: undefined, peers: [], from: 'BGPAdvertisement metallb-system/external' },
        ],
      },
    ]);
    expect(config.pools[0].protocol).toBe('bgp');
    // 1234:1 = 1234 * 65536 + 1; 65535:65282 = 65535 * 65536 + 65282.
    expect(config.pools[0].bgpAdvertisements[0].communities).toEqual([
      { kind: 'standard', value: 80871425 },
      { kind: 'standard', value: 4294967042 },
    ]);
    expect(config.bgpCommunities).toEqual({ 'vpn-only': { kind: 'standard', value: 80871425 }, NO_ADVERTISE: { kind: 'standard', value: 4294967042 } });
    expect(config.peers).toEqual([
      { name: 'sample', myASN: 64500, peerASN: 64501, peerAddress: '10.0.0.1', peerPort: 179, holdTimeSeconds: 90, keepaliveTimeSeconds: 30, nodeSelectors: [], ebgpMultihop: false },
    ]);
  });

  it('a peer limited to nodes, on port 180 (_advanced_bgp_configuration.md)', () => {
    const { config } = accepted([
      bgpPeer('example', {
        myASN: 64512,
        peerASN: 64512,
        peerAddress: '172.30.0.3',
        peerPort: 180,
        nodeSelectors: [
          { matchLabels: { rack: 'frontend' }, matchExpressions: [{ key: 'network-speed', operator: 'NotIn', values: ['slow'] }] },
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['hostA', 'hostB'] }] },
        ],
      }),
    ]);
    expect(config.peers[0].peerPort).toBe(180);
    expect(config.peers[0].nodeSelectors).toEqual([
      { matchLabels: { rack: 'frontend' }, matchExpressions: [{ key: 'network-speed', operator: 'NotIn', values: ['slow'] }] },
      { matchLabels: {}, matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['hostA', 'hostB'] }] },
    ]);
  });

  it('L2 interfaces add up across advertisements (_advanced_l2_configuration.md)', () => {
    const { config } = accepted([
      ipPool('pool1', { addresses: ['192.0.2.0/28'] }),
      ipPool('pool2', { addresses: ['192.0.2.16/28'] }),
      l2Adv('example-advertisement9', { interfaces: ['eno1'] }),
      l2Adv('example-advertisement10', { ipAddressPools: ['pool1'], nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'hostB' } }], interfaces: ['ens18'] }),
    ]);
    expect(config.pools.map((p) => [p.name, summary(p).l2])).toEqual([
      [
        'pool1',
        [
          { nodes: 0, interfaces: ['eno1'], from: 'L2Advertisement metallb-system/example-advertisement9' },
          { nodes: 1, interfaces: ['ens18'], from: 'L2Advertisement metallb-system/example-advertisement10' },
        ],
      ],
      ['pool2', [{ nodes: 0, interfaces: ['eno1'], from: 'L2Advertisement metallb-system/example-advertisement9' }]],
    ]);
  });

  it('serviceAllocation as documented (_advanced_ipaddresspool_configuration.md)', () => {
    const { config } = accepted([
      ipPool('ippool-ns-service-alloc-sample', {
        addresses: ['192.168.20.0/24'],
        avoidBuggyIPs: true,
        serviceAllocation: {
          priority: 50,
          namespaces: ['namespace-a', 'namespace-b'],
          namespaceSelectors: [{ matchLabels: { foo: 'bar' } }],
          serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['bar'] }] }],
        },
      }),
      l2Adv('l2'),
    ]);
    expect(config.pools[0].serviceAllocation).toEqual({
      priority: 50,
      namespaces: ['namespace-a', 'namespace-b'],
      namespaceSelectors: [{ matchLabels: { foo: 'bar' }, matchExpressions: [] }],
      serviceSelectors: [{ matchLabels: {}, matchExpressions: [{ key: 'app', operator: 'In', values: ['bar'] }] }],
    });
    expect(config.pools[0].priority).toBe(50);
    expect(config.pools[0].avoidBuggyIPs).toBe(true);
  });
});

describe('selection and references', () => {
  it('pools are selected by label; an advertisement naming none takes every pool', () => {
    const { config } = accepted([
      ipPool('gold', { addresses: ['192.0.2.0/28'] }, { tier: 'gold' }),
      ipPool('bronze', { addresses: ['192.0.2.16/28'] }, { tier: 'bronze' }),
      bgpAdv('gold-only', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'gold' } }], localPref: 200, aggregationLength: 28 }),
      bgpAdv('all'),
      bgpPeer('r1', { myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1' }),
    ]);
    const bgpOf = (name: string) => config.pools.find((p) => p.name === name)?.bgpAdvertisements.map((a) => a.source);
    expect(bgpOf('gold')).toEqual(['BGPAdvertisement metallb-system/gold-only', 'BGPAdvertisement metallb-system/all']);
    expect(bgpOf('bronze')).toEqual(['BGPAdvertisement metallb-system/all']);
  });

  it('a v1beta1 BGPPeer reads like v1beta2; the password comes from a basic-auth Secret in v1beta2', () => {
    const { config } = accepted([
      bgpPeer('old', { myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1', holdTime: '3m', password: 'p1' }, 'v1beta1'),
      bgpPeer('new', { myASN: 64500, peerASN: 64502, peerAddress: '203.0.113.2', keepaliveTime: '10s', passwordSecret: { name: 'bgp-pass', namespace: NS } }),
      secret('bgp-pass', { username: 'ignored', password: 's3cret' }),
    ]);
    expect(config.peers.map((p) => [p.name, p.holdTimeSeconds, p.keepaliveTimeSeconds, p.password])).toEqual([
      ['old', 180, 60, 'p1'],
      // MetalLB: only keepaliveTime set → holdTime = 3 × keepaliveTime.
      ['new', 30, 10, 's3cret'],
    ]);
  });

  it('dynamicASN internal is the local AS; localASN replaces myASN towards the router', () => {
    const { config } = accepted([
      bgpPeer('ibgp', { myASN: 64500, dynamicASN: 'internal', peerAddress: '203.0.113.1' }),
      bgpPeer('local', { myASN: 64500, localASN: 65010, peerASN: 65020, peerAddress: '203.0.113.2' }),
    ]);
    expect(config.peers.map((p) => [p.name, p.myASN, p.peerASN, p.dynamicASN])).toEqual([
      ['ibgp', 64500, 64500, 'internal'],
      ['local', 65010, 65020, undefined],
    ]);
  });

  it('graceful restart is carried; fields ironlb cannot honour are warnings and the peer stays', () => {
    const { config, warnings } = accepted([
      bfdProfile('fast', { receiveInterval: 380, transmitInterval: 270 }),
      bgpPeer('p', { myASN: 64512, peerASN: 64512, peerAddress: '172.30.0.3', bfdProfile: 'fast', enableGracefulRestart: true, connectTime: '5s', dualStackAddressFamily: true }),
    ]);
    expect(config.peers.map((p) => [p.name, p.gracefulRestart, p.bfdProfile])).toEqual([['p', true, 'fast']]);
    expect(config.bfdProfiles).toEqual([{ name: 'fast', receiveInterval: 380, transmitInterval: 270 }]);
    expect(warnings).toEqual([
      'BGPPeer metallb-system/p: spec.connectTime: has no effect: ironlb retries a session with its own backoff (docs/bgp.md)',
      'BGPPeer metallb-system/p: spec.bfdProfile: has no effect: ironlb has no BFD; the session relies on the BGP hold timer',
      "BGPPeer metallb-system/p: spec.dualStackAddressFamily: has no effect: ironlb's speaker chooses the address families of a session itself (docs/bgp.md)",
    ]);
  });

  it('peers ironlb cannot connect to as written are left out with a warning, never silently', () => {
    const { config, warnings } = accepted([
      bgpPeer('vrf', { myASN: 64512, peerASN: 64512, peerAddress: '172.30.0.3', vrf: 'red' }),
      bgpPeer('unnumbered', { myASN: 64512, peerASN: 64513, interface: 'eth1' }),
      bgpPeer('external', { myASN: 64512, dynamicASN: 'external', peerAddress: '172.30.0.4' }),
    ]);
    expect(config.peers).toEqual([]);
    expect(warnings).toEqual([
      'BGPPeer metallb-system/vrf: spec.vrf: VRFs are not supported by ironlb; this peer is left out',
      'BGPPeer metallb-system/unnumbered: spec.interface: unnumbered BGP is not supported by ironlb; this peer is left out (set peerAddress)',
      "BGPPeer metallb-system/external: spec.dynamicASN: dynamicASN external is not supported: ironlb's speaker needs the router's AS number; this peer is left out (set peerASN)",
    ]);
  });

  it('unknown fields, status objects and other kinds are warnings', () => {
    const { warnings } = accepted([
      ipPool('p', { addresses: ['192.0.2.0/28'], preferredColour: 'blue' }),
      l2Adv('l2', { preferredNodeSelectors: [] }),
      { apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name: 'l2-x', namespace: NS } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS } },
    ]);
    expect(warnings).toEqual([
      'ServiceL2Status metallb-system/l2-x: kind: ServiceL2Status is a status object, written by the speakers; ignored',
      'ConfigMap metallb-system/config: apiVersion: not a metallb.io object (apiVersion "v1", kind "ConfigMap"); ignored',
      'IPAddressPool metallb-system/p: spec.preferredColour: unknown field "preferredColour" is ignored; known fields: addresses, autoAssign, avoidBuggyIPs, serviceAllocation',
      'L2Advertisement metallb-system/l2: spec.preferredNodeSelectors: unknown field "preferredNodeSelectors" is ignored; known fields: ipAddressPools, ipAddressPoolSelectors, nodeSelectors, interfaces, serviceSelectors',
    ]);
  });

  it('pools come in allocation order: restricted with a priority, restricted without, then open ones', () => {
    const { config } = accepted([
      ipPool('open-a', { addresses: ['192.0.2.0/28'] }),
      ipPool('zero', { addresses: ['192.0.2.16/28'], serviceAllocation: { namespaces: ['a'] } }),
      ipPool('ten', { addresses: ['192.0.2.32/28'], serviceAllocation: { priority: 10, namespaces: ['a'] } }),
      ipPool('one', { addresses: ['192.0.2.48/28'], serviceAllocation: { priority: 1 } }),
      l2Adv('l2'),
    ]);
    expect(config.pools.map((p) => p.name)).toEqual(['one', 'ten', 'zero', 'open-a']);
  });
});

describe('ironlb annotations on an IPAddressPool', () => {
  const annotated = (value: string): Record<string, unknown> => {
    const pool = ipPool('sticky', { addresses: ['192.0.2.0/28'] });
    return { ...pool, metadata: { ...(pool.metadata as Record<string, unknown>), annotations: { 'ironlb.io/release-delay': value } } };
  };

  it('ironlb.io/release-delay sets the sticky hold as the ConfigMap key release-delay does', () => {
    expect(accepted([annotated('10m'), l2Adv('l2')]).config.pools[0].releaseDelaySeconds).toBe(600);
    expect(accepted([annotated('90'), l2Adv('l2')]).config.pools[0].releaseDelaySeconds).toBe(90);
    expect(accepted([annotated('0s'), l2Adv('l2')]).config.pools[0].releaseDelaySeconds).toBeUndefined();
    expect(accepted([ipPool('plain', { addresses: ['192.0.2.0/28'] }), l2Adv('l2')]).config.pools[0].releaseDelaySeconds).toBeUndefined();
  });

  it('an invalid release-delay refuses the pool with the annotation named', () => {
    const result = translateObjects([annotated('25h'), l2Adv('l2')], { namespace: NS });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map(formatObjectIssue).join('\n')).toContain('release-delay must be between 0s and 24h, got 25h');
    const soon = translateObjects([annotated('soon'), l2Adv('l2')], { namespace: NS });
    expect(soon.ok).toBe(false);
  });
  it('ironlb.io/datapath-check gates the pool as the ConfigMap key datapath-check does; an unknown check is refused by name', () => {
    const withCheck = (value: string): Record<string, unknown> => {
      const pool = ipPool('gated', { addresses: ['192.0.2.0/28'] });
      return { ...pool, metadata: { ...(pool.metadata as Record<string, unknown>), annotations: { 'ironlb.io/datapath-check': value } } };
    };
    expect(accepted([withCheck('kube-proxy'), l2Adv('l2')]).config.pools[0].dataPathCheck).toBe('kube-proxy');
    expect(accepted([withCheck('off'), l2Adv('l2')]).config.pools[0].dataPathCheck).toBeUndefined();
    const bad = translateObjects([withCheck('true'), l2Adv('l2')], { namespace: NS });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map(formatObjectIssue).join('\n')).toContain('ironlb.io/datapath-check must be one of kube-proxy, off, got "true"');
  });
});
