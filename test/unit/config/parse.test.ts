import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, parseConfigMapManifest, parseConfigText } from '../../../src/config/parse';
import type { Config, ParseResult } from '../../../src/config/types';

const ROOT = join(__dirname, '../../..');
const fixture = (name: string): string => readFileSync(join(ROOT, 'test/fixtures/config', name), 'utf8');
const repoFile = (name: string): string => readFileSync(join(ROOT, name), 'utf8');

function config(result: ParseResult): Config {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.map(formatIssue).join('\n')}`);
  return result.config;
}

function configOf(lines: readonly string[]): Config {
  return config(parseConfigText(`${lines.join('\n')}\n`));
}

const SEED_POOL = {
  name: 'default',
  protocol: 'layer2',
  addresses: [
    {
      text: '192.168.10.90-192.168.10.100',
      range: { family: 4, start: 0xc0a80a5an, end: 0xc0a80a64n },
      cidrs: [
        { family: 4, base: 0xc0a80a5an, prefix: 31 }, // .90/31
        { family: 4, base: 0xc0a80a5cn, prefix: 30 }, // .92/30
        { family: 4, base: 0xc0a80a60n, prefix: 30 }, // .96/30
        { family: 4, base: 0xc0a80a64n, prefix: 32 }, // .100/32
      ],
    },
  ],
  autoAssign: true,
  avoidBuggyIPs: false,
  bgpAdvertisements: [],
  priority: 0,
  interfaces: [],
  nodeSelectors: [],
};

describe('the seed configuration', () => {
  test('parses verbatim as bare config text', () => {
    expect(config(parseConfigText(fixture('seed-config.yaml')))).toEqual({ pools: [SEED_POOL], peers: [], bgpCommunities: {}, bfdProfiles: [] });
  });

  test('parses verbatim from its ConfigMap manifest, trailing blank-ish line included', () => {
    expect(config(parseConfigMapManifest(fixture('seed-configmap.yaml'))).pools).toEqual([SEED_POOL]);
  });

  test('config/example-config.yaml is the seed in ironlb-system', () => {
    const text = repoFile('config/example-config.yaml');
    expect(text).toMatch(/namespace: ironlb-system/);
    expect(config(parseConfigMapManifest(text)).pools).toEqual([SEED_POOL]);
  });
});

describe('the MetalLB BGP example', () => {
  const cfg = config(parseConfigMapManifest(repoFile('config/metallb-bgp-example.yaml')));

  test('resolves community aliases and keeps literal communities', () => {
    const production = cfg.pools.find((p) => p.name === 'production');
    expect(production?.bgpAdvertisements).toEqual([
      { aggregationLength: 32, aggregationLengthV6: 128, localPref: 100, communities: [{ kind: 'standard', value: 65535 * 65536 + 65282 }] },
      {
        aggregationLength: 24,
        aggregationLengthV6: 128,
        communities: [
          { kind: 'standard', value: 64500 * 65536 + 100 },
          { kind: 'standard', value: 64500 * 65536 + 200 },
        ],
      },
    ]);
    expect(Object.keys(cfg.bgpCommunities).sort()).toEqual(['backbone', 'no-advertise']);
  });

  test('reads peers with timers, selectors and BFD profile', () => {
    expect(cfg.peers).toHaveLength(3);
    expect(cfg.peers[0]).toEqual({
      myASN: 64500,
      peerASN: 64501,
      peerAddress: '203.0.113.1',
      peerPort: 179,
      holdTimeSeconds: 90,
      keepaliveTimeSeconds: 30,
      nodeSelectors: [{ matchLabels: { rack: 'frontend' }, matchExpressions: [{ key: 'network-speed', operator: 'NotIn', values: ['slow'] }] }],
      ebgpMultihop: false,
    });
    expect(cfg.peers[1]).toMatchObject({ peerPort: 1179, holdTimeSeconds: 9, keepaliveTimeSeconds: 3, password: 'example-md5-secret' });
    expect(cfg.peers[2]).toMatchObject({ routerID: '198.51.100.254', bfdProfile: 'fast' });
    expect(cfg.bfdProfiles).toEqual([{ name: 'fast', receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 }]);
  });

  test('lives in metallb-system', () => {
    expect(repoFile('config/metallb-bgp-example.yaml')).toMatch(/namespace: metallb-system/);
  });
});

describe('defaults', () => {
  test('a bgp pool without advertisements gets one default advertisement', () => {
    const [pool] = configOf(['address-pools:', '- name: b', '  protocol: bgp', '  addresses: [198.51.100.0/24]']).pools;
    expect(pool.bgpAdvertisements).toEqual([{ aggregationLength: 32, aggregationLengthV6: 128, communities: [] }]);
    expect(pool).toMatchObject({ autoAssign: true, avoidBuggyIPs: false, priority: 0, interfaces: [], nodeSelectors: [] });
  });

  test('an empty advertisement list also gets the default', () => {
    const [pool] = configOf(['address-pools:', '- name: b', '  protocol: bgp', '  addresses: [198.51.100.0/24]', '  bgp-advertisements: []']).pools;
    expect(pool.bgpAdvertisements).toHaveLength(1);
  });

  test('a peer gets port 179, hold 90s, keepalive hold/3, no multihop and no optional fields', () => {
    const [peer] = configOf(['peers:', '- my-asn: 64500', '  peer-asn: 64501', '  peer-address: 2001:DB8::0001']).peers;
    expect(peer).toEqual({
      myASN: 64500,
      peerASN: 64501,
      peerAddress: '2001:db8::1',
      peerPort: 179,
      holdTimeSeconds: 90,
      keepaliveTimeSeconds: 30,
      nodeSelectors: [],
      ebgpMultihop: false,
    });
  });

  test.each([
    ['1m30s', 90, 30],
    ['10s', 10, 3],
    ['4.9s', 4, 1],
    ['0', 0, 0],
    ['0s', 0, 0],
    ['180', 180, 60],
    ['1h', 3600, 1200],
  ])('hold-time %s reads as %ds with keepalive %ds', (hold, seconds, keepalive) => {
    const [peer] = configOf(['peers:', '- my-asn: 1', '  peer-asn: 2', '  peer-address: 10.0.0.1', `  hold-time: ${hold}`]).peers;
    expect(peer.holdTimeSeconds).toBe(seconds);
    expect(peer.keepaliveTimeSeconds).toBe(keepalive);
  });

  test('an empty or comment-only config is valid and empty', () => {
    for (const text of ['', '# nothing yet\n', '---\n']) {
      expect(config(parseConfigText(text))).toEqual({ pools: [], peers: [], bgpCommunities: {}, bfdProfiles: [] });
    }
  });
});

describe('values', () => {
  test('pools are sorted by priority, then name', () => {
    const pools = configOf([
      'address-pools:',
      '- {name: c, protocol: layer2, addresses: [10.0.3.0/24]}',
      '- {name: b, protocol: layer2, addresses: [10.0.2.0/24], priority: 1}',
      '- {name: a, protocol: layer2, addresses: [10.0.1.0/24]}',
      '- {name: z, protocol: layer2, addresses: [10.0.4.0/24], priority: -1}',
    ]).pools;
    expect(pools.map((p) => p.name)).toEqual(['z', 'a', 'c', 'b']);
  });

  test('IPv4 and IPv6 entries mix in one pool; whitespace around the dash is trimmed', () => {
    const [pool] = configOf(['address-pools:', '- name: a', '  protocol: layer2', '  addresses:', '  - 10.0.0.1 -  10.0.0.3', '  - fd00::1-fd00::3']).pools;
    expect(pool.addresses.map((a) => [a.range.family, a.range.end - a.range.start + 1n])).toEqual([
      [4, 3n],
      [6, 3n],
    ]);
  });

  test('a CIDR with host bits set is masked, as Go net.ParseCIDR does', () => {
    const [pool] = configOf(['address-pools:', '- {name: a, protocol: layer2, addresses: [10.0.0.5/24]}']).pools;
    expect(pool.addresses[0].cidrs).toEqual([{ family: 4, base: 0x0a000000n, prefix: 24 }]);
  });

  test('adjacent entries do not overlap', () => {
    expect(configOf(['address-pools:', '- {name: a, protocol: layer2, addresses: [10.0.0.0/25, 10.0.0.128-10.0.0.255]}']).pools).toHaveLength(1);
  });

  test('YAML 1.1 booleans are read as yaml.v2 reads them', () => {
    const [pool] = configOf(['address-pools:', '- {name: a, protocol: layer2, addresses: [10.0.0.0/24], auto-assign: no, avoid-buggy-ips: on}']).pools;
    expect(pool).toMatchObject({ autoAssign: false, avoidBuggyIPs: true });
  });

  test('numbers in string fields keep their written text', () => {
    const cfg = configOf(['address-pools:', '- {name: 2024, protocol: layer2, addresses: [10.0.0.0/24]}', 'peers:', '- {my-asn: 1, peer-asn: 2, peer-address: 10.0.0.1, password: 007}']);
    expect(cfg.pools[0].name).toBe('2024');
    expect(cfg.peers[0].password).toBe('007');
  });

  test('community aliases, large communities, and an alias equal to a literal announced once', () => {
    const [pool] = configOf([
      'bgp-communities:',
      '  edge: 64500:1',
      '  big: large:64500:1:2',
      'address-pools:',
      '- name: a',
      '  protocol: bgp',
      '  addresses: [198.51.100.0/24]',
      '  bgp-advertisements:',
      '  - communities: [edge, "64500:1", big, "large:1:2:3"]',
    ]).pools;
    expect(pool.bgpAdvertisements[0].communities).toEqual([
      { kind: 'standard', value: 64500 * 65536 + 1 },
      { kind: 'large', global: 64500, local1: 1, local2: 2 },
      { kind: 'large', global: 1, local1: 2, local2: 3 },
    ]);
  });

  test('aggregation lengths between the widest prefix and the host length are accepted', () => {
    const [pool] = configOf([
      'address-pools:',
      '- name: a',
      '  protocol: bgp',
      '  addresses: [198.51.100.0/24, "fd00::/64"]',
      '  bgp-advertisements:',
      '  - {aggregation-length: 24, aggregation-length-v6: 64}',
      '  - {aggregation-length: 28, aggregation-length-v6: 96, localpref: 0}',
    ]).pools;
    expect(pool.bgpAdvertisements.map((a) => [a.aggregationLength, a.aggregationLengthV6, a.localPref])).toEqual([
      [24, 64, undefined],
      [28, 96, 0],
    ]);
  });

  test('YAML anchors and aliases are followed', () => {
    const cfg = configOf([
      'peers:',
      '- my-asn: 64500',
      '  peer-asn: 64501',
      '  peer-address: 10.0.0.1',
      '  node-selectors: &rack-a',
      '  - match-labels: {rack: a}',
      '- my-asn: 64500',
      '  peer-asn: 64501',
      '  peer-address: 10.0.0.2',
      '  node-selectors: *rack-a',
    ]);
    expect(cfg.peers[1].nodeSelectors).toEqual([{ matchLabels: { rack: 'a' }, matchExpressions: [] }]);
  });

  test('ironlb pool additions are read', () => {
    const [pool] = configOf([
      'address-pools:',
      '- name: a',
      '  protocol: layer2',
      '  addresses: [10.0.0.0/24]',
      '  priority: 5',
      '  interfaces: [eth0, bond0.100]',
      '  node-selectors:',
      '  - match-expressions: [{key: node-role.kubernetes.io/edge, operator: Exists}]',
    ]).pools;
    expect(pool).toMatchObject({
      priority: 5,
      interfaces: ['eth0', 'bond0.100'],
      nodeSelectors: [{ matchLabels: {}, matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'Exists', values: [] }] }],
    });
  });

  test('ebgp-multihop is allowed on eBGP peers', () => {
    expect(configOf(['peers:', '- {my-asn: 1, peer-asn: 2, peer-address: 10.0.0.1, ebgp-multihop: true}']).peers[0].ebgpMultihop).toBe(true);
  });
});

describe('reporting', () => {
  test('every problem is reported, in line order, with its line', () => {
    const result = parseConfigMapManifest(fixture('invalid-configmap.yaml'));
    if (result.ok) throw new Error('expected errors');
    expect(result.errors.map(formatIssue)).toEqual([
      'line 12: address-pools[0].addresses[0]: range start 192.168.10.100 is after end 192.168.10.90',
      'line 13: address-pools[1].protocol: missing the protocol field; set it to layer2 or bgp',
      'line 13: address-pools[1].name: duplicate pool name "default" (already used by address-pools[0])',
      'line 14: address-pools[1].protocl: unknown key "protocl" (did you mean "protocol"?); allowed keys: name, protocol, addresses, auto-assign, avoid-buggy-ips, bgp-advertisements, priority, interfaces, node-selectors, cross-namespace-sharing, release-delay, datapath-check',
      'line 21: peers[0].hold-time: invalid hold time "2s": must be 0 or at least 3s',
      'line 22: peers[0].ebgp-multihop: ebgp-multihop cannot be set on an iBGP peer (my-asn and peer-asn are both 64500)',
    ]);
  });

  test('the same config text reports lines of the text itself', () => {
    const result = parseConfigText('address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/33]\n');
    expect(result).toEqual({
      ok: false,
      errors: [{ path: 'address-pools[0].addresses[0]', message: 'invalid CIDR "10.0.0.0/33": prefix length 33 is longer than 32', line: 4 }],
    });
  });

  test('a config in a double-quoted string keeps lines of the config text', () => {
    const result = parseConfigMapManifest(fixture('folded-configmap.yaml'));
    expect(result.ok ? [] : result.errors.map((e) => e.line)).toEqual([5]);
  });

  test('text that is not YAML is a syntax failure with a line', () => {
    const result = parseConfigText('address-pools:\n- name: a\n  addresses: [10.0.0.0/24\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.syntax).toBe(true);
    expect(result.errors[0].message).toMatch(/^not valid YAML: /);
    expect(result.errors[0].line).toBeGreaterThan(0);
  });

  test('formatIssue leaves out what is unknown', () => {
    expect(formatIssue({ path: 'peers[0]', message: 'bad', line: 7 })).toBe('line 7: peers[0]: bad');
    expect(formatIssue({ path: '', message: 'bad', line: 1 })).toBe('line 1: bad');
    expect(formatIssue({ path: 'peers', message: 'bad' })).toBe('peers: bad');
  });
});

describe('release-delay (ironlb: sticky addresses)', () => {
  const pools = (extra: string[]) => parseConfigText(['address-pools:', '- name: p', '  protocol: layer2', '  addresses: [10.0.0.1/32]', ...extra.map((l) => `  ${l}`)].join('\n') + '\n');
  test('absent: 0 (MetalLB behaviour); a Go duration or whole seconds; bounded', () => {
    expect(config(pools([])).pools[0].releaseDelaySeconds).toBeUndefined();
    expect(config(pools(['release-delay: 10m'])).pools[0].releaseDelaySeconds).toBe(600);
    expect(config(pools(['release-delay: 90'])).pools[0].releaseDelaySeconds).toBe(90);
    expect(pools(['release-delay: 25h']).ok).toBe(false);
    expect(pools(['release-delay: soon']).ok).toBe(false);
  });
});

describe('datapath-check (ironlb: data-path-gated ownership per pool)', () => {
  const pool = (protocol: string, extra: string[]) => parseConfigText(['address-pools:', '- name: p', `  protocol: ${protocol}`, '  addresses: [10.0.0.1/32]', ...extra.map((l) => `  ${l}`)].join('\n') + '\n');
  test('absent or off: not gated; kube-proxy: gated; anything else, or on a bgp pool, is refused with a reason', () => {
    expect(config(pool('layer2', [])).pools[0].dataPathCheck).toBeUndefined();
    expect(config(pool('layer2', ['datapath-check: off'])).pools[0].dataPathCheck).toBeUndefined();
    expect(config(pool('layer2', ['datapath-check: kube-proxy'])).pools[0].dataPathCheck).toBe('kube-proxy');
    const bad = pool('layer2', ['datapath-check: yes']);
    expect(bad.ok ? [] : bad.errors.map((e) => e.message)).toEqual(['datapath-check must be one of kube-proxy, off, got "yes"']);
    const bgp = pool('bgp', ['datapath-check: kube-proxy']);
    expect(bgp.ok ? [] : bgp.errors.map((e) => e.message)).toEqual(['datapath-check gates layer-2 announcements only; this pool has protocol bgp']);
  });
});
