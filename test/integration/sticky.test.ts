// Issue 16, feature 4: sticky addresses on the real API server. A pool's `release-delay` keeps a
// deleted Service's address for a new Service of the same namespace/name; others get it only when
// the pool has nothing else; without the key (default 0) the address is free at once, as in
// MetalLB; deleting one Service never changes another's address (MetalLB #2723). The expected
// addresses are written by hand from the ranges below (the allocator hands out the lowest free).
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig, uniqueName, eventually } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { pause, putConfig, startController } from './controller-kit';

jest.setTimeout(300_000);

/** The short delay of pool "brief"; the test waits for it to pass (plus the queue's own timer). */
const BRIEF_DELAY_S = 2;
const CONFIG = `address-pools:
- name: sticky
  protocol: layer2
  release-delay: 10m
  addresses:
  - 192.168.30.90-192.168.30.92
- name: plain
  protocol: layer2
  auto-assign: false
  addresses:
  - 192.168.31.90-192.168.31.91
- name: brief
  protocol: layer2
  auto-assign: false
  release-delay: ${BRIEF_DELAY_S}s
  addresses:
  - 192.168.32.90-192.168.32.91
- name: handover
  protocol: layer2
  auto-assign: false
  release-delay: 10m
  addresses:
  - 192.168.33.90-192.168.33.91
`;

describe('sticky addresses (release-delay)', () => {
  const kit = new ServiceKit(testKubeConfig());
  const cfgNs = uniqueName('ironlb-system');
  const ns = uniqueName('sticky');
  let controller: IronlbProcess;

  beforeAll(async () => {
    await kit.ensureNamespace(ns);
    await putConfig(kit, cfgNs, CONFIG);
    controller = startController(cfgNs, ['--leader-elect=false']);
    await waitForLog(controller, 'caches synced');
  });

  afterEach(async () => {
    await kit.deleteAllServices(ns);
  });

  afterAll(async () => {
    await stopAll();
  });

  const pool = (name: string) => ({ 'metallb.universe.tf/address-pool': name });
  const ip = async (name: string) => (await kit.waitIPs(ns, name))[0];
  const del = async (name: string) => {
    await kit.core.deleteNamespacedService({ name, namespace: ns });
    await eventually(`${name} gone`, async () => ((await kit.core.listNamespacedService({ namespace: ns })).items.some((s) => s.metadata?.name === name) ? undefined : true), 10_000);
  };

  it('a deleted Service\'s address goes back to a new Service of the same name; others get the rest, then it when nothing else is left; other Services keep theirs', async () => {
    await kit.createLB(ns, 'a');
    expect(await ip('a')).toBe('192.168.30.90');
    await kit.createLB(ns, 'b');
    expect(await ip('b')).toBe('192.168.30.91');
    await del('a');
    await kit.createLB(ns, 'c');
    expect(await ip('c')).toBe('192.168.30.92'); // .90 is held for "a"
    await kit.createLB(ns, 'a');
    expect(await ip('a')).toBe('192.168.30.90'); // back to its owner
    expect(await ip('b')).toBe('192.168.30.91');
    await del('a');
    await del('c');
    // Held: .90 (a, the older hold) and .92 (c); the pool has nothing else: the oldest hold goes.
    await kit.createLB(ns, 'd');
    expect(await ip('d')).toBe('192.168.30.90');
    await kit.createLB(ns, 'c');
    expect(await ip('c')).toBe('192.168.30.92'); // c's own hold survived the eviction
    expect(await ip('b')).toBe('192.168.30.91'); // never moved
  });

  it('deleting one of two Services sharing an address changes nothing for the other (MetalLB #2723)', async () => {
    const share = { 'metallb.universe.tf/allow-shared-ip': 'k' };
    await kit.createLB(ns, 's1', { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] }, share);
    const shared = await ip('s1');
    await kit.createLB(ns, 's2', { ports: [{ port: 81, protocol: 'TCP', targetPort: 81 }] }, share);
    expect(await ip('s2')).toBe(shared);
    await del('s1');
    await pause(1000);
    expect(await ip('s2')).toBe(shared);
    await kit.createLB(ns, 's1', { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] }, share);
    expect(await ip('s1')).toBe(shared);
  });

  it('without release-delay the address is free at once (MetalLB behaviour)', async () => {
    await kit.createLB(ns, 'p1', {}, pool('plain'));
    expect(await ip('p1')).toBe('192.168.31.90');
    await del('p1');
    await kit.createLB(ns, 'p2', {}, pool('plain'));
    expect(await ip('p2')).toBe('192.168.31.90');
  });

  it('after the delay, the address is free for anyone', async () => {
    await kit.createLB(ns, 'q1', {}, pool('brief'));
    expect(await ip('q1')).toBe('192.168.32.90');
    await del('q1');
    await kit.createLB(ns, 'q2', {}, pool('brief'));
    expect(await ip('q2')).toBe('192.168.32.91'); // within the delay: .90 is held
    await del('q2');
    await pause(BRIEF_DELAY_S * 1000 + 500); // the delay, plus a margin for the controller's timer
    await kit.createLB(ns, 'q3', {}, pool('brief'));
    expect(await ip('q3')).toBe('192.168.32.90');
  });

  // Last: it replaces the single controller with two replicas under leader election.
  it('holds survive a change of leader: they ride on the leader Lease and the next leader takes them over', async () => {
    await controller.kill('SIGTERM');
    const coord = testKubeConfig().makeApiClient(k8s.CoordinationV1Api);
    const leaseName = uniqueName('ironlb-controller');
    const lease = () => coord.readNamespacedLease({ name: leaseName, namespace: cfgNs });
    const replica = (id: string) => startController(cfgNs, ['--lease-name', leaseName, '--identity', id]);
    const a = replica('replica-a');
    // Start-up (not a product timer) apart from the Lease: two replicas at load 17-24 held no
    // Lease 30 s after spawn (controller-ha.test.ts has the numbers); then a free Lease in 10 s.
    await waitForLog(a, 'caches synced', 120_000);
    await eventually('replica-a to lead', async () => ((await lease().catch(() => undefined))?.spec?.holderIdentity === 'replica-a' ? true : undefined), 10_000);
    const b = replica('replica-b');
    await waitForLog(b, 'caches synced', 120_000);
    await kit.createLB(ns, 'h1', {}, pool('handover'));
    expect(await ip('h1')).toBe('192.168.33.90');
    await del('h1');
    // The next renewal (every 500 ms, LeaderElector's retry period) carries the hold.
    const held = await eventually('the hold in the leader Lease', async () => (await lease()).metadata?.annotations?.['ironlb.io/sticky-holds'], 10_000, 100);
    expect(held).toContain(`"key":"${ns}/h1"`);
    expect(held).toContain('"192.168.33.90"');
    await a.kill('SIGKILL');
    await eventually('replica-b to lead', async () => ((await lease()).spec?.holderIdentity === 'replica-b' ? true : undefined), 30_000, 100);
    await waitForLog(b, 'sticky holds taken over from the previous leader');
    await kit.createLB(ns, 'h2', {}, pool('handover'));
    expect(await ip('h2')).toBe('192.168.33.91'); // .90 is still held for h1
    await kit.createLB(ns, 'h1', {}, pool('handover'));
    expect(await ip('h1')).toBe('192.168.33.90'); // back to its owner under the new leader
  });
});
