// Issue 16, feature 4: sticky addresses on the real API server. A pool's `release-delay` keeps a
// deleted Service's address for a new Service of the same namespace/name; others get it only when
// the pool has nothing else; without the key (default 0) the address is free at once, as in
// MetalLB; deleting one Service never changes another's address (MetalLB #2723). The expected
// addresses are written by hand from the ranges below (the allocator hands out the lowest free).
import { testKubeConfig, uniqueName, eventually } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { pause, putConfig, startController } from './controller-kit';

jest.setTimeout(90_000);

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
});
