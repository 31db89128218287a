// The controller against a real kube-apiserver: the seed's flow and every allocation rule that
// shows through the API (status, annotations, events).
import { testKubeConfig, uniqueName, eventually } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { mergePatch } from '../../src/k8s/client';
import { startIronlb, stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { putConfig } from './controller-kit';

jest.setTimeout(60_000);

const SEED_CONFIG = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 192.168.10.90-192.168.10.100
`;

describe('controller', () => {
  const kit = new ServiceKit(testKubeConfig());
  const cfgNs = uniqueName('ironlb-system');
  const ns = uniqueName('ctl');
  let controller: IronlbProcess;

  const setConfig = (text: string): Promise<void> => kit.applyConfig(cfgNs, 'config', text);

  /** A value from the controller's /metrics (the address it logged at start-up). */
  async function metric(name: string): Promise<number | undefined> {
    const addr = (await waitForLog(controller, 'metrics and health endpoints listening')).address as string;
    const text = await (await fetch(`http://${addr}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : undefined;
  }

  beforeAll(async () => {
    await kit.ensureNamespace(ns);
    await setConfig(SEED_CONFIG);
    controller = startIronlb([
      'controller',
      '--kubeconfig', process.env.IRONLB_TEST_KUBECONFIG ?? '',
      '--config-namespace', cfgNs,
      '--metrics-addr', '127.0.0.1:0',
      '--leader-elect=false',
    ]);
    // Process start-up (ts-node) is not what the tests below time.
    await waitForLog(controller, 'caches synced');
  });

  afterEach(async () => {
    await kit.deleteAllServices(ns);
    await setConfig(SEED_CONFIG);
  });

  afterAll(async () => {
    await stopAll();
  });

  it("gives the seed's nginx-metallb Service the first address of the seed's range and leaves other types alone", async () => {
    await kit.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'nginx-clusterip' }, spec: { type: 'ClusterIP', selector: { app: 'nginx' }, ports: [{ port: 80 }] } },
    });
    await kit.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'nginx-nodeport' }, spec: { type: 'NodePort', selector: { app: 'nginx' }, ports: [{ port: 80 }] } },
    });
    await kit.createLB(ns, 'nginx-metallb', { ports: [{ port: 8090, protocol: 'TCP', targetPort: 80 }], selector: { app: 'nginx' } });
    expect(await kit.waitIPs(ns, 'nginx-metallb')).toEqual(['192.168.10.90']);
    const svc = await kit.get(ns, 'nginx-metallb');
    expect(svc.metadata?.annotations?.['ironlb.io/ip-allocated-from-pool']).toBe('default');
    const ev = await kit.waitEvent(ns, 'nginx-metallb', 'IPAllocated');
    expect(ev.message).toContain('192.168.10.90');
    for (const name of ['nginx-clusterip', 'nginx-nodeport']) {
      const other = await kit.get(ns, name);
      expect(ServiceKit.ips(other)).toEqual([]);
      expect(other.metadata?.annotations?.['ironlb.io/ip-allocated-from-pool']).toBeUndefined();
    }
  });

  it('honours spec.loadBalancerIP, refuses addresses outside every pool, and takes MetalLB annotations', async () => {
    await kit.createLB(ns, 'requested', { loadBalancerIP: '192.168.10.95' });
    expect(await kit.waitIPs(ns, 'requested')).toEqual(['192.168.10.95']);
    await kit.createLB(ns, 'outside', { loadBalancerIP: '203.0.113.7' });
    const ev = await kit.waitEvent(ns, 'outside', 'AllocationFailed');
    expect(ev.message).toContain('203.0.113.7');
    expect(ServiceKit.ips(await kit.get(ns, 'outside'))).toEqual([]);
    await kit.createLB(ns, 'ann-new', {}, { 'metallb.io/loadBalancerIPs': '192.168.10.97' });
    expect(await kit.waitIPs(ns, 'ann-new')).toEqual(['192.168.10.97']);
    await kit.createLB(ns, 'ann-old', {}, { 'metallb.universe.tf/loadBalancerIPs': '192.168.10.98' });
    expect(await kit.waitIPs(ns, 'ann-old')).toEqual(['192.168.10.98']);
    await kit.waitEvent(ns, 'ann-old', 'deprecatedAnnotation');
  });

  it('uses a named pool, even one with auto-assign: false, and never auto-assigns from it', async () => {
    await setConfig(`${SEED_CONFIG}- name: reserved
  protocol: layer2
  auto-assign: false
  addresses:
  - 198.51.100.0/30
`);
    await new Promise((r) => setTimeout(r, 500));
    await kit.createLB(ns, 'named', {}, { 'ironlb.io/address-pool': 'reserved' });
    expect(await kit.waitIPs(ns, 'named')).toEqual(['198.51.100.0']);
    await kit.createLB(ns, 'auto');
    expect(await kit.waitIPs(ns, 'auto')).toEqual(['192.168.10.90']);
    const svc = await kit.get(ns, 'named');
    expect(svc.metadata?.annotations?.['ironlb.io/ip-allocated-from-pool']).toBe('reserved');
  });

  it('shares one address between Services with the same key and refuses a port collision', async () => {
    const share = { 'ironlb.io/allow-shared-ip': 'k1', 'ironlb.io/loadBalancerIPs': '192.168.10.99' };
    await kit.createLB(ns, 'share-a', { ports: [{ port: 80, protocol: 'TCP' }] }, share);
    await kit.createLB(ns, 'share-b', { ports: [{ port: 443, protocol: 'TCP' }] }, share);
    expect(await kit.waitIPs(ns, 'share-a')).toEqual(['192.168.10.99']);
    expect(await kit.waitIPs(ns, 'share-b')).toEqual(['192.168.10.99']);
    await kit.createLB(ns, 'share-c', { ports: [{ port: 80, protocol: 'TCP' }] }, share);
    const ev = await kit.waitEvent(ns, 'share-c', 'AllocationFailed');
    expect(ev.message).toMatch(/80/);
  });

  it('reports an exhausted pool and serves the pending Service when an address is freed', async () => {
    await setConfig(`address-pools:
- name: tiny
  protocol: layer2
  addresses:
  - 198.51.100.10-198.51.100.11
`);
    await new Promise((r) => setTimeout(r, 500));
    await kit.createLB(ns, 'ex-1');
    await kit.waitIPs(ns, 'ex-1');
    await kit.createLB(ns, 'ex-2');
    await kit.waitIPs(ns, 'ex-2');
    await kit.createLB(ns, 'ex-3');
    const ev = await kit.waitEvent(ns, 'ex-3', 'AllocationFailed');
    expect(ev.message).toMatch(/exhausted|no available/i);
    const freed = ServiceKit.ips(await kit.get(ns, 'ex-1'));
    await kit.core.deleteNamespacedService({ name: 'ex-1', namespace: ns });
    expect(await kit.waitIPs(ns, 'ex-3')).toEqual(freed);
  });

  it('clears status and annotation when the type leaves LoadBalancer', async () => {
    await kit.createLB(ns, 'retype');
    await kit.waitIPs(ns, 'retype');
    await kit.core.patchNamespacedService(
      { name: 'retype', namespace: ns, body: { spec: { type: 'ClusterIP' } } },
      mergePatch,
    );
    await kit.waitNoIPs(ns, 'retype');
    await eventually('pool annotation removed', async () =>
      (await kit.get(ns, 'retype')).metadata?.annotations?.['ironlb.io/ip-allocated-from-pool'] === undefined ? true : undefined,
    );
  });

  it('gives RequireDualStack Services one IPv4 and one IPv6 address from one pool', async () => {
    await setConfig(`address-pools:
- name: dual
  protocol: layer2
  addresses:
  - 198.51.100.20-198.51.100.29
  - 2001:db8:100::20-2001:db8:100::29
`);
    await new Promise((r) => setTimeout(r, 500));
    await kit.createLB(ns, 'dual', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] });
    const ips = await kit.waitIPs(ns, 'dual');
    expect(ips).toEqual(['2001:db8:100::20', '198.51.100.20']);
  });

  it('with ironlb.io/allow-address-changes, moves Services whose address left every pool, with a Warning, and keeps the rest', async () => {
    await setConfig(`address-pools:
- name: a
  protocol: layer2
  addresses: [198.51.100.40/31]
- name: b
  protocol: layer2
  addresses: [198.51.100.50/31]
`);
    await new Promise((r) => setTimeout(r, 500));
    await kit.createLB(ns, 'stay', {}, { 'ironlb.io/address-pool': 'b' });
    await kit.createLB(ns, 'move', {}, { 'ironlb.io/address-pool': 'a' });
    expect(await kit.waitIPs(ns, 'stay')).toEqual(['198.51.100.50']);
    expect(await kit.waitIPs(ns, 'move')).toEqual(['198.51.100.40']);
    // Without the annotation this config is refused (controller-safety.test.ts, defect 4).
    await putConfig(kit, cfgNs, `address-pools:
- name: a
  protocol: layer2
  addresses: [198.51.100.44/31]
- name: b
  protocol: layer2
  addresses: [198.51.100.50/31]
`, { 'ironlb.io/allow-address-changes': 'true' });
    await eventually('the moved address', async () => ((await kit.waitIPs(ns, 'move'))[0] === '198.51.100.44' ? true : undefined));
    await kit.waitEvent(ns, 'move', 'ClearAssignment');
    expect(ServiceKit.ips(await kit.get(ns, 'stay'))).toEqual(['198.51.100.50']);
  });

  it('refuses a broken ConfigMap: the last good config stays, nothing is released, the error is visible', async () => {
    await kit.createLB(ns, 'keep');
    const before = await kit.waitIPs(ns, 'keep');
    await setConfig(`address-pools:
- name: default
  protocol: layer2
  addresses:
  - 192.168.10.100-192.168.10.90
  - not-an-address
`);
    const ev = await eventually('an InvalidConfig event', async () => {
      const list = await kit.core.listNamespacedEvent({ namespace: cfgNs });
      return list.items.find((e) => e.reason === 'InvalidConfig' && e.involvedObject.name === 'config');
    });
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('address-pools[0].addresses[0]');
    expect(ev.message).toContain('address-pools[0].addresses[1]');
    await new Promise((r) => setTimeout(r, 500));
    expect(ServiceKit.ips(await kit.get(ns, 'keep'))).toEqual(before);
    await kit.createLB(ns, 'still-served');
    expect(await kit.waitIPs(ns, 'still-served')).toEqual(['192.168.10.91']);
    expect(controller.logs().some((l) => String(l.msg).startsWith('configStale'))).toBe(true);
    expect(await metric('ironlb_k8s_client_config_stale_bool')).toBe(1);
    // The good text applied again: nothing to reload, and no longer stale.
    await setConfig(SEED_CONFIG);
    await eventually('config_stale back to 0', async () => ((await metric('ironlb_k8s_client_config_stale_bool')) === 0 ? true : undefined));
  });
});
