// One failing example per validation rule, each with the exact issue it must produce.
import { parseConfigText } from '../../../src/config/parse';
import type { ConfigIssue } from '../../../src/config/types';

/** Config text from lines, so that an expected line number is the row's index + 1. */
function text(lines: readonly string[]): string {
  return `${lines.join('\n')}\n`;
}

function issuesOf(lines: readonly string[]): readonly ConfigIssue[] {
  const result = parseConfigText(text(lines));
  if (result.ok) throw new Error('expected the config to be refused');
  return result.errors;
}

const L2 = ['address-pools:', '- name: a', '  protocol: layer2', '  addresses:', '  - 10.0.0.0/24'];
const BGP = ['address-pools:', '- name: a', '  protocol: bgp', '  addresses:', '  - 198.51.100.0/24'];
const PEER = ['peers:', '- my-asn: 64500', '  peer-asn: 64501', '  peer-address: 203.0.113.1'];
const ADV = [...BGP, '  bgp-advertisements:'];

type Row = [desc: string, lines: readonly string[], path: string, message: string, line: number];

const structure: Row[] = [
  [
    'unknown top-level key',
    ['addresss-pools: []'],
    'addresss-pools',
    'unknown key "addresss-pools" (did you mean "address-pools"?); allowed keys: peers, address-pools, bgp-communities, bfd-profiles',
    1,
  ],
  ['top level is not a map', ['- a'], '', 'expected a map, got a list', 1],
  ['address-pools is not a list', ['address-pools: {}'], 'address-pools', 'expected a list, got a map', 1],
  ['peers is not a list', ['peers: true'], 'peers', 'expected a list, got the boolean true', 1],
  ['repeated key', ['address-pools: []', 'address-pools: []'], 'address-pools', 'key "address-pools" is repeated (first set on line 1)', 2],
  [
    'unknown key in a pool',
    [...L2, '  auto_assign: false'],
    'address-pools[0].auto_assign',
    'unknown key "auto_assign" (did you mean "auto-assign"?); allowed keys: name, protocol, addresses, auto-assign, avoid-buggy-ips, bgp-advertisements, priority, interfaces, node-selectors, cross-namespace-sharing, release-delay, datapath-check',
    6,
  ],
  [
    'unknown key without a close match',
    [...L2, '  colour: blue'],
    'address-pools[0].colour',
    'unknown key "colour"; allowed keys: name, protocol, addresses, auto-assign, avoid-buggy-ips, bgp-advertisements, priority, interfaces, node-selectors, cross-namespace-sharing, release-delay, datapath-check',
    6,
  ],
];

const pools: Row[] = [
  ['missing name', ['address-pools:', '- protocol: layer2', '  addresses: [10.0.0.0/24]'], 'address-pools[0].name', 'missing pool name', 2],
  ['empty name', ['address-pools:', '- name: ""', '  protocol: layer2', '  addresses: [10.0.0.0/24]'], 'address-pools[0].name', 'missing pool name', 2],
  [
    'duplicate name',
    [...L2, '- name: a', '  protocol: layer2', '  addresses: [10.0.1.0/24]'],
    'address-pools[1].name',
    'duplicate pool name "a" (already used by address-pools[0])',
    6,
  ],
  [
    'missing protocol',
    ['address-pools:', '- name: a', '  addresses: [10.0.0.0/24]'],
    'address-pools[0].protocol',
    'missing the protocol field; set it to layer2 or bgp',
    2,
  ],
  [
    'empty protocol',
    ['address-pools:', '- name: a', '  protocol: ""', '  addresses: [10.0.0.0/24]'],
    'address-pools[0].protocol',
    'missing the protocol field; set it to layer2 or bgp',
    2,
  ],
  [
    'unknown protocol',
    ['address-pools:', '- name: a', '  protocol: arp', '  addresses: [10.0.0.0/24]'],
    'address-pools[0].protocol',
    'unknown protocol "arp"; use layer2 or bgp',
    3,
  ],
  [
    'missing addresses',
    ['address-pools:', '- name: a', '  protocol: layer2'],
    'address-pools[0].addresses',
    'is required: list at least one CIDR or range',
    2,
  ],
  [
    'empty addresses',
    ['address-pools:', '- name: a', '  protocol: layer2', '  addresses: []'],
    'address-pools[0].addresses',
    'must list at least one CIDR or range',
    4,
  ],
  [
    'addresses is not a list',
    ['address-pools:', '- name: a', '  protocol: layer2', '  addresses: 10.0.0.0/24'],
    'address-pools[0].addresses',
    'expected a list, got "10.0.0.0/24"',
    4,
  ],
  [
    'a bare address',
    [...L2, '  - 10.0.1.7'],
    'address-pools[0].addresses[1]',
    '"10.0.1.7" is neither a CIDR nor a range (for a single address write 10.0.1.7/32 or 10.0.1.7-10.0.1.7)',
    6,
  ],
  ['not an address at all', [...L2, '  - poolb'], 'address-pools[0].addresses[1]', '"poolb" is neither a CIDR nor a range', 6],
  [
    'a range of words',
    [...L2, '  - pool-b'],
    'address-pools[0].addresses[1]',
    'invalid range "pool-b": "pool" is not a valid IP address',
    6,
  ],
  [
    'CIDR with a bad address',
    [...L2, '  - 10.0.1/24'],
    'address-pools[0].addresses[1]',
    'invalid CIDR "10.0.1/24": "10.0.1" is not a valid IP address',
    6,
  ],
  [
    'CIDR prefix too long',
    [...L2, '  - 10.0.1.0/33'],
    'address-pools[0].addresses[1]',
    'invalid CIDR "10.0.1.0/33": prefix length 33 is longer than 32',
    6,
  ],
  [
    'range start after end',
    ['address-pools:', '- name: a', '  protocol: layer2', '  addresses:', '  - 192.168.10.90-192.168.10.100', '  - 192.168.10.100-192.168.10.90'],
    'address-pools[0].addresses[1]',
    'range start 192.168.10.100 is after end 192.168.10.90',
    6,
  ],
  [
    'range mixing families',
    [...L2, '  - 10.0.1.1-fd00::1'],
    'address-pools[0].addresses[1]',
    'invalid range "10.0.1.1-fd00::1": start is IPv4 but end is IPv6',
    6,
  ],
  [
    'range with a bad end',
    [...L2, '  - 10.0.1.1 - 10.0.1.300'],
    'address-pools[0].addresses[1]',
    'invalid range "10.0.1.1 - 10.0.1.300": "10.0.1.300" is not a valid IP address',
    6,
  ],
  [
    'overlap across pools',
    [...L2, '- name: b', '  protocol: layer2', '  addresses:', '  - 10.0.0.200-10.0.1.10'],
    'address-pools[1].addresses[0]',
    '10.0.0.200-10.0.1.10 overlaps 10.0.0.0-10.0.0.255 (address-pools[0].addresses[0], pool "a"); addresses may belong to only one entry',
    9,
  ],
  [
    'overlap within a pool',
    [...L2, '  - 10.0.0.128/25'],
    'address-pools[0].addresses[1]',
    '10.0.0.128-10.0.0.255 overlaps 10.0.0.0-10.0.0.255 (address-pools[0].addresses[0], pool "a"); addresses may belong to only one entry',
    6,
  ],
  [
    'IPv6 overlap',
    ['address-pools:', '- name: a', '  protocol: layer2', '  addresses:', '  - fd00::/64', '  - fd00::10-fd00::20'],
    'address-pools[0].addresses[1]',
    'fd00::10-fd00::20 overlaps fd00::-fd00::ffff:ffff:ffff:ffff (address-pools[0].addresses[0], pool "a"); addresses may belong to only one entry',
    6,
  ],
  ['auto-assign not a boolean', [...L2, '  auto-assign: maybe'], 'address-pools[0].auto-assign', 'expected a boolean (true or false), got "maybe"', 6],
  ['avoid-buggy-ips not a boolean', [...L2, '  avoid-buggy-ips: 1'], 'address-pools[0].avoid-buggy-ips', 'expected a boolean (true or false), got the number 1', 6],
  [
    'bgp-advertisements on a layer2 pool',
    [...L2, '  bgp-advertisements:', '  - aggregation-length: 32'],
    'address-pools[0].bgp-advertisements',
    'bgp-advertisements are only allowed on pools with protocol bgp',
    7,
  ],
  ['priority not a number', [...L2, '  priority: high'], 'address-pools[0].priority', 'expected a whole number, got "high"', 6],
  ['priority not whole', [...L2, '  priority: 1.5'], 'address-pools[0].priority', 'expected a whole number, got the number 1.5', 6],
  ['interfaces on a bgp pool', [...BGP, '  interfaces: [eth0]'], 'address-pools[0].interfaces', 'interfaces only applies to layer2 pools', 6],
  [
    'bad interface name',
    [...L2, '  interfaces: ["eth 0"]'],
    'address-pools[0].interfaces[0]',
    'invalid interface name "eth 0": 1-15 characters, no spaces, \'/\' or \':\'',
    6,
  ],
  ['interface listed twice', [...L2, '  interfaces: [eth0, eth0]'], 'address-pools[0].interfaces[1]', 'interface "eth0" is listed twice', 6],
  [
    'pool node-selectors use the peer rules',
    [...L2, '  node-selectors:', '  - match-expressions:', '    - {key: zone, operator: In}'],
    'address-pools[0].node-selectors[0].match-expressions[0].values',
    'operator In needs at least one value',
    8,
  ],
];

const advertisements: Row[] = [
  [
    'aggregation-length above 32',
    [...ADV, '  - aggregation-length: 33'],
    'address-pools[0].bgp-advertisements[0].aggregation-length',
    'must be between 0 and 32, got 33',
    7,
  ],
  [
    'aggregation-length-v6 above 128',
    [...ADV, '  - aggregation-length-v6: 129'],
    'address-pools[0].bgp-advertisements[0].aggregation-length-v6',
    'must be between 0 and 128, got 129',
    7,
  ],
  [
    'cannot aggregate a CIDR to a shorter prefix',
    [...ADV, '  - aggregation-length: 16'],
    'address-pools[0].bgp-advertisements[0].aggregation-length',
    'cannot aggregate 198.51.100.0/24 (address-pools[0].addresses[0]) into a /16: that prefix would cover addresses outside the pool; aggregation-length must be between 24 and 32',
    7,
  ],
  [
    'cannot aggregate a range beyond its widest summarized prefix',
    [
      'address-pools:',
      '- name: a',
      '  protocol: bgp',
      '  addresses:',
      '  - 192.168.10.90-192.168.10.100',
      '  bgp-advertisements:',
      '  - aggregation-length: 29',
    ],
    'address-pools[0].bgp-advertisements[0].aggregation-length',
    'cannot aggregate 192.168.10.90-192.168.10.100 (address-pools[0].addresses[0]) into a /29: that prefix would cover addresses outside the pool; aggregation-length must be between 30 and 32',
    7,
  ],
  [
    'cannot aggregate IPv6',
    [...ADV.slice(0, 5), '  - fd00:1::/64', '  bgp-advertisements:', '  - aggregation-length-v6: 48'],
    'address-pools[0].bgp-advertisements[0].aggregation-length-v6',
    'cannot aggregate fd00:1::/64 (address-pools[0].addresses[1]) into a /48: that prefix would cover addresses outside the pool; aggregation-length-v6 must be between 64 and 128',
    8,
  ],
  [
    'localpref above 32 bits',
    [...ADV, '  - localpref: 4294967296'],
    'address-pools[0].bgp-advertisements[0].localpref',
    'must be between 0 and 4294967295, got 4294967296',
    7,
  ],
  [
    'localpref negative',
    [...ADV, '  - localpref: -1'],
    'address-pools[0].bgp-advertisements[0].localpref',
    'must be between 0 and 4294967295, got -1',
    7,
  ],
  [
    'community with three parts',
    [...ADV, '  - communities: ["1:2:3"]'],
    'address-pools[0].bgp-advertisements[0].communities[0]',
    'invalid community "1:2:3": expected AA:NN (two 16-bit numbers) or large:A:B:C',
    7,
  ],
  [
    'community half above 16 bits',
    [...ADV, '  - communities: ["65535:65536"]'],
    'address-pools[0].bgp-advertisements[0].communities[0]',
    'invalid community "65535:65536": 65536 does not fit in 16 bits (maximum 65535)',
    7,
  ],
  [
    'community half not a number',
    [...ADV, '  - communities: ["64500:x"]'],
    'address-pools[0].bgp-advertisements[0].communities[0]',
    'invalid community "64500:x": "x" is not a decimal number',
    7,
  ],
  [
    'unknown community alias',
    [...ADV, '  - communities: [no-export]'],
    'address-pools[0].bgp-advertisements[0].communities[0]',
    'unknown community alias "no-export" (not defined in bgp-communities)',
    7,
  ],
  [
    'large community part above 32 bits',
    [...ADV, '  - communities: ["large:4294967296:1:1"]'],
    'address-pools[0].bgp-advertisements[0].communities[0]',
    'invalid community "large:4294967296:1:1": 4294967296 does not fit in 32 bits (maximum 4294967295)',
    7,
  ],
  [
    'large community with two parts',
    [...ADV, '  - communities: ["large:1:2"]'],
    'address-pools[0].bgp-advertisements[0].communities[0]',
    'invalid large community "large:1:2": expected large:A:B:C (three 32-bit numbers)',
    7,
  ],
  [
    'duplicate community in one advertisement',
    [...ADV, '  - communities: ["64500:1", "64500:1"]'],
    'address-pools[0].bgp-advertisements[0].communities[1]',
    'duplicate community "64500:1" (already listed at address-pools[0].bgp-advertisements[0].communities[0])',
    7,
  ],
  [
    'identical advertisements',
    [...ADV, '  - aggregation-length: 32', '    localpref: 100', '  - localpref: 100', '    aggregation-length: 32'],
    'address-pools[0].bgp-advertisements[1]',
    'identical to address-pools[0].bgp-advertisements[0]; each advertisement must differ',
    9,
  ],
  [
    'unknown key in an advertisement',
    [...ADV, '  - local-pref: 100'],
    'address-pools[0].bgp-advertisements[0].local-pref',
    'unknown key "local-pref" (did you mean "localpref"?); allowed keys: aggregation-length, aggregation-length-v6, localpref, communities',
    7,
  ],
];

const peers: Row[] = [
  ['missing my-asn', ['peers:', '- peer-asn: 64501', '  peer-address: 203.0.113.1'], 'peers[0].my-asn', 'is required (an AS number between 1 and 4294967295)', 2],
  ['missing peer-asn', ['peers:', '- my-asn: 64501', '  peer-address: 203.0.113.1'], 'peers[0].peer-asn', 'is required (an AS number between 1 and 4294967295)', 2],
  ['zero my-asn', ['peers:', '- my-asn: 0', '  peer-asn: 64501', '  peer-address: 203.0.113.1'], 'peers[0].my-asn', 'must not be 0', 2],
  [
    'peer-asn above 32 bits',
    ['peers:', '- my-asn: 64500', '  peer-asn: 4294967296', '  peer-address: 203.0.113.1'],
    'peers[0].peer-asn',
    'must be between 1 and 4294967295, got 4294967296',
    3,
  ],
  ['peer-asn not a number', ['peers:', '- my-asn: 64500', '  peer-asn: AS64501', '  peer-address: 203.0.113.1'], 'peers[0].peer-asn', 'expected a whole number, got "AS64501"', 3],
  ['missing peer-address', ['peers:', '- my-asn: 64500', '  peer-asn: 64501'], 'peers[0].peer-address', 'is required', 2],
  [
    'bad peer-address',
    ['peers:', '- my-asn: 64500', '  peer-asn: 64501', '  peer-address: 203.0.113.300'],
    'peers[0].peer-address',
    'invalid peer-address "203.0.113.300": not an IP address',
    4,
  ],
  ['bad source-address', [...PEER, '  source-address: here'], 'peers[0].source-address', 'invalid source-address "here": not an IP address', 5],
  [
    'source-address of another family',
    [...PEER, '  source-address: fd00::1'],
    'peers[0].source-address',
    'source-address fd00::1 and peer-address 203.0.113.1 are of different IP families',
    5,
  ],
  ['peer-port zero', [...PEER, '  peer-port: 0'], 'peers[0].peer-port', 'must be between 1 and 65535, got 0', 5],
  ['peer-port too large', [...PEER, '  peer-port: 65536'], 'peers[0].peer-port', 'must be between 1 and 65535, got 65536', 5],
  ['hold-time below 3s', [...PEER, '  hold-time: 2s'], 'peers[0].hold-time', 'invalid hold time "2s": must be 0 or at least 3s', 5],
  [
    'hold-time rounds down below 3s',
    [...PEER, '  hold-time: 2999ms'],
    'peers[0].hold-time',
    'invalid hold time "2999ms": must be 0 or at least 3s',
    5,
  ],
  ['hold-time as a bare number below 3', [...PEER, '  hold-time: 1'], 'peers[0].hold-time', 'invalid hold time "1": must be 0 or at least 3s', 5],
  ['hold-time above 16 bits', [...PEER, '  hold-time: 20h'], 'peers[0].hold-time', 'invalid hold time "20h": must be at most 65535s', 5],
  ['hold-time not a duration', [...PEER, '  hold-time: soon'], 'peers[0].hold-time', 'invalid duration "soon"', 5],
  [
    'hold-time with a missing unit',
    [...PEER, '  hold-time: 1m30'],
    'peers[0].hold-time',
    'missing unit in duration "1m30" (use s, m or h, e.g. 90s)',
    5,
  ],
  [
    'hold-time with an unknown unit',
    [...PEER, '  hold-time: 2d'],
    'peers[0].hold-time',
    'unknown unit "d" in duration "2d" (use ns, us, ms, s, m or h)',
    5,
  ],
  [
    'keepalive-time above hold-time',
    [...PEER, '  hold-time: 9s', '  keepalive-time: 10s'],
    'peers[0].keepalive-time',
    'keepalive time 10s is longer than the hold time 9s',
    6,
  ],
  [
    'keepalive-time above the default hold-time',
    [...PEER, '  keepalive-time: 2m'],
    'peers[0].keepalive-time',
    'keepalive time 120s is longer than the hold time 90s',
    5,
  ],
  [
    'keepalive-time with hold-time 0',
    [...PEER, '  hold-time: 0', '  keepalive-time: 1s'],
    'peers[0].keepalive-time',
    'keepalive time 1s is longer than the hold time 0s',
    6,
  ],
  ['keepalive-time negative', [...PEER, '  keepalive-time: -1s'], 'peers[0].keepalive-time', 'invalid keepalive time "-1s": must not be negative', 5],
  ['router-id not an address', [...PEER, '  router-id: rtr1'], 'peers[0].router-id', 'invalid router-id "rtr1": not an IP address', 5],
  ['router-id IPv6', [...PEER, '  router-id: fd00::1'], 'peers[0].router-id', 'invalid router-id "fd00::1": must be an IPv4 address', 5],
  ['unknown bfd-profile', [...PEER, '  bfd-profile: fast'], 'peers[0].bfd-profile', 'bfd profile "fast" is not defined in bfd-profiles', 5],
  [
    'ebgp-multihop on an iBGP peer',
    ['peers:', '- my-asn: 64500', '  peer-asn: 64500', '  peer-address: 203.0.113.1', '  ebgp-multihop: true'],
    'peers[0].ebgp-multihop',
    'ebgp-multihop cannot be set on an iBGP peer (my-asn and peer-asn are both 64500)',
    5,
  ],
  ['ebgp-multihop not a boolean', [...PEER, '  ebgp-multihop: twice'], 'peers[0].ebgp-multihop', 'expected a boolean (true or false), got "twice"', 5],
  ['password not a string', [...PEER, '  password: [a]'], 'peers[0].password', 'expected a string, got a list', 5],
  ['duplicate peer', [...PEER, '- my-asn: 64500', '  peer-asn: 64501', '  peer-address: 203.0.113.1'], 'peers[1]', 'duplicate peer: identical to peers[0]', 5],
  [
    'duplicate peer after defaults',
    [...PEER, '- my-asn: 64500', '  peer-asn: 64501', '  peer-address: 203.0.113.1', '  peer-port: 179', '  hold-time: 1m30s'],
    'peers[1]',
    'duplicate peer: identical to peers[0]',
    5,
  ],
  [
    'MetalLB documentation key bfdProfile',
    [...PEER, '  bfdProfile: fast'],
    'peers[0].bfdProfile',
    'unknown key "bfdProfile" (did you mean "bfd-profile"?); allowed keys: my-asn, peer-asn, peer-address, source-address, peer-port, hold-time, keepalive-time, router-id, node-selectors, password, bfd-profile, ebgp-multihop',
    5,
  ],
];

const SEL = [...PEER, '  node-selectors:'];
const selectors: Row[] = [
  ['node-selectors not a list', [...PEER, '  node-selectors: {rack: a}'], 'peers[0].node-selectors', 'expected a list, got a map', 5],
  ['match-labels not a map', [...SEL, '  - match-labels: [rack]'], 'peers[0].node-selectors[0].match-labels', 'expected a map, got a list', 6],
  [
    'In without values',
    [...SEL, '  - match-expressions:', '    - key: rack', '      operator: In'],
    'peers[0].node-selectors[0].match-expressions[0].values',
    'operator In needs at least one value',
    7,
  ],
  [
    'NotIn with an empty list',
    [...SEL, '  - match-expressions:', '    - key: rack', '      operator: NotIn', '      values: []'],
    'peers[0].node-selectors[0].match-expressions[0].values',
    'operator NotIn needs at least one value',
    9,
  ],
  [
    'Exists with values',
    [...SEL, '  - match-expressions:', '    - key: rack', '      operator: Exists', '      values: [a]'],
    'peers[0].node-selectors[0].match-expressions[0].values',
    'operator Exists takes no values',
    9,
  ],
  [
    'DoesNotExist with values',
    [...SEL, '  - match-expressions:', '    - key: rack', '      operator: DoesNotExist', '      values: [a]'],
    'peers[0].node-selectors[0].match-expressions[0].values',
    'operator DoesNotExist takes no values',
    9,
  ],
  [
    'unknown operator',
    [...SEL, '  - match-expressions:', '    - key: rack', '      operator: in', '      values: [a]'],
    'peers[0].node-selectors[0].match-expressions[0].operator',
    'unknown operator "in"; use one of In, NotIn, Exists, DoesNotExist',
    8,
  ],
  [
    'missing operator',
    [...SEL, '  - match-expressions:', '    - key: rack'],
    'peers[0].node-selectors[0].match-expressions[0].operator',
    'is required (one of In, NotIn, Exists, DoesNotExist)',
    7,
  ],
  [
    'missing key',
    [...SEL, '  - match-expressions:', '    - operator: Exists'],
    'peers[0].node-selectors[0].match-expressions[0].key',
    'is required',
    7,
  ],
  [
    'bad label key',
    [...SEL, '  - match-labels:', '      "rack name": a'],
    'peers[0].node-selectors[0].match-labels["rack name"]',
    'invalid label key "rack name": the name must be 1-63 characters of letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit',
    7,
  ],
  [
    'bad label key prefix',
    [...SEL, '  - match-labels:', '      "Example.COM/rack": a'],
    'peers[0].node-selectors[0].match-labels["Example.COM/rack"]',
    'invalid label key "Example.COM/rack": the prefix must be a DNS subdomain such as example.com',
    7,
  ],
  [
    'bad label value',
    [...SEL, '  - match-labels:', '      rack: "-a"'],
    'peers[0].node-selectors[0].match-labels.rack',
    'invalid label value "-a": it must be at most 63 characters of letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit',
    7,
  ],
  [
    'unknown key in a selector',
    [...SEL, '  - matchLabels: {rack: a}'],
    'peers[0].node-selectors[0].matchLabels',
    'unknown key "matchLabels" (did you mean "match-labels"?); allowed keys: match-labels, match-expressions',
    6,
  ],
];

const communities: Row[] = [
  ['bgp-communities not a map', ['bgp-communities: [a]'], 'bgp-communities', 'expected a map, got a list', 1],
  [
    'bad alias value',
    ['bgp-communities:', '  backbone: "64500"'],
    'bgp-communities.backbone',
    'community alias "backbone": invalid community "64500": expected AA:NN (two 16-bit numbers) or large:A:B:C',
    2,
  ],
  [
    'alias value above 16 bits',
    ['bgp-communities:', '  backbone: 70000:1'],
    'bgp-communities.backbone',
    'community alias "backbone": invalid community "70000:1": 70000 does not fit in 16 bits (maximum 65535)',
    2,
  ],
  ['alias value not a string', ['bgp-communities:', '  backbone: [1, 2]'], 'bgp-communities.backbone', 'expected a string, got a list', 2],
];

const BFD = ['bfd-profiles:', '- name: fast'];
const bfd: Row[] = [
  ['missing name', ['bfd-profiles:', '- receive-interval: 300'], 'bfd-profiles[0].name', 'missing bfd profile name', 2],
  ['duplicate name', [...BFD, '- name: fast'], 'bfd-profiles[1]', 'duplicate bfd profile name "fast" (already used by bfd-profiles[0])', 3],
  ['receive-interval too small', [...BFD, '  receive-interval: 9'], 'bfd-profiles[0].receive-interval', 'must be between 10 and 60000, got 9', 3],
  ['receive-interval too large', [...BFD, '  receive-interval: 60001'], 'bfd-profiles[0].receive-interval', 'must be between 10 and 60000, got 60001', 3],
  ['transmit-interval too small', [...BFD, '  transmit-interval: 5'], 'bfd-profiles[0].transmit-interval', 'must be between 10 and 60000, got 5', 3],
  ['detect-multiplier too small', [...BFD, '  detect-multiplier: 1'], 'bfd-profiles[0].detect-multiplier', 'must be between 2 and 255, got 1', 3],
  ['detect-multiplier too large', [...BFD, '  detect-multiplier: 256'], 'bfd-profiles[0].detect-multiplier', 'must be between 2 and 255, got 256', 3],
  ['echo-interval too large', [...BFD, '  echo-interval: 70000'], 'bfd-profiles[0].echo-interval', 'must be between 10 and 60000, got 70000', 3],
  ['echo-mode not a boolean', [...BFD, '  echo-mode: sometimes'], 'bfd-profiles[0].echo-mode', 'expected a boolean (true or false), got "sometimes"', 3],
  ['passive-mode not a boolean', [...BFD, '  passive-mode: 2'], 'bfd-profiles[0].passive-mode', 'expected a boolean (true or false), got the number 2', 3],
  ['minimum-ttl zero', [...BFD, '  minimum-ttl: 0'], 'bfd-profiles[0].minimum-ttl', 'must be between 1 and 254, got 0', 3],
  ['minimum-ttl too large', [...BFD, '  minimum-ttl: 255'], 'bfd-profiles[0].minimum-ttl', 'must be between 1 and 254, got 255', 3],
];

describe.each([
  ['structure', structure],
  ['address-pools', pools],
  ['bgp-advertisements', advertisements],
  ['peers', peers],
  ['node-selectors', selectors],
  ['bgp-communities', communities],
  ['bfd-profiles', bfd],
])('%s', (_section, rows) => {
  test.each(rows)('%s', (_desc, lines, path, message, line) => {
    expect(issuesOf(lines)).toContainEqual({ path, message, line });
  });
});
