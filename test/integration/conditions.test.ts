// Issue 16, feature 5 (the controller's half): ironlb.io/AddressAllocated on the real API server.
// The controller writes it True (pool and address) or False (why not) in the same status write as
// the address, keeps conditions of other types (a speaker's ironlb.io/Announced, anybody's), and
// writes nothing more once Services show what they should. Writes are counted from a watch on the
// test's namespace (every status write that changes something is one MODIFIED event).
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig, uniqueName, eventually } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { metric, pause, putConfig, startController } from './controller-kit';

jest.setTimeout(90_000);

const T = 'ironlb.io/AddressAllocated';
const CONFIG = `address-pools:
- name: cond
  protocol: layer2
  addresses:
  - 192.168.40.90-192.168.40.91
`;
/** How long the test watches for writes that should not come: far beyond the controller's queue delays (ms, not s). */
const QUIET_MS = 3000;

const ss = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

/** MODIFIED events per Service name in one namespace, from a watch. */
async function countWrites(kc: k8s.KubeConfig, ns: string): Promise<{ counts: Map<string, number>; stop: () => void }> {
  const counts = new Map<string, number>();
  const req = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${ns}/services`, {}, (type: string, obj: k8s.V1Service) => {
    if (type === 'MODIFIED') counts.set(obj.metadata?.name ?? '', (counts.get(obj.metadata?.name ?? '') ?? 0) + 1);
  }, () => undefined);
  return { counts, stop: () => req.abort() };
}

describe('Service condition ironlb.io/AddressAllocated', () => {
  const kit = new ServiceKit(testKubeConfig());
  const cfgNs = uniqueName('ironlb-system');
  let ns: string;
  let controller: IronlbProcess;

  const cond = async (name: string, type = T): Promise<k8s.V1Condition | undefined> => (await kit.get(ns, name)).status?.conditions?.find((c) => c.type === type);
  const waitCond = (name: string, status: string, reason: string): Promise<k8s.V1Condition> =>
    eventually(`${name}: ${T} ${status}/${reason}`, async () => {
      const c = await cond(name);
      return c?.status === status && c.reason === reason ? c : undefined;
    });

  beforeAll(async () => {
    await putConfig(kit, cfgNs, CONFIG);
  });

  afterEach(async () => {
    await kit.deleteAllServices(ns);
    await controller.kill();
  });

  afterAll(async () => {
    await stopAll();
  });

  async function start(extra: string[] = []): Promise<void> {
    ns = uniqueName('cond');
    await kit.ensureNamespace(ns);
    controller = startController(cfgNs, ['--leader-elect=false', ...extra]);
    await waitForLog(controller, 'caches synced');
  }

  it('True with pool and address, False with the reason; one write per Service, none when nothing changed; other conditions stay', async () => {
    await start();
    const watch = await countWrites(kit.kc, ns);
    try {
      const writes0 = await metric(controller, 'ironlb_k8s_client_updates_total');
      await kit.createLB(ns, 'a');
      const a = await waitCond('a', 'True', 'Allocated');
      await pause(QUIET_MS);
      // The controller's own count: one status write for the new Service, no second one after it.
      expect(await metric(controller, 'ironlb_k8s_client_updates_total')).toBe((writes0 ?? 0) + 1);
      expect(a.message).toBe('192.168.40.90 from pool "cond"');
      expect(a.observedGeneration).toBe((await kit.get(ns, 'a')).metadata?.generation);
      await kit.createLB(ns, 'b');
      expect((await waitCond('b', 'True', 'Allocated')).message).toBe('192.168.40.91 from pool "cond"');
      // The pool is full now: no address, and the condition says why.
      await kit.createLB(ns, 'c');
      expect((await waitCond('c', 'False', 'PoolExhausted')).message).toMatch(/"cond"/);
      // A requested address outside every pool; one held by another Service.
      await kit.createLB(ns, 'd', { loadBalancerIP: '10.255.0.1' });
      expect((await waitCond('d', 'False', 'AddressNotInAnyPool')).message).toBe('"10.255.0.1" is not allowed in config');
      await kit.createLB(ns, 'e', { loadBalancerIP: '192.168.40.90' });
      expect((await waitCond('e', 'False', 'AddressInUse')).message).toBe(`192.168.40.90 is already used by ${ns}/a; to share it both services need the same allow-shared-ip key`);
      await kit.createLB(ns, 'f', {}, { 'ironlb.io/loadBalancerIPs': 'nope' });
      expect((await waitCond('f', 'False', 'InvalidRequest')).message).toBe('"nope" is not a valid IP address');

      await pause(QUIET_MS);
      // One status write per Service (address and condition together, or the condition alone).
      expect(Object.fromEntries(watch.counts)).toEqual({ a: 1, b: 1, c: 1, d: 1, e: 1, f: 1 });
      const rvs = await Promise.all(['a', 'b', 'c'].map(async (n) => (await kit.get(ns, n)).metadata?.resourceVersion));
      const writes = await metric(controller, 'ironlb_k8s_client_updates_total');
      await pause(QUIET_MS);
      expect(await Promise.all(['a', 'b', 'c'].map(async (n) => (await kit.get(ns, n)).metadata?.resourceVersion))).toEqual(rvs);
      expect(await metric(controller, 'ironlb_k8s_client_updates_total')).toBe(writes);

      // Another writer's conditions (a speaker's Announced, a foreign one) survive the controller's writes.
      const since = new Date('2026-01-02T03:04:05Z');
      const foreign = [
        { type: 'ironlb.io/Announced', status: 'True', reason: 'Layer2', message: 'node "n1" answers ARP on eth0', lastTransitionTime: since },
        { type: 'example.com/Audited', status: 'False', reason: 'Pending', message: 'waiting', lastTransitionTime: since },
      ];
      await kit.core.patchNamespacedServiceStatus({ name: 'c', namespace: ns, body: { status: { conditions: foreign } } }, ss);
      // Free an address: c gets it (address and AddressAllocated written; the others' conditions stay).
      const aTransition = a.lastTransitionTime;
      await kit.core.deleteNamespacedService({ name: 'b', namespace: ns });
      expect((await waitCond('c', 'True', 'Allocated')).message).toBe('192.168.40.91 from pool "cond"');
      const c = await kit.get(ns, 'c');
      expect(c.status?.conditions?.map((x) => x.type).sort()).toEqual(['example.com/Audited', T, 'ironlb.io/Announced']);
      expect(c.status?.conditions?.find((x) => x.type === 'ironlb.io/Announced')).toMatchObject({ message: 'node "n1" answers ARP on eth0', lastTransitionTime: since });
      // A's condition did not change, nor its transition time.
      expect((await cond('a'))?.lastTransitionTime).toEqual(aTransition);
    } finally {
      watch.stop();
    }
  });

  it('--service-conditions=false writes none (the same one write per Service for the address)', async () => {
    await start(['--service-conditions=false']);
    const watch = await countWrites(kit.kc, ns);
    try {
      await kit.createLB(ns, 'a');
      await kit.waitIPs(ns, 'a');
      await kit.createLB(ns, 'b');
      await kit.waitIPs(ns, 'b');
      await kit.createLB(ns, 'c');
      await pause(QUIET_MS);
      expect(Object.fromEntries(watch.counts)).toEqual({ a: 1, b: 1 });
      expect(await cond('a')).toBeUndefined();
      expect(await cond('c')).toBeUndefined();
    } finally {
      watch.stop();
    }
  });
});
