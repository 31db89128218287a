// Fuzzes the configuration parsers with mutations of valid configurations: ConfigMap text (and the
// manifest around it) through parseConfigText / parseConfigMapManifest / configMapToObjects, and
// sets of metallb.io objects (as objects, and as YAML text) through parseObjectManifests and
// translateObjects. Nothing may throw; every refusal carries at least one problem, each with a
// message that reads (no "undefined", "[object Object]" or "NaN" leaking from the code).
// CONFIG_FUZZ_COUNT sets the number of inputs (npm test: 400; npm run fuzz:config: 10,000),
// CONFIG_FUZZ_SEED the seed.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { parseObjectManifests } from '../../../src/config/crd/manifests';
import { configMapToObjects } from '../../../src/config/crd/migrate';
import { formatObjectIssue, translateObjects } from '../../../src/config/crd/translate';
import { extractConfigText, formatIssue, parseConfigMapManifest, parseConfigText } from '../../../src/config/parse';
import type { Config, ConfigIssue } from '../../../src/config/types';
import { Dice, mutateText, mutateTree, prng, type Json } from './fuzz/mutate';

const COUNT = Number(process.env.CONFIG_FUZZ_COUNT ?? 400);
const SEED = Number(process.env.CONFIG_FUZZ_SEED ?? 0xc0f1);
const REPO = path.join(__dirname, '..', '..', '..');
const NS = 'metallb-system';

jest.setTimeout(Math.max(60_000, COUNT * 20));

const read = (file: string): string => readFileSync(path.join(REPO, file), 'utf8');
function configText(file: string): string {
  const e = extractConfigText(read(file));
  if (!e.ok) throw new Error(e.message);
  return e.source.text;
}

const RICH = `bgp-communities: {vpn: "64500:7", big: "large:1:2:3"}
bfd-profiles: [{name: fast, receive-interval: 300, echo-mode: true}]
peers:
- {my-asn: 64500, peer-asn: 64501, peer-address: 203.0.113.9, hold-time: 9s, keepalive-time: 3s, bfd-profile: fast, router-id: 192.0.2.1}
- {my-asn: 64500, peer-asn: 64500, peer-address: "2001:db8::9", node-selectors: [{match-expressions: [{key: rack, operator: In, values: [r1]}]}, ~]}
address-pools:
- name: edge
  protocol: layer2
  priority: -5
  interfaces: [bond0]
  node-selectors: [{match-labels: {edge: "true"}}]
  addresses: [192.0.2.64/28, "2001:db8:64::/124"]
- name: bgp
  protocol: bgp
  avoid-buggy-ips: true
  addresses: [198.51.100.0/24, 203.0.113.0/24]
  bgp-advertisements: [{aggregation-length: 24, localpref: 10, communities: [vpn, big, "1:1"]}, ~]
`;

const CONFIG_SEEDS = [configText('config/example-config.yaml'), configText('config/metallb-bgp-example.yaml'), configText('test/fixtures/config/seed-configmap.yaml'), RICH];
const MANIFEST_SEEDS = ['config/metallb-bgp-example.yaml', 'test/fixtures/config/multi-document.yaml', 'test/fixtures/config/folded-configmap.yaml'].map(read);

function objectSeeds(): Json[][] {
  const dir = path.join(REPO, 'test/fixtures/crds/metallb-docs');
  const files = ['configuration-bgp.yaml', 'configuration-bfd.yaml', 'advanced-bgp-advertisements.yaml', 'advanced-bgp-communities.yaml', 'advanced-l2-interfaces.yaml', 'advanced-ipaddresspool.yaml'];
  const seeds = files.map((f) => {
    const m = parseObjectManifests(readFileSync(path.join(dir, f), 'utf8'));
    if (!m.ok) throw new Error(m.message);
    return m.objects as Json[];
  });
  for (const text of CONFIG_SEEDS) {
    const migrated = configMapToObjects(text, NS);
    if (!migrated.ok) throw new Error(migrated.errors.join('\n'));
    seeds.push(migrated.objects as Json[]);
  }
  seeds.push([
    ...seeds[0],
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: NS }, type: 'kubernetes.io/basic-auth', data: { password: 'cGFzcw==' } },
    { apiVersion: 'metallb.io/v1beta2', kind: 'BGPPeer', metadata: { name: 'withsecret', namespace: NS }, spec: { myASN: 1, dynamicASN: 'internal', peerAddress: '203.0.113.5', passwordSecret: { name: 's' }, connectTime: '5s' } },
  ]);
  return seeds;
}

const UNREADABLE = /undefined|\[object Object\]|NaN/;
const stats = { configAccepted: 0, configRefused: 0, objectsAccepted: 0, objectsRefused: 0, migrated: 0, migrateRefused: 0 };

function checkIssues(kind: string, messages: readonly string[], input: unknown): void {
  if (messages.length === 0) throw new Error(`${kind}: refused without a problem:\n${JSON.stringify(input)}`);
  for (const m of messages) {
    if (m.trim() === '' || UNREADABLE.test(m)) throw new Error(`${kind}: unreadable message ${JSON.stringify(m)} for:\n${JSON.stringify(input)}`);
  }
}

function checkConfig(config: Config, input: unknown): void {
  for (const p of config.pools) {
    if (p.name === '' || p.addresses.length === 0) throw new Error(`accepted a pool without a name or addresses:\n${JSON.stringify(input)}`);
  }
}

function fuzzConfigText(text: string): void {
  const result = parseConfigText(text);
  if (!result.ok) {
    stats.configRefused++;
    checkIssues('parseConfigText', result.errors.map((e: ConfigIssue) => formatIssue(e)), text);
    return;
  }
  stats.configAccepted++;
  checkConfig(result.config, text);
  const migrated = configMapToObjects(text, NS);
  if (migrated.ok) stats.migrated++;
  else {
    stats.migrateRefused++;
    checkIssues('configMapToObjects', migrated.errors, text);
  }
}

function fuzzObjects(objects: unknown[]): void {
  const result = translateObjects(objects, { namespace: NS });
  for (const w of result.warnings) checkIssues('translateObjects warning', [formatObjectIssue(w)], objects);
  if (!result.ok) {
    stats.objectsRefused++;
    checkIssues('translateObjects', result.errors.map(formatObjectIssue), objects);
    return;
  }
  stats.objectsAccepted++;
  checkConfig(result.config, objects);
}

it(`${COUNT} mutated configurations: no exception, every refusal explained`, () => {
  const d = new Dice(prng(SEED));
  const objects = objectSeeds();
  for (let i = 0; i < COUNT; i++) {
    const edits = 1 + d.int(3);
    const where = `input ${i} (seed ${SEED})`;
    try {
      switch (i % 4) {
        case 0: {
          let text = d.pick(CONFIG_SEEDS);
          for (let e = 0; e < edits; e++) text = mutateText(text, d);
          fuzzConfigText(text);
          break;
        }
        case 1: {
          // Tree edits, written back as YAML: deeper than text edits reach.
          let tree = parseDocument(d.pick(CONFIG_SEEDS)).toJSON() as Json;
          for (let e = 0; e < edits; e++) tree = mutateTree(tree, d);
          fuzzConfigText(stringify(tree));
          break;
        }
        case 2: {
          let list: Json = d.pick(objects);
          for (let e = 0; e < edits; e++) list = mutateTree(list, d);
          fuzzObjects(Array.isArray(list) ? list : [list]);
          break;
        }
        default: {
          if (d.chance(0.3)) {
            let manifest = d.pick(MANIFEST_SEEDS);
            for (let e = 0; e < edits; e++) manifest = mutateText(manifest, d);
            const r = parseConfigMapManifest(manifest);
            if (!r.ok) checkIssues('parseConfigMapManifest', r.errors.map(formatIssue), manifest);
            break;
          }
          let text = d.pick(objects).map((o) => `---\n${stringify(o)}`).join('');
          for (let e = 0; e < edits; e++) text = mutateText(text, d);
          const parsed = parseObjectManifests(text);
          if (parsed.ok) fuzzObjects([...parsed.objects]);
          else checkIssues('parseObjectManifests', [parsed.message], text);
        }
      }
    } catch (e) {
      throw new Error(`${where}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  if (process.env.CONFIG_FUZZ_COUNT) process.stdout.write(`config fuzz: ${COUNT} inputs, seed ${SEED}: ${JSON.stringify(stats)}\n`);
  // The mutations must reach both verdicts on both paths, or the fuzzer is not exercising the rules.
  expect(Math.min(stats.configAccepted, stats.configRefused, stats.objectsAccepted, stats.objectsRefused)).toBeGreaterThan(0);
});
