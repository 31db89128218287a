// Round trip: a ConfigMap and the metallb.io objects `ironlb migrate` makes of it (through YAML,
// as kubectl would get them) must drive identical decisions: the same addresses for the same
// Services from the allocator, and the same announcement plan on every node for every pool.
// A differential test: the two paths share the allocator and the plan functions, not the parsing.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { advertisementPeers, bgpAdvertisementsFor, l2PlanFor } from '../../../../src/config/announcements';
import { formatCommunity } from '../../../../src/config/community';
import { parseObjectManifests } from '../../../../src/config/crd/manifests';
import { configMapToObjects } from '../../../../src/config/crd/migrate';
import { formatObjectIssue, translateObjects } from '../../../../src/config/crd/translate';
import { extractConfigText, parseConfigText } from '../../../../src/config/parse';
import { selectorMatches } from '../../../../src/config/selector';
import type { Config, Peer } from '../../../../src/config/types';
import { Allocator } from '../../../../src/ipam/allocator';
import type { ServiceRequest } from '../../../../src/ipam/types';

const REPO = path.join(__dirname, '..', '..', '..', '..');
const NS = 'metallb-system';

function fromFile(file: string): string {
  const extracted = extractConfigText(readFileSync(path.join(REPO, file), 'utf8'));
  if (!extracted.ok) throw new Error(extracted.message);
  return extracted.source.text;
}

const CONFIGS: [string, string][] = [
  ['config/example-config.yaml', fromFile('config/example-config.yaml')],
  ['config/metallb-bgp-example.yaml', fromFile('config/metallb-bgp-example.yaml')],
  ['test/fixtures/config/seed-configmap.yaml', fromFile('test/fixtures/config/seed-configmap.yaml')],
  [
    'priorities, renames, interfaces, node selectors, dual-stack',
    `address-pools:
- name: Zeta_Edge
  protocol: layer2
  priority: -5
  interfaces: [bond0, eth1]
  node-selectors:
  - match-labels: {edge: "true"}
  addresses: [192.0.2.64/28, "2001:db8:64::/124"]
- name: alpha
  protocol: layer2
  avoid-buggy-ips: true
  addresses: [192.0.2.0/30, 192.0.2.254-192.0.2.255, "2001:db8:1::-2001:db8:1::3"]
- name: Beta
  protocol: layer2
  addresses: [198.51.100.10-198.51.100.12]
- name: manual
  protocol: bgp
  auto-assign: false
  node-selectors:
  -
  - match-expressions: [{key: rack, operator: In, values: [r1, r2]}]
  addresses: [203.0.113.0/29]
  bgp-advertisements:
  -
  - aggregation-length: 29
    localpref: 50
    communities: [large:64500:1:2, vpn]
bgp-communities:
  vpn: 64500:7
peers:
- {my-asn: 64500, peer-asn: 64501, peer-address: 203.0.113.9, hold-time: "0"}
- {my-asn: 64500, peer-asn: 64500, peer-address: "2001:db8::9", keepalive-time: 20s, hold-time: 1h, ebgp-multihop: false, node-selectors: [{match-labels: {rack: r1}}]}
`,
  ],
];

const NODES: Record<string, string>[] = [{}, { edge: 'true' }, { rack: 'r1' }, { rack: 'r2', edge: 'true' }, { rack: 'frontend' }, { rack: 'frontend', 'network-speed': 'slow' }, { rack: 'backend' }];

function viaObjects(text: string): { config: Config; renamed: ReadonlyMap<string, string> } {
  const migrated = configMapToObjects(text, NS);
  if (!migrated.ok) throw new Error(migrated.errors.join('\n'));
  // Through YAML as the CLI prints it and kubectl reads it.
  const manifests = parseObjectManifests(migrated.objects.map((o) => `---\n${stringify(o, { version: '1.1' })}`).join(''));
  if (!manifests.ok) throw new Error(manifests.message);
  const result = translateObjects(manifests.objects, { namespace: NS });
  if (!result.ok) throw new Error(result.errors.map(formatObjectIssue).join('\n'));
  expect(result.warnings.filter((w) => !w.message.includes('has no effect'))).toEqual([]);
  return { config: result.config, renamed: migrated.renamed };
}

function requests(config: Config, pool: (name: string) => string): ServiceRequest[] {
  const base = { requestedIPs: [], sharingKey: '', backendKey: '', ports: [{ protocol: 'TCP', port: 80 }] } as const;
  const out: ServiceRequest[] = [];
  for (let i = 0; i < 6; i++) out.push({ ...base, key: `ns/v4-${i}`, families: [4], familyPolicy: 'SingleStack' });
  for (let i = 0; i < 3; i++) out.push({ ...base, key: `ns/v6-${i}`, families: [6], familyPolicy: 'SingleStack' });
  out.push({ ...base, key: 'ns/dual', families: [4, 6], familyPolicy: 'RequireDualStack' });
  out.push({ ...base, key: 'ns/prefer', families: [6, 4], familyPolicy: 'PreferDualStack' });
  for (const p of config.pools) out.push({ ...base, key: `ns/named-${p.name}`, families: [4], familyPolicy: 'SingleStack', poolName: pool(p.name) });
  return out;
}

function allocations(config: Config, reqs: readonly ServiceRequest[], poolBack: (name: string) => string): string[] {
  const a = new Allocator();
  a.setPools(config.pools);
  return reqs.map((r) => {
    const res = a.allocate(r);
    return res.ok ? `${r.key} ${res.ips.join(',')} from ${poolBack(res.pool)}` : `${r.key} refused: ${res.reason}`;
  });
}

const session = (p: Peer): string =>
  JSON.stringify([p.myASN, p.peerASN, p.peerAddress, p.peerPort, p.holdTimeSeconds, p.keepaliveTimeSeconds, p.sourceAddress, p.routerID, p.password, p.ebgpMultihop]);

function plans(config: Config, poolBack: (name: string) => string): string[] {
  const out: string[] = [];
  for (const labels of NODES) {
    const node = JSON.stringify(labels);
    const peers = config.peers.filter((p) => selectorMatches(p.nodeSelectors, labels));
    out.push(`${node} sessions ${peers.map(session).sort().join(' ')}`);
    for (const pool of config.pools) {
      const l2 = l2PlanFor(pool, labels, {});
      const bgp = bgpAdvertisementsFor(pool, labels, {}).map((a) =>
        JSON.stringify([a.aggregationLength, a.aggregationLengthV6, a.localPref, a.communities.map(formatCommunity).sort(), advertisementPeers(a, peers).map(session).sort()]),
      );
      out.push(`${node} ${poolBack(pool.name)} l2=${JSON.stringify(l2)} bgp=${bgp.sort().join(';')}`);
    }
  }
  return out.sort();
}

describe.each(CONFIGS)('%s', (_name, text) => {
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new Error(`fixture invalid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  const cm = parsed.config;
  const { config: cr, renamed } = viaObjects(text);
  const forward = (name: string): string => renamed.get(name) ?? name;
  const back = (name: string): string => [...renamed].find(([, to]) => to === name)?.[0] ?? name;

  it('the same pools in the same allocation order', () => {
    expect(cr.pools.map((p) => back(p.name))).toEqual(cm.pools.map((p) => p.name));
  });

  it('the allocator hands the same addresses to the same Services', () => {
    const fromMap = allocations(cm, requests(cm, (n) => n), (n) => n);
    const fromObjects = allocations(cr, requests(cm, forward), back);
    expect(fromObjects).toEqual(fromMap);
    expect(fromMap.some((line) => !line.includes('refused'))).toBe(true);
  });

  it('every node has the same sessions and announces every pool the same way', () => {
    expect(plans(cr, back)).toEqual(plans(cm, (n) => n));
  });
});
