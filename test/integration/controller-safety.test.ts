// Controller safety on the real API server (issue 13): no address on two Services and no silent
// renumbering. Restart with an unparsable request (defect 1), a config change that would renumber
// live Services (defect 4), and sharing across namespaces (defect 5).
import { eventually, testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { mergePatch } from '../../src/k8s/client';
import { eventsFor, metric, putConfig, startController, waitEventMatching } from './controller-kit';

jest.setTimeout(90_000);

describe('controller safety', () => {
  const kit = new ServiceKit(testKubeConfig());
  let cfgNs: string;
  let controller: IronlbProcess | undefined;

  const start = async (): Promise<IronlbProcess> => {
    controller = startController(cfgNs, ['--leader-elect=false']);
    await waitForLog(controller, 'caches synced');
    return controller;
  };
  const annotate = (ns: string, name: string, annotations: Record<string, string | null>): Promise<unknown> =>
    kit.core.patchNamespacedService({ name, namespace: ns, body: { metadata: { annotations } } }, mergePatch);

  // Every controller serves every Service of the API server: each test removes its Services, so
  // that the next one starts from a cluster without other LoadBalancer Services.
  let namespaces: string[] = [];
  const namespace = async (prefix: string): Promise<string> => {
    const ns = uniqueName(prefix);
    namespaces.push(ns);
    await kit.ensureNamespace(ns);
    return ns;
  };

  beforeEach(() => {
    cfgNs = uniqueName('ironlb-system');
    namespaces = [];
  });

  afterEach(async () => {
    await stopAll();
    controller = undefined;
    await Promise.all(namespaces.map((ns) => kit.deleteAllServices(ns)));
  });

  it('defect 1: keeps reserving the address of a Service whose annotation no longer parses, across a SIGKILL', async () => {
    const [nsA, nsB] = await Promise.all([namespace('d1a'), namespace('d1b')]);
    await putConfig(kit, cfgNs, 'address-pools:\n- name: one\n  protocol: layer2\n  addresses: [198.51.100.90-198.51.100.99]\n');
    let ctl = await start();
    await kit.createLB(nsA, 'a');
    expect(await kit.waitIPs(nsA, 'a')).toEqual(['198.51.100.90']);
    await annotate(nsA, 'a', { 'ironlb.io/loadBalancerIPs': 'not-an-ip' });
    await waitEventMatching(kit, nsA, 'a', 'LoadBalancerFailed', /not-an-ip/);

    await ctl.kill('SIGKILL');
    ctl = await start();
    await kit.createLB(nsB, 'b');
    expect(await kit.waitIPs(nsB, 'b')).toEqual(['198.51.100.91']);
    // A keeps its address and is told why it does not get what it asks for.
    expect(ServiceKit.ips(await kit.get(nsA, 'a'))).toEqual(['198.51.100.90']);
    const warning = await waitEventMatching(kit, nsA, 'a', 'LoadBalancerFailed', /keeps 198\.51\.100\.90/);
    expect(warning.type).toBe('Warning');
    // Fixing the request lets it move where it now asks to go.
    await annotate(nsA, 'a', { 'ironlb.io/loadBalancerIPs': '198.51.100.95' });
    await eventually('a on .95', async () => (ServiceKit.ips(await kit.get(nsA, 'a')).join() === '198.51.100.95' ? true : undefined));
  });

  it('defect 4: refuses a config that would renumber live Services; the annotation opts into moving them', async () => {
    const ns = await namespace('d4');
    const before = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.40/30]\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.50/31]\n';
    const narrowed = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.44/30]\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.50/31]\n';
    await putConfig(kit, cfgNs, before);
    const ctl = await start();
    await kit.createLB(ns, 'stay', {}, { 'ironlb.io/address-pool': 'b' });
    await kit.createLB(ns, 'move', {}, { 'ironlb.io/address-pool': 'a' });
    expect(await kit.waitIPs(ns, 'stay')).toEqual(['198.51.100.50']);
    expect(await kit.waitIPs(ns, 'move')).toEqual(['198.51.100.40']);

    await putConfig(kit, cfgNs, narrowed);
    const refused = await waitEventMatching(kit, cfgNs, 'config', 'IncompatibleConfig', new RegExp(`${ns}/move`));
    expect(refused.type).toBe('Warning');
    expect(refused.message).toContain('198.51.100.40');
    expect(refused.message).not.toContain(`${ns}/stay`);
    expect(await metric(ctl, 'ironlb_k8s_client_config_stale_bool')).toBe(1);
    // The last good config stays in force: a new Service of pool a still gets an address of the old range.
    await kit.createLB(ns, 'fresh', {}, { 'ironlb.io/address-pool': 'a' });
    expect(await kit.waitIPs(ns, 'fresh')).toEqual(['198.51.100.41']);
    expect(ServiceKit.ips(await kit.get(ns, 'move'))).toEqual(['198.51.100.40']);
    expect(await eventsFor(kit, ns, 'move', 'ClearAssignment')).toEqual([]);

    // A taken requested address, or an unknown pool, on a Service with an address: it keeps it and is warned.
    await annotate(ns, 'fresh', { 'ironlb.io/loadBalancerIPs': '198.51.100.50', 'ironlb.io/address-pool': null });
    await waitEventMatching(kit, ns, 'fresh', 'AllocationFailed', /198\.51\.100\.50.*keeps 198\.51\.100\.41|keeps 198\.51\.100\.41/);
    expect(ServiceKit.ips(await kit.get(ns, 'fresh'))).toEqual(['198.51.100.41']);
    await annotate(ns, 'fresh', { 'ironlb.io/loadBalancerIPs': null, 'ironlb.io/address-pool': 'nope' });
    await waitEventMatching(kit, ns, 'fresh', 'AllocationFailed', /"nope".*keeps 198\.51\.100\.41/);
    expect(ServiceKit.ips(await kit.get(ns, 'fresh'))).toEqual(['198.51.100.41']);
    await annotate(ns, 'fresh', { 'ironlb.io/address-pool': 'a' });

    // The same narrowed config with the opt-in: accepted, the Services outside it move with a Warning.
    await putConfig(kit, cfgNs, narrowed, { 'ironlb.io/allow-address-changes': 'true' });
    const inNewRange = /^198\.51\.100\.4[4-7]$/;
    await eventually('move on the new range', async () => (inNewRange.test(ServiceKit.ips(await kit.get(ns, 'move')).join()) ? true : undefined));
    await eventually('fresh on the new range', async () => (inNewRange.test(ServiceKit.ips(await kit.get(ns, 'fresh')).join()) ? true : undefined));
    const clear = await kit.waitEvent(ns, 'move', 'ClearAssignment');
    expect(clear.type).toBe('Warning');
    expect(clear.message).toContain('198.51.100.40');
    expect(ServiceKit.ips(await kit.get(ns, 'stay'))).toEqual(['198.51.100.50']);
    await eventually('config_stale back to 0', async () => ((await metric(ctl, 'ironlb_k8s_client_config_stale_bool')) === 0 ? true : undefined));
  });

  it('defect 5: Local Services share an address only in one namespace; a pool can forbid sharing across namespaces', async () => {
    const [ns1, ns2] = await Promise.all([namespace('d5a'), namespace('d5b')]);
    await putConfig(kit, cfgNs, 'address-pools:\n- name: open\n  protocol: layer2\n  addresses: [198.51.100.60-198.51.100.63]\n');
    await start();
    const local = (port: number): Parameters<ServiceKit['createLB']>[2] => ({ externalTrafficPolicy: 'Local', selector: { app: 'web' }, ports: [{ port, protocol: 'TCP' }] });
    const sharing = { 'ironlb.io/allow-shared-ip': 'web', 'ironlb.io/loadBalancerIPs': '198.51.100.60' };
    await kit.createLB(ns1, 'web-a', local(80), sharing);
    expect(await kit.waitIPs(ns1, 'web-a')).toEqual(['198.51.100.60']);
    // Same selector text, other namespace: other pods, maybe on other nodes. Refused.
    await kit.createLB(ns2, 'web-b', local(443), sharing);
    const failed = await kit.waitEvent(ns2, 'web-b', 'AllocationFailed');
    expect(failed.message).toMatch(/namespace/);
    expect(ServiceKit.ips(await kit.get(ns2, 'web-b'))).toEqual([]);
    // Same namespace and selector: shares.
    await kit.createLB(ns1, 'web-c', local(8080), sharing);
    expect(await kit.waitIPs(ns1, 'web-c')).toEqual(['198.51.100.60']);
    // Cluster policy across namespaces stays allowed (MetalLB compatible).
    const cluster = { 'ironlb.io/allow-shared-ip': 'api', 'ironlb.io/loadBalancerIPs': '198.51.100.61' };
    await kit.createLB(ns1, 'api-a', { ports: [{ port: 80, protocol: 'TCP' }] }, cluster);
    await kit.createLB(ns2, 'api-b', { ports: [{ port: 443, protocol: 'TCP' }] }, cluster);
    expect(await kit.waitIPs(ns1, 'api-a')).toEqual(['198.51.100.61']);
    expect(await kit.waitIPs(ns2, 'api-b')).toEqual(['198.51.100.61']);
  });

  it('defect 5: the pool key cross-namespace-sharing: false keeps a pool\'s shared addresses inside one namespace', async () => {
    const [ns1, ns2] = await Promise.all([namespace('d5c'), namespace('d5d')]);
    await putConfig(kit, cfgNs, 'address-pools:\n- name: closed\n  protocol: layer2\n  cross-namespace-sharing: false\n  addresses: [198.51.100.70-198.51.100.73]\n');
    await start();
    const cluster = { 'ironlb.io/allow-shared-ip': 'api', 'ironlb.io/loadBalancerIPs': '198.51.100.70' };
    await kit.createLB(ns1, 'x', { ports: [{ port: 80, protocol: 'TCP' }] }, cluster);
    expect(await kit.waitIPs(ns1, 'x')).toEqual(['198.51.100.70']);
    await kit.createLB(ns2, 'y', { ports: [{ port: 443, protocol: 'TCP' }] }, cluster);
    const failed = await kit.waitEvent(ns2, 'y', 'AllocationFailed');
    expect(failed.message).toMatch(/cross-namespace-sharing/);
    await kit.createLB(ns1, 'z', { ports: [{ port: 443, protocol: 'TCP' }] }, cluster);
    expect(await kit.waitIPs(ns1, 'z')).toEqual(['198.51.100.70']);
    expect(ServiceKit.ips(await kit.get(ns2, 'y'))).toEqual([]);
  });
});
