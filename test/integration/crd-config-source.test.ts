// CrdConfigSource and the --config-source detector against a real kube-apiserver with
// manifests/crds installed: objects applied with kubectl become a Config; a refused change keeps
// the last good one, marks it stale and puts a Warning Event on the offending object; fields
// ironlb cannot honour get an UnsupportedConfig Event; Secrets feed peer passwords; every pool
// gone keeps the last good configuration.
import * as k8s from '@kubernetes/client-node';
import { detectConfigSource, CrdConfigSource, DEFAULT_BATCH_MS } from '../../src/k8s/crd-config-source';
import { EventRecorder } from '../../src/k8s/events';
import type { Config } from '../../src/config/types';
import { nullLogger } from '../../src/util/log';
import { createNamespace, eventually, testKubeConfig } from '../harness/kube';
import { installCrds, kubectlOk } from './crd-support';

jest.setTimeout(120_000);

// Every change travels: kubectl → API server → watch → the source's batch window (DEFAULT_BATCH_MS)
// → evaluation. On a loaded 2-core machine the watch leg is the slow one; 15 s is the harness's
// eventually() default, far above the batch window.
const WAIT_MS = 15_000 + DEFAULT_BATCH_MS;

const pool = (ns: string, name: string, addresses: string[]): string =>
  `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  addresses: [${addresses.map((a) => `"${a}"`).join(', ')}]\n`;

describe('CrdConfigSource', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let ns = '';
  let source: CrdConfigSource | undefined;
  let events: EventRecorder;
  const configs: Config[] = [];
  const stale: boolean[] = [];

  async function warningEvents(kind: string, name: string, reason: string): Promise<string[]> {
    const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name},reason=${reason}` });
    return list.items.map((e) => e.message ?? '');
  }

  const apply = (text: string): Promise<string> => kubectlOk(['apply', '-f', '-'], text);
  const latest = (): Config | undefined => configs[configs.length - 1];

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace(kc, 'crd-src');
    events = new EventRecorder(kc, 'ironlb-test', undefined, nullLogger);
  });

  afterAll(async () => {
    await source?.stop();
    await events.flush();
  });

  it('auto picks the ConfigMap while no IPAddressPool exists, the objects once one does', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'config' }, data: { config: '' } } });
    expect(await detectConfigSource(kc, { namespace: ns, configMapName: 'config', flag: 'auto' })).toEqual({
      source: 'configmap',
      reason: 'auto: no IPAddressPool in the configuration namespace',
      configMapIgnored: false,
    });
    await apply(pool(ns, 'detect', ['198.51.100.200/32']));
    const choice = await detectConfigSource(kc, { namespace: ns, configMapName: 'config', flag: 'auto' });
    expect([choice.source, choice.configMapIgnored]).toEqual(['crds', true]);
    expect((await detectConfigSource(kc, { namespace: ns, configMapName: 'config', flag: 'configmap' })).source).toBe('configmap');
    await kubectlOk(['delete', 'ipaddresspool', 'detect', '-n', ns]);
  });

  it('loads the objects applied with kubectl', async () => {
    source = new CrdConfigSource({
      kc,
      namespace: ns,
      log: nullLogger,
      events,
      onConfig: (c) => configs.push(c),
      onStaleChange: (s) => stale.push(s.stale),
    });
    await source.start();
    expect(source.synced).toBe(true);
    await apply(`${pool(ns, 'web', ['198.51.100.0/28'])}---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2, namespace: ${ns}}\nspec:\n  interfaces: [eth1]\n`);
    const config = await eventually('the pool', async () => latest()?.pools.find((p) => p.name === 'web'), WAIT_MS);
    expect(config.l2Advertisements).toEqual([{ nodeSelectors: [], interfaces: ['eth1'], serviceSelectors: [], source: `L2Advertisement ${ns}/l2` }]);
    expect(source.state).toMatchObject({ loaded: true, stale: false });
  });

  it('a refused change keeps the last good config, marks it stale and puts a Warning Event on the offending object', async () => {
    const before = configs.length;
    await apply(pool(ns, 'clash', ['198.51.100.8/29']));
    await eventually('stale', async () => (source?.state.stale ? true : undefined), WAIT_MS);
    expect(configs.length).toBe(before);
    expect(source?.state.config?.pools.map((p) => p.name)).toEqual(['web']);
    const messages = await eventually('the InvalidConfig Event', async () => {
      await events.flush();
      const m = await warningEvents('IPAddressPool', 'clash', 'InvalidConfig');
      return m.length > 0 ? m : undefined;
    }, WAIT_MS);
    expect(messages[0]).toBe(
      `invalid configuration refused (1 error in this object); the last good configuration stays in force:\nspec.addresses[0]: 198.51.100.8-198.51.100.15 overlaps 198.51.100.0-198.51.100.15 (IPAddressPool ${ns}/web spec.addresses[0]); addresses may belong to only one entry`,
    );
    await kubectlOk(['delete', 'ipaddresspool', 'clash', '-n', ns]);
    await eventually('no longer stale', async () => (source?.state.stale === false ? true : undefined), WAIT_MS);
    expect(configs.length).toBe(before); // the last good objects are back: nothing to reload
  });

  it('peer passwords come from basic-auth Secrets and follow them; unsupported fields get an UnsupportedConfig Event', async () => {
    await apply(`apiVersion: v1
kind: Secret
metadata: {name: bgp-pass, namespace: ${ns}}
type: kubernetes.io/basic-auth
stringData: {password: first}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: r1, namespace: ${ns}}
spec: {myASN: 64500, peerASN: 64501, peerAddress: 203.0.113.1, passwordSecret: {name: bgp-pass}}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: in-vrf, namespace: ${ns}}
spec: {myASN: 64500, peerASN: 64502, peerAddress: 203.0.113.2, vrf: red}
`);
    await eventually('the peer with its password', async () => (latest()?.peers.find((p) => p.name === 'r1')?.password === 'first' ? true : undefined), WAIT_MS);
    expect(latest()?.peers.map((p) => p.name)).toEqual(['r1']);
    await kubectlOk(['patch', 'secret', 'bgp-pass', '-n', ns, '--type', 'merge', '-p', '{"stringData":{"password":"second"}}']);
    await eventually('the new password', async () => (latest()?.peers.find((p) => p.name === 'r1')?.password === 'second' ? true : undefined), WAIT_MS);
    const warnings = await eventually('the UnsupportedConfig Event', async () => {
      await events.flush();
      const m = await warningEvents('BGPPeer', 'in-vrf', 'UnsupportedConfig');
      return m.length > 0 ? m : undefined;
    }, WAIT_MS);
    expect(warnings[0]).toBe('accepted with 1 warning:\nspec.vrf: VRFs are not supported by ironlb; this peer is left out');
  });

  it('every IPAddressPool gone keeps the last good configuration, stale', async () => {
    const before = configs.length;
    await kubectlOk(['delete', 'ipaddresspool', '--all', '-n', ns]);
    await eventually('stale', async () => (source?.state.stale ? true : undefined), WAIT_MS);
    expect(configs.length).toBe(before);
    expect(source?.state.config?.pools.map((p) => p.name)).toEqual(['web']);
  });
});
