// manifests/crds on a real kube-apiserver v1.20: they install, MetalLB's documented example
// objects apply unchanged with `kubectl apply -f`, the server fills MetalLB's defaults, BGPPeer
// v1beta1 is served next to the stored v1beta2, and what the server returns reads through ironlb's
// translation (the verdicts are written by hand from the pages: valid, or which reference is missing).
import * as path from 'node:path';
import { formatObjectIssue, translateObjects } from '../../src/config/crd/translate';
import { REPO } from '../harness/processes';
import { installCrds, kubectl, kubectlOk } from './crd-support';

jest.setTimeout(120_000);

const NS = 'metallb-system';
const DOCS = path.join(REPO, 'test', 'fixtures', 'crds', 'metallb-docs');
const KINDS = 'ipaddresspools,l2advertisements,bgpadvertisements,bgppeers,bfdprofiles,communities';

/** Expected translation verdict per example file: [] = accepted; otherwise the errors, in order. */
const VERDICTS: Record<string, readonly string[]> = {
  'configuration-pool.yaml': [],
  'configuration-l2.yaml': [],
  'configuration-l2-named.yaml': [],
  'configuration-bgp.yaml': [],
  'configuration-bfd.yaml': [],
  'advanced-bgp-advertisements.yaml': [],
  'advanced-bgp-communities.yaml': [],
  'advanced-bgp-peer-nodes.yaml': [],
  'advanced-bgp-advertisement-nodes.yaml': [],
  'advanced-bgp-advertisement-peers.yaml': [
    'BGPAdvertisement metallb-system/example: spec.ipAddressPools[0]: IPAddressPool "PoolA" does not exist',
    'BGPAdvertisement metallb-system/example: spec.peers[0]: BGPPeer "PeerA" does not exist',
    'BGPAdvertisement metallb-system/example: spec.peers[1]: BGPPeer "PeerB" does not exist',
  ],
  'advanced-bgp-source-address.yaml': [],
  'advanced-bgp-vrf.yaml': [],
  'advanced-bgp-graceful-restart.yaml': [],
  'advanced-l2-nodes.yaml': [],
  'advanced-l2-interfaces.yaml': [],
  'advanced-ipaddresspool.yaml': [],
};

async function objectsInNamespace(): Promise<unknown[]> {
  const list = JSON.parse(await kubectlOk(['get', KINDS, '-n', NS, '-o', 'json'])) as { items: unknown[] };
  return list.items;
}

async function deleteAll(): Promise<void> {
  await kubectlOk(['delete', KINDS, '--all', '-n', NS, '--wait=true']);
}

describe('manifests/crds and MetalLB documented examples', () => {
  beforeAll(async () => {
    await installCrds();
    await kubectl(['create', 'namespace', NS]); // may exist already
    await deleteAll();
  });

  afterAll(async () => {
    await deleteAll();
  });

  it.each(Object.entries(VERDICTS))('%s applies unchanged and reads as expected', async (file, errors) => {
    const applied = await kubectl(['apply', '-f', path.join(DOCS, file)]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    try {
      const result = translateObjects(await objectsInNamespace(), { namespace: NS });
      expect(result.ok ? [] : result.errors.map(formatObjectIssue)).toEqual(errors);
    } finally {
      await deleteAll();
    }
  });

  it('the server fills MetalLB defaults: autoAssign, avoidBuggyIPs, aggregation lengths, peerPort', async () => {
    await kubectlOk(['apply', '-f', path.join(DOCS, 'configuration-bgp.yaml')]);
    try {
      const pool = JSON.parse(await kubectlOk(['get', 'ipaddresspool', 'first-pool', '-n', NS, '-o', 'json'])) as { spec: Record<string, unknown> };
      expect(pool.spec).toEqual({ addresses: ['192.168.1.240-192.168.1.250'], autoAssign: true, avoidBuggyIPs: false });
      const adv = JSON.parse(await kubectlOk(['get', 'bgpadvertisement', 'example', '-n', NS, '-o', 'json'])) as { spec: Record<string, unknown> };
      expect(adv.spec).toEqual({ ipAddressPools: ['first-pool'], aggregationLength: 32, aggregationLengthV6: 128 });
      const peer = JSON.parse(await kubectlOk(['get', 'bgppeer', 'sample', '-n', NS, '-o', 'json'])) as { spec: Record<string, unknown> };
      expect(peer.spec.peerPort).toBe(179);
    } finally {
      await deleteAll();
    }
  });

  it('printer columns show what MetalLB shows', async () => {
    await kubectlOk(['apply', '-f', path.join(DOCS, 'configuration-bgp.yaml')]);
    try {
      const pools = await kubectlOk(['get', 'ipaddresspools', '-n', NS]);
      expect(pools.split('\n')[0].split(/\s{2,}/)).toEqual(['NAME', 'AUTO ASSIGN', 'AVOID BUGGY IPS', 'ADDRESSES']);
      expect(pools).toContain('["192.168.1.240-192.168.1.250"]');
      const peers = await kubectlOk(['get', 'bgppeers', '-n', NS]);
      expect(peers.split('\n')[0].split(/\s{2,}/)).toEqual(['NAME', 'ADDRESS', 'ASN', 'BFD PROFILE', 'MULTI HOPS']);
    } finally {
      await deleteAll();
    }
  });

  it('a v1beta1 BGPPeer is served with a deprecation warning and read back as v1beta2', async () => {
    const peer = `apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata: {name: old, namespace: ${NS}}
spec:
  myASN: 64500
  peerASN: 64501
  peerAddress: 10.0.0.1
  holdTime: 3m
  nodeSelectors:
  - matchExpressions: [{key: rack, operator: In, values: [r1]}]
`;
    const applied = await kubectl(['apply', '-f', '-'], peer);
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain('metallb.io/v1beta1 BGPPeer is deprecated, use metallb.io/v1beta2');
    try {
      const stored = JSON.parse(await kubectlOk(['get', 'bgppeers.v1beta2.metallb.io', 'old', '-n', NS, '-o', 'json'])) as { apiVersion: string };
      expect(stored.apiVersion).toBe('metallb.io/v1beta2');
      const result = translateObjects(await objectsInNamespace(), { namespace: NS });
      expect(result.ok && result.config.peers.map((p) => [p.name, p.peerASN, p.holdTimeSeconds, p.keepaliveTimeSeconds])).toEqual([['old', 64501, 180, 60]]);
    } finally {
      await deleteAll();
    }
  });

  it('the schemas refuse what MetalLB refuses at admission: enums, bounds, required fields', async () => {
    const bad = [
      ['dynamicASN', `apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: x, namespace: ${NS}}\nspec: {myASN: 1, dynamicASN: sideways, peerAddress: 10.0.0.1}\n`],
      ['peerPort', `apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: x, namespace: ${NS}}\nspec: {myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, peerPort: 20000}\n`],
      ['addresses', `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: x, namespace: ${NS}}\nspec: {autoAssign: true}\n`],
      ['aggregationLength', `apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: x, namespace: ${NS}}\nspec: {aggregationLength: 33}\n`],
      ['receiveInterval', `apiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: x, namespace: ${NS}}\nspec: {receiveInterval: 5}\n`],
    ];
    for (const [field, text] of bad) {
      const r = await kubectl(['apply', '-f', '-'], text);
      expect([field, r.code]).toEqual([field, 1]);
      expect(r.stderr).toContain(field);
    }
  });
});
