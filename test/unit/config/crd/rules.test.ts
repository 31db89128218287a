// One refused example per rule MetalLB enforces on its objects (schema, CEL, webhooks, config.For),
// each with the exact message, which names the object and the field.
import { formatObjectIssue, translateObjects } from '../../../../src/config/crd/translate';
import { bfdProfile, bgpAdv, bgpPeer, community, ipPool, l2Adv, NS, secret } from './objects';

function errorsOf(objects: readonly unknown[]): string[] {
  const result = translateObjects(objects, { namespace: NS });
  if (result.ok) throw new Error('expected the objects to be refused');
  return result.errors.map(formatObjectIssue);
}

const POOL = ipPool('p', { addresses: ['198.51.100.0/24'] });
const PEER = { myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1' };

type Row = [desc: string, objects: readonly unknown[], errors: readonly string[]];

const rows: Row[] = [
  ['pool without spec', [{ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'p', namespace: NS } }], ["IPAddressPool metallb-system/p: spec: is required (spec.addresses lists the pool's addresses)"]],
  ['pool without addresses', [ipPool('p', { autoAssign: false })], ['IPAddressPool metallb-system/p: spec.addresses: is required: list at least one CIDR or range']],
  ['empty address list', [ipPool('p', { addresses: [] })], ['IPAddressPool metallb-system/p: spec.addresses: must list at least one CIDR or range']],
  ['invalid CIDR', [ipPool('p', { addresses: ['198.51.100.0/33'] })], ['IPAddressPool metallb-system/p: spec.addresses[0]: invalid CIDR "198.51.100.0/33": prefix length 33 is longer than 32']],
  ['reversed range', [ipPool('p', { addresses: ['198.51.100.9-198.51.100.1'] })], ['IPAddressPool metallb-system/p: spec.addresses[0]: range start 198.51.100.9 is after end 198.51.100.1']],
  [
    'pools overlap',
    [POOL, ipPool('q', { addresses: ['198.51.100.128/25'] })],
    ['IPAddressPool metallb-system/q: spec.addresses[0]: 198.51.100.128-198.51.100.255 overlaps 198.51.100.0-198.51.100.255 (IPAddressPool metallb-system/p spec.addresses[0]); addresses may belong to only one entry'],
  ],
  ['autoAssign not a boolean', [ipPool('p', { addresses: ['198.51.100.0/24'], autoAssign: 'yes' })], ['IPAddressPool metallb-system/p: spec.autoAssign: expected a boolean (true or false), got "yes"']],
  [
    'repeated namespace in serviceAllocation',
    [ipPool('p', { addresses: ['198.51.100.0/24'], serviceAllocation: { namespaces: ['a', 'a'] } })],
    ['IPAddressPool metallb-system/p: spec.serviceAllocation.namespaces[1]: "a" is listed twice'],
  ],
  [
    'repeated selector in serviceAllocation',
    [ipPool('p', { addresses: ['198.51.100.0/24'], serviceAllocation: { serviceSelectors: [{ matchLabels: { a: 'b' } }, { matchLabels: { a: 'b' } }] } })],
    ['IPAddressPool metallb-system/p: spec.serviceAllocation.serviceSelectors[1]: repeats selector [0]'],
  ],
  [
    'invalid selector operator',
    [ipPool('p', { addresses: ['198.51.100.0/24'], serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }] } })],
    ['IPAddressPool metallb-system/p: spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator: unknown operator "Equals"; use one of In, NotIn, Exists, DoesNotExist'],
  ],
  ['object in another namespace', [{ ...POOL, metadata: { name: 'p', namespace: 'default' } }], ['IPAddressPool default/p: metadata.namespace: must be metallb-system, the namespace ironlb reads its configuration from']],
  ['unserved version', [{ ...POOL, apiVersion: 'metallb.io/v1alpha1' }], ['IPAddressPool metallb-system/p: apiVersion: IPAddressPool is served as metallb.io/v1beta1, not metallb.io/v1alpha1']],
  ['advertisement names a missing pool', [POOL, l2Adv('l2', { ipAddressPools: ['p', 'nope'] })], ['L2Advertisement metallb-system/l2: spec.ipAddressPools[1]: IPAddressPool "nope" does not exist']],
  ['advertisement repeats a pool', [POOL, l2Adv('l2', { ipAddressPools: ['p', 'p'] })], ['L2Advertisement metallb-system/l2: spec.ipAddressPools[1]: "p" is listed twice']],
  ['invalid interface name', [POOL, l2Adv('l2', { interfaces: ['eth 0'] })], ['L2Advertisement metallb-system/l2: spec.interfaces[0]: invalid interface name "eth 0": 1-15 characters, no spaces, \'/\' or \':\'']],
  [
    'aggregation wider than the pool',
    [POOL, bgpAdv('b', { aggregationLength: 16 })],
    ['BGPAdvertisement metallb-system/b: spec.aggregationLength: cannot aggregate 198.51.100.0/24 (IPAddressPool metallb-system/p spec.addresses[0]) into a /16: that prefix would cover addresses outside the pool; aggregationLength must be between 24 and 32'],
  ],
  ['aggregationLength 0 (schema minimum 1)', [POOL, bgpAdv('b', { aggregationLength: 0 })], ['BGPAdvertisement metallb-system/b: spec.aggregationLength: must be between 1 and 32, got 0']],
  ['unknown community alias', [POOL, bgpAdv('b', { communities: ['vpn-only'] })], ['BGPAdvertisement metallb-system/b: spec.communities[0]: unknown community alias "vpn-only" (not defined in any Community object)']],
  ['repeated community', [POOL, bgpAdv('b', { communities: ['1:2', '1:2'] })], ['BGPAdvertisement metallb-system/b: spec.communities[1]: duplicate community "1:2" (already listed at spec.communities[0])']],
  ['invalid community', [POOL, bgpAdv('b', { communities: ['1:70000'] })], ['BGPAdvertisement metallb-system/b: spec.communities[0]: invalid community "1:70000": 70000 does not fit in 16 bits (maximum 65535)']],
  ['advertisement names a missing peer', [POOL, bgpAdv('b', { peers: ['r9'] })], ['BGPAdvertisement metallb-system/b: spec.peers[0]: BGPPeer "r9" does not exist']],
  [
    'serviceSelectors with aggregation',
    [POOL, bgpAdv('b', { aggregationLength: 24, serviceSelectors: [{ matchLabels: { app: 'web' } }] })],
    ['BGPAdvertisement metallb-system/b: spec.serviceSelectors: serviceSelectors only work with the default aggregation lengths (32 and 128)'],
  ],
  [
    'identical advertisements',
    [POOL, bgpAdv('b1', { localPref: 100 }), bgpAdv('b2', { localPref: 100 })],
    ['BGPAdvertisement metallb-system/b2: spec: identical to BGPAdvertisement metallb-system/b1 for pool "p"; each advertisement must differ'],
  ],
  [
    'different LOCAL_PREFs for the same prefixes, peers and nodes',
    [POOL, bgpAdv('b1', { localPref: 100 }), bgpAdv('b2', { localPref: 200, communities: ['1:1'] })],
    ['BGPAdvertisement metallb-system/b2: spec: localPref 200 conflicts with BGPAdvertisement metallb-system/b1 (localPref 100) for pool "p": both announce the same prefixes to the same peers from the same nodes'],
  ],
  ['duplicate alias across Community objects', [community('c1', { a: '1:1' }), community('c2', { a: '1:2' })], ['Community metallb-system/c2: spec.communities[0].name: alias "a" is already defined (Community metallb-system/c1)']],
  ['invalid alias value', [community('c1', { a: 'one:two' })], ['Community metallb-system/c1: spec.communities[0].value: invalid community "one:two": "one" is not a decimal number']],
  ['peer without myASN', [bgpPeer('r', { peerASN: 64501, peerAddress: '203.0.113.1' })], ['BGPPeer metallb-system/r: spec.myASN: is required (an AS number between 1 and 4294967295)']],
  ['peerASN and dynamicASN', [bgpPeer('r', { ...PEER, dynamicASN: 'external' })], ['BGPPeer metallb-system/r: spec.dynamicASN: set either peerASN or dynamicASN, not both']],
  ['neither peerASN nor dynamicASN', [bgpPeer('r', { myASN: 64500, peerAddress: '203.0.113.1' })], ['BGPPeer metallb-system/r: spec.peerASN: is required unless dynamicASN is set (internal or external)']],
  ['peerAddress and interface', [bgpPeer('r', { ...PEER, interface: 'eth0' })], ['BGPPeer metallb-system/r: spec.interface: set either peerAddress or interface, not both']],
  ['invalid peerAddress', [bgpPeer('r', { ...PEER, peerAddress: '203.0.113.300' })], ['BGPPeer metallb-system/r: spec.peerAddress: invalid peerAddress "203.0.113.300": not an IP address']],
  ['hold time below 3s', [bgpPeer('r', { ...PEER, holdTime: '2s' })], ['BGPPeer metallb-system/r: spec.holdTime: invalid hold time "2s": must be 0 or at least 3s']],
  ['hold time as a number', [bgpPeer('r', { ...PEER, holdTime: 90 })], ['BGPPeer metallb-system/r: spec.holdTime: expected a duration such as "90s", got the number 90']],
  ['keepalive longer than hold', [bgpPeer('r', { ...PEER, holdTime: '9s', keepaliveTime: '10s' })], ['BGPPeer metallb-system/r: spec.keepaliveTime: keepalive time 10s is longer than the hold time 9s']],
  ['connectTime out of range (CEL)', [bgpPeer('r', { ...PEER, connectTime: '0s' })], ['BGPPeer metallb-system/r: spec.connectTime: connect time should be between 1 seconds to 65535']],
  ['connectTime not whole seconds (CEL)', [bgpPeer('r', { ...PEER, connectTime: '1500ms' })], ['BGPPeer metallb-system/r: spec.connectTime: connect time should contain a whole number of seconds']],
  ['ebgpMultiHop on iBGP', [bgpPeer('r', { ...PEER, peerASN: 64500, ebgpMultiHop: true })], ['BGPPeer metallb-system/r: spec.ebgpMultiHop: ebgpMultiHop cannot be set on an iBGP peer (myASN and peerASN are both 64500)']],
  ['IPv6 routerID', [bgpPeer('r', { ...PEER, routerID: '2001:db8::1' })], ['BGPPeer metallb-system/r: spec.routerID: invalid routerID "2001:db8::1": must be an IPv4 address']],
  ['port 0', [bgpPeer('r', { ...PEER, peerPort: 0 })], ['BGPPeer metallb-system/r: spec.peerPort: must be between 1 and 16384, got 0']],
  ['missing BFD profile', [bgpPeer('r', { ...PEER, bfdProfile: 'fast' })], ['BGPPeer metallb-system/r: spec.bfdProfile: BFDProfile "fast" does not exist']],
  ['password and passwordSecret', [bgpPeer('r', { ...PEER, password: 'a', passwordSecret: { name: 's' } }), secret('s', { password: 'b' })], ['BGPPeer metallb-system/r: spec.passwordSecret: set either password or passwordSecret, not both']],
  ['missing Secret', [bgpPeer('r', { ...PEER, passwordSecret: { name: 's' } })], ['BGPPeer metallb-system/r: spec.passwordSecret: Secret metallb-system/s does not exist (or is not of type kubernetes.io/basic-auth)']],
  ['Secret of the wrong type', [bgpPeer('r', { ...PEER, passwordSecret: { name: 's' } }), secret('s', { password: 'b' }, 'Opaque')], ['BGPPeer metallb-system/r: spec.passwordSecret: Secret metallb-system/s must be of type kubernetes.io/basic-auth, not Opaque']],
  ['Secret without the password key', [bgpPeer('r', { ...PEER, passwordSecret: { name: 's' } }), secret('s', { pass: 'b' })], ['BGPPeer metallb-system/r: spec.passwordSecret: Secret metallb-system/s has no key "password"']],
  ['the same session twice', [bgpPeer('r1', PEER), bgpPeer('r2', PEER)], ['BGPPeer metallb-system/r2: identical to BGPPeer metallb-system/r1 (the same session twice)']],
  ['BFD interval out of range', [bfdProfile('b', { receiveInterval: 5 })], ['BFDProfile metallb-system/b: spec.receiveInterval: must be between 10 and 60000, got 5']],
  ['two objects of a kind with one name', [POOL, ipPool('p', { addresses: ['192.0.2.0/24'] })], ['IPAddressPool metallb-system/p: metadata.name: another IPAddressPool has this name (object 1)']],
];

describe.each(rows)('%s', (_desc, objects, expected) => {
  it('is refused with the object and field named', () => {
    expect(errorsOf(objects)).toEqual(expected);
  });
});

it('a list that is not a list of objects is refused, not thrown', () => {
  expect(errorsOf(['just text' as unknown])).toEqual(['[0]: expected a Kubernetes object (a map with apiVersion, kind, metadata)']);
});
