// ConfigMap → metallb.io objects. Expected names and values come from MetalLB's own converter's
// golden files (configmaptocrs/testdata/configmap-yaml/config-yaml-convert-names.golden and
// config-yaml-peers.golden), copied by hand.
import { configMapToObjects, objectName } from '../../../../src/config/crd/migrate';
import { translateObjects } from '../../../../src/config/crd/translate';

function converted(lines: readonly string[], namespace = 'metallb-system'): Record<string, unknown>[] {
  const result = configMapToObjects(`${lines.join('\n')}\n`, namespace);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.objects as Record<string, unknown>[];
}

const id = (o: Record<string, unknown>): string => `${String(o.kind)}/${String((o.metadata as { name: string }).name)}`;
const specOf = (objects: Record<string, unknown>[], key: string): unknown => objects.find((o) => id(o) === key)?.spec;

describe('object names (MetalLB convert-names golden)', () => {
  it.each([
    ['01-numbered-addresspool', 'numbered-addresspool'],
    ['Capitalized-AddressPool', 'capitalized-addresspool'],
    ['underscored_bfd_profile', 'underscored-bfd-profile'],
    ['tooLongBFDProfileName01-tooLongBFDProfileName02-tooLongBFDProfileName03-tooLongBFDProfileName04', 'toolongbfdprofilename01-toolongbfdprofilename02-toolongbfdprofi'],
    ['already-fine', 'already-fine'],
  ])('%s → %s', (from, to) => {
    expect(objectName(from)).toBe(to);
  });

  it('a name without a letter cannot be converted', () => {
    expect(objectName('2024')).toBeUndefined();
    const result = configMapToObjects(['address-pools:', '- name: "2024"', '  protocol: layer2', '  addresses: [192.0.2.0/28]'].join('\n'), 'metallb-system');
    expect(result).toEqual({ ok: false, errors: ['pool "2024" cannot be made a valid object name; rename it'] });
  });

  it('two pools that would get one name are refused', () => {
    const result = configMapToObjects(
      ['address-pools:', '- name: Pool_A', '  protocol: layer2', '  addresses: [192.0.2.0/28]', '- name: pool-a', '  protocol: layer2', '  addresses: [192.0.2.16/28]'].join('\n'),
      'metallb-system',
    );
    expect(result).toEqual({ ok: false, errors: ['pools "Pool_A" and "pool-a" would both be named "pool-a"; rename one'] });
  });

  it('the convert-names config gives the golden objects, and says which pools were renamed', () => {
    const result = configMapToObjects(
      [
        'address-pools:',
        '- name: 01-numbered-addresspool',
        '  protocol: bgp',
        '  addresses: [198.51.100.0/24, "fc00:f853:0ccd:e799::/124"]',
        '  avoid-buggy-ips: true',
        '  auto-assign: true',
        '- name: Capitalized-AddressPool',
        '  protocol: layer2',
        '  addresses: [192.168.1.240/28]',
        'bfd-profiles:',
        '- name: underscored_bfd_profile',
        '  receive-interval: 280',
        '  transmit-interval: 270',
      ].join('\n'),
      'metallb-system',
    );
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.objects.map((o) => id(o as Record<string, unknown>))).toEqual([
      'IPAddressPool/numbered-addresspool',
      'IPAddressPool/capitalized-addresspool',
      'BGPAdvertisement/bgpadvertisement1',
      'L2Advertisement/l2advertisement1',
      'BFDProfile/underscored-bfd-profile',
    ]);
    expect(specOf(result.objects as Record<string, unknown>[], 'BGPAdvertisement/bgpadvertisement1')).toEqual({
      ipAddressPools: ['numbered-addresspool'],
      aggregationLength: 32,
      aggregationLengthV6: 128,
    });
    // Renaming reverses the name order that breaks ties between equal pools: priorities keep ironlb's order.
    expect(specOf(result.objects as Record<string, unknown>[], 'IPAddressPool/numbered-addresspool')).toEqual({
      addresses: ['198.51.100.0/24', 'fc00:f853:0ccd:e799::/124'],
      autoAssign: true,
      avoidBuggyIPs: true,
      serviceAllocation: { priority: 1 },
    });
    expect(result.notes).toEqual([
      'pool "01-numbered-addresspool" becomes IPAddressPool "numbered-addresspool": Services that name it in an address-pool annotation must name "numbered-addresspool"',
      'pool "Capitalized-AddressPool" becomes IPAddressPool "capitalized-addresspool": Services that name it in an address-pool annotation must name "capitalized-addresspool"',
    ]);
  });
});

describe('peers (MetalLB peers golden, with the defaults written out)', () => {
  const objects = converted([
    'peers:',
    '- my-asn: 64512',
    '  peer-asn: 64512',
    '  peer-address: 10.96.0.100',
    '- peer-address: 10.0.0.1',
    '  peer-asn: 64512',
    '  my-asn: 64512',
    '  peer-port: 179',
    '  source-address: 10.0.0.2',
    '  hold-time: 120s',
    '  keepalive-time: 30s',
    '  router-id: 1.2.3.4',
    '  password: "yourPassword"',
    '  bfd-profile: "bfdprofile1"',
    '  ebgp-multihop: false',
    '  node-selectors:',
    '  - match-labels:',
    '      kubernetes.io/hostname: prod-01',
    '    match-expressions:',
    '    - key: kubernetes.io/arch',
    '      operator: In',
    '      values: [amd64, arm]',
    'bfd-profiles:',
    '- name: bfdprofile1',
    '  receive-interval: 280',
    '  transmit-interval: 270',
  ]);
  it('peer1 gets the daemon defaults: port 179, hold 1m30s, keepalive 30s', () => {
    expect(specOf(objects, 'BGPPeer/peer1')).toEqual({ myASN: 64512, peerASN: 64512, peerAddress: '10.96.0.100', peerPort: 179, holdTime: '1m30s', keepaliveTime: '30s' });
  });
  it('peer2 keeps every field', () => {
    expect(specOf(objects, 'BGPPeer/peer2')).toEqual({
      myASN: 64512,
      peerASN: 64512,
      peerAddress: '10.0.0.1',
      sourceAddress: '10.0.0.2',
      peerPort: 179,
      holdTime: '2m0s',
      keepaliveTime: '30s',
      routerID: '1.2.3.4',
      nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'prod-01' }, matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm'] }] }],
      password: 'yourPassword',
      bfdProfile: 'bfdprofile1',
    });
    expect(specOf(objects, 'BFDProfile/bfdprofile1')).toEqual({ receiveInterval: 280, transmitInterval: 270 });
  });
});

describe('ironlb additions and v0.12 details', () => {
  it('pool priorities become serviceAllocation priorities 1..n in the same order; interfaces and node selectors go to the L2Advertisement', () => {
    const objects = converted([
      'address-pools:',
      '- name: edge',
      '  protocol: layer2',
      '  priority: -10',
      '  interfaces: [bond0]',
      '  node-selectors:',
      '  - match-labels: {edge: "true"}',
      '  addresses: [192.0.2.64/26]',
      '- name: bulk',
      '  protocol: layer2',
      '  addresses: [192.0.2.0/26]',
    ]);
    expect(specOf(objects, 'IPAddressPool/edge')).toEqual({ addresses: ['192.0.2.64/26'], autoAssign: true, avoidBuggyIPs: false, serviceAllocation: { priority: 1 } });
    expect(specOf(objects, 'IPAddressPool/bulk')).toEqual({ addresses: ['192.0.2.0/26'], autoAssign: true, avoidBuggyIPs: false, serviceAllocation: { priority: 2 } });
    expect(specOf(objects, 'L2Advertisement/l2advertisement1')).toEqual({ ipAddressPools: ['edge'], interfaces: ['bond0'], nodeSelectors: [{ matchLabels: { edge: 'true' } }] });
    expect(specOf(objects, 'L2Advertisement/l2advertisement2')).toEqual({ ipAddressPools: ['bulk'] });
  });

  it("ironlb's pool keys without a metallb.io field become the IPAddressPool annotations ironlb reads, and read back the same", () => {
    const objects = converted([
      'address-pools:',
      '- name: sticky',
      '  protocol: layer2',
      '  release-delay: 10m',
      '  cross-namespace-sharing: false',
      '  datapath-check: kube-proxy',
      '  addresses: [192.0.2.0/28]',
      '- name: plain',
      '  protocol: layer2',
      '  addresses: [192.0.2.16/28]',
    ]);
    const meta = (key: string): unknown => (objects.find((o) => id(o) === key)?.metadata as { annotations?: unknown }).annotations;
    expect(meta('IPAddressPool/sticky')).toEqual({ 'ironlb.io/release-delay': '10m0s', 'ironlb.io/cross-namespace-sharing': 'false', 'ironlb.io/datapath-check': 'kube-proxy' });
    expect(meta('IPAddressPool/plain')).toBeUndefined();
    const back = translateObjects(objects, { namespace: 'metallb-system' });
    if (!back.ok) throw new Error(back.errors.map((e) => e.message).join('\n'));
    const sticky = back.config.pools.find((p) => p.name === 'sticky');
    expect([sticky?.releaseDelaySeconds, sticky?.crossNamespaceSharing, sticky?.dataPathCheck]).toEqual([600, false, 'kube-proxy']);
  });

  it('a bare `-` advertisement is one default advertisement; aliases stay aliases in one Community', () => {
    const objects = converted([
      'bgp-communities:',
      '  zeta: 65000:2',
      '  alpha: large:1:2:3',
      'address-pools:',
      '- name: p',
      '  protocol: bgp',
      '  addresses: [198.51.100.0/24]',
      '  bgp-advertisements:',
      '  -',
      '  - communities: [alpha, "65000:9"]',
    ]);
    expect(objects.map(id)).toEqual(['IPAddressPool/p', 'BGPAdvertisement/bgpadvertisement1', 'BGPAdvertisement/bgpadvertisement2', 'Community/communities']);
    expect(specOf(objects, 'BGPAdvertisement/bgpadvertisement2')).toEqual({ ipAddressPools: ['p'], aggregationLength: 32, aggregationLengthV6: 128, communities: ['alpha', '65000:9'] });
    expect(specOf(objects, 'Community/communities')).toEqual({ communities: [{ name: 'alpha', value: 'large:1:2:3' }, { name: 'zeta', value: '65000:2' }] });
  });

  it('an invalid config converts to nothing', () => {
    expect(configMapToObjects('address-pools: {}\n', 'metallb-system')).toEqual({ ok: false, errors: ['line 1: address-pools: expected a list, got a map'] });
  });

  it('a ConfigMap MetalLB v0.12 accepts but the CRDs refuse (different LOCAL_PREFs on one prefix) is refused with the reason', () => {
    const result = configMapToObjects(
      ['address-pools:', '- name: p', '  protocol: bgp', '  addresses: [198.51.100.0/24]', '  bgp-advertisements:', '  - localpref: 100', '  - localpref: 200', '    communities: ["1:1"]'].join('\n'),
      'metallb-system',
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[1]).toMatch(/^BGPAdvertisement metallb-system\/bgpadvertisement2: spec: localPref 200 conflicts with BGPAdvertisement metallb-system\/bgpadvertisement1/);
  });
});
