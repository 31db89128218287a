// The controller running from MetalLB's metallb.io objects on the real API server (issue 15):
// `--config-source auto` picks the objects when an IPAddressPool exists, logs it, and puts a
// Warning Event on a ConfigMap that is there too; the objects' configuration goes through the
// same gate as the ConfigMap's (a change that would renumber a live Service is refused with a
// Warning on the pools and config_stale 1; the opt-in annotation on a pool lets it through).
import { eventually, testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { mergePatch } from '../../src/k8s/client';
import { metric, putConfig, startController, waitEventMatching } from './controller-kit';
import { installCrds, kubectl, kubectlOk } from './crd-support';

jest.setTimeout(120_000);

const pool = (ns: string, name: string, addresses: string[], annotations = ''): string =>
  `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${name}, namespace: ${ns}${annotations}}\nspec:\n  addresses: [${addresses.map((a) => `"${a}"`).join(', ')}]\n`;
const l2 = (ns: string): string => `---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2, namespace: ${ns}}\n`;

describe('controller with --config-source', () => {
  const kit = new ServiceKit(testKubeConfig());
  let cfgNs = '';
  let svcNs = '';
  let controller: IronlbProcess | undefined;
  const apply = (text: string): Promise<string> => kubectlOk(['apply', '-f', '-'], text);
  const jsonpath = async (kind: string, name: string, path: string): Promise<string> => {
    const r = await kubectl(['get', kind, name, '-n', cfgNs, '-o', `jsonpath=${path}`]);
    return r.code === 0 ? r.stdout : '';
  };

  beforeAll(async () => {
    await installCrds();
  });

  beforeEach(async () => {
    cfgNs = uniqueName('crd-cfg');
    svcNs = uniqueName('crd-svc');
    await kit.ensureNamespace(cfgNs);
    await kit.ensureNamespace(svcNs);
  });

  afterEach(async () => {
    await stopAll();
    controller = undefined;
    await kit.deleteAllServices(svcNs);
  });

  it('auto: the objects win over a ConfigMap, which gets a Warning; a renumbering change is refused until a pool opts in', async () => {
    await putConfig(kit, cfgNs, 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses: [198.51.100.120/30]\n');
    await apply(pool(cfgNs, 'objects', ['198.51.100.124/30']) + l2(cfgNs));
    controller = startController(cfgNs, ['--leader-elect=false']);
    const chosen = await waitForLog(controller, 'configuration source');
    expect(chosen).toMatchObject({ source: 'metallb.io objects', namespace: cfgNs });
    expect(String(chosen.reason)).toContain('the ConfigMap is ignored');
    const ignored = await waitEventMatching(kit, cfgNs, 'config', 'ConfigIgnored', /metallb\.io objects/);
    expect(ignored.type).toBe('Warning');

    await kit.createLB(svcNs, 'web');
    expect(await kit.waitIPs(svcNs, 'web')).toEqual(['198.51.100.124']);
    // MetalLB's status for its tooling: pool counts (written every second by the leader), ConfigurationState.
    await eventually('the pool status', async () => (/^1 3 0 0$/.test(await jsonpath('ipaddresspool', 'objects', '{.status.assignedIPv4} {.status.availableIPv4} {.status.assignedIPv6} {.status.availableIPv6}')) ? true : undefined));
    await eventually('ConfigurationState Valid', async () => ((await jsonpath('configurationstate', 'controller', '{.status.result}')) === 'Valid' ? true : undefined)).catch(async (e) => {
      throw new Error(`${String(e)}\n${(await kubectl(['get', 'configurationstate', '-A', '-o', 'yaml'])).stdout}\n${(controller as IronlbProcess).output().slice(-3000)}`);
    });

    // Moving the pool would take web's address: refused, on every IPAddressPool, stale.
    await apply(pool(cfgNs, 'objects', ['198.51.100.200/30']));
    const refused = await waitEventMatching(kit, cfgNs, 'objects', 'IncompatibleConfig', new RegExp(`${svcNs}/web`));
    expect(refused.type).toBe('Warning');
    expect(refused.message).toContain('ironlb.io/allow-address-changes: "true" on an IPAddressPool');
    expect(await metric(controller, 'ironlb_k8s_client_config_stale_bool')).toBe(1);
    const invalid = await eventually('ConfigurationState Invalid', async () => {
      const text = await jsonpath('configurationstate', 'controller', '{.status.result}: {.status.errorSummary}');
      return text.startsWith('Invalid: ') ? text : undefined;
    });
    expect(invalid).toContain(`${svcNs}/web`);
    await kit.createLB(svcNs, 'second');
    expect(await kit.waitIPs(svcNs, 'second')).toEqual(['198.51.100.125']); // the last good config is in force
    expect(ServiceKit.ips(await kit.get(svcNs, 'web'))).toEqual(['198.51.100.124']);

    // The opt-in on the pool: accepted, both Services move into the new range.
    await apply(pool(cfgNs, 'objects', ['198.51.100.200/30'], ', annotations: {ironlb.io/allow-address-changes: "true"}'));
    const moved = /^198\.51\.100\.20[0-3]$/;
    await eventually('web on the new range', async () => (moved.test(ServiceKit.ips(await kit.get(svcNs, 'web')).join()) ? true : undefined));
    await eventually('second on the new range', async () => (moved.test(ServiceKit.ips(await kit.get(svcNs, 'second')).join()) ? true : undefined));
    await eventually('config_stale back to 0', async () => ((await metric(controller as IronlbProcess, 'ironlb_k8s_client_config_stale_bool')) === 0 ? true : undefined));
  });

  it('--config-source=configmap reads the ConfigMap even when IPAddressPools exist', async () => {
    await putConfig(kit, cfgNs, 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses: [198.51.100.130/31]\n');
    await apply(pool(cfgNs, 'objects', ['198.51.100.132/31']) + l2(cfgNs));
    controller = startController(cfgNs, ['--leader-elect=false', '--config-source', 'configmap']);
    expect(await waitForLog(controller, 'configuration source')).toMatchObject({ source: 'ConfigMap', reason: '--config-source=configmap' });
    await kit.createLB(svcNs, 'web');
    expect(await kit.waitIPs(svcNs, 'web')).toEqual(['198.51.100.130']);
  });

  it('auto switches to the objects when the first IPAddressPool appears while running', async () => {
    await putConfig(kit, cfgNs, 'address-pools:\n- name: cm\n  protocol: layer2\n  addresses: [198.51.100.140/31]\n');
    // The choice is looked at again every --config-source-recheck seconds (1 here, 30 by default).
    controller = startController(cfgNs, ['--leader-elect=false', '--config-source-recheck', '1']);
    expect(await waitForLog(controller, 'configuration source')).toMatchObject({ source: 'ConfigMap' });
    await kit.createLB(svcNs, 'web');
    expect(await kit.waitIPs(svcNs, 'web')).toEqual(['198.51.100.140']);
    // Objects that keep web's address: the switch is a configuration change like any other.
    await apply(pool(cfgNs, 'objects', ['198.51.100.140/31', '198.51.100.150/32']) + l2(cfgNs));
    expect(await waitForLog(controller, 'configuration source changed')).toMatchObject({ source: 'metallb.io objects', was: 'configmap' });
    await kit.createLB(svcNs, 'next', {}, { 'ironlb.io/loadBalancerIPs': '198.51.100.150' });
    expect(await kit.waitIPs(svcNs, 'next')).toEqual(['198.51.100.150']);
    expect(ServiceKit.ips(await kit.get(svcNs, 'web'))).toEqual(['198.51.100.140']);
  });

  it('serviceAllocation: restricted pools serve only their namespaces and Services, by priority; requests outside them are refused with the restriction named', async () => {
    const teamNs = svcNs;
    const otherNs = uniqueName('crd-other');
    await kit.ensureNamespace(otherNs);
    const restrictedPools = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: team, namespace: ${cfgNs}}
spec:
  addresses: ["198.51.100.160/31"]
  serviceAllocation: {namespaces: [${teamNs}]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: gold, namespace: ${cfgNs}}
spec:
  addresses: ["198.51.100.164/31"]
  serviceAllocation: {priority: 10, namespaceSelectors: [{matchLabels: {tier: gold}}]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: open, namespace: ${cfgNs}}
spec:
  addresses: ["198.51.100.168/31"]
`;
    await apply(restrictedPools + l2(cfgNs));
    controller = startController(cfgNs, ['--leader-elect=false']);
    await waitForLog(controller, 'caches synced');
    try {
      await kit.createLB(teamNs, 'mine');
      expect(await kit.waitIPs(teamNs, 'mine')).toEqual(['198.51.100.160']);
      await kit.createLB(otherNs, 'plain');
      expect(await kit.waitIPs(otherNs, 'plain')).toEqual(['198.51.100.168']);

      // By pool annotation and by IP: refused, with the restriction named; nothing assigned.
      await kit.createLB(otherNs, 'by-pool', {}, { 'metallb.io/address-pool': 'team' });
      const byPool = await waitEventMatching(kit, otherNs, 'by-pool', 'AllocationFailed', /only serves/);
      expect(byPool.message).toBe(`Failed to allocate IP for "${otherNs}/by-pool": pool "team" only serves namespaces ${teamNs}; the Service is in namespace "${otherNs}", without labels`);
      await kit.createLB(otherNs, 'by-ip', { loadBalancerIP: '198.51.100.165' });
      const byIP = await waitEventMatching(kit, otherNs, 'by-ip', 'AllocationFailed', /only serves/);
      expect(byIP.message).toContain('198.51.100.165 is in pool "gold", and pool "gold" only serves namespaces labelled tier=gold');
      expect(ServiceKit.ips(await kit.get(otherNs, 'by-pool'))).toEqual([]);
      expect(ServiceKit.ips(await kit.get(otherNs, 'by-ip'))).toEqual([]);

      // Labelling the namespace tier=gold lets by-ip have its address (the controller watches namespace labels).
      await kit.core.patchNamespace({ name: otherNs, body: { metadata: { labels: { tier: 'gold' } } } }, mergePatch);
      expect(await kit.waitIPs(otherNs, 'by-ip')).toEqual(['198.51.100.165']);
      // And gold (priority 10) now comes before open for a new Service of that namespace.
      await kit.createLB(otherNs, 'fresh');
      expect(await kit.waitIPs(otherNs, 'fresh')).toEqual(['198.51.100.164']);
      // plain keeps the open pool's address: nothing is renumbered.
      expect(ServiceKit.ips(await kit.get(otherNs, 'plain'))).toEqual(['198.51.100.168']);
    } finally {
      await kit.deleteAllServices(otherNs);
    }
  });
});
