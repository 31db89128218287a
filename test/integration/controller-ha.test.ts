// Restarts and failover: a restart never moves an assigned address, and with two replicas only
// the Lease holder writes while the other takes over within seconds when it dies.
import * as k8s from '@kubernetes/client-node';
import { eventually, testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { startIronlb, stopAll, waitForLog, type IronlbProcess } from '../harness/processes';

jest.setTimeout(300_000);

/**
 * A replica's start-up (process start, first lists, 'caches synced'): not a product timer. The
 * repeat matrix saw two ts-node replicas at load 17-24 hold no Lease 30 s after spawn (3 of 10
 * runs); the start-up is waited for on its own, and only then the Lease within LEADER_MS.
 */
const STARTUP_MS = 120_000;
/** Acquiring a free Lease: one create, tried every renew period (0.5 s); 10 s for a loaded machine. */
const LEADER_MS = 10_000;

const CONFIG = `address-pools:
- name: big
  protocol: layer2
  addresses:
  - 198.51.100.0/24
  - 203.0.113.0/24
`;

async function snapshot(kit: ServiceKit, ns: string): Promise<Map<string, string[]>> {
  const list = await kit.core.listNamespacedService({ namespace: ns });
  const out = new Map<string, string[]>();
  for (const s of list.items) out.set(s.metadata?.name ?? '', ServiceKit.ips(s));
  return out;
}

function duplicates(snap: Map<string, string[]>): string[] {
  const seen = new Map<string, string>();
  const dups: string[] = [];
  for (const [name, ips] of snap) {
    for (const ip of ips) {
      const prev = seen.get(ip);
      if (prev) dups.push(`${ip}: ${prev} and ${name}`);
      seen.set(ip, name);
    }
  }
  return dups;
}

async function createMany(kit: ServiceKit, ns: string, prefix: string, n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (let i = 0; i < names.length; i += 20) {
    await Promise.all(names.slice(i, i + 20).map((name) => kit.createLB(ns, name)));
  }
}

describe('controller restarts and high availability', () => {
  const kc = testKubeConfig();
  const kit = new ServiceKit(kc);
  const cfgNs = uniqueName('ironlb-system');
  const ns = uniqueName('ha');
  const base = ['controller', '--kubeconfig', process.env.IRONLB_TEST_KUBECONFIG ?? '', '--config-namespace', cfgNs, '--metrics-addr', '127.0.0.1:0'];

  beforeAll(async () => {
    await kit.ensureNamespace(ns);
    await kit.applyConfig(cfgNs, 'config', CONFIG);
  });

  afterEach(async () => {
    await stopAll();
    await kit.deleteAllServices(ns);
  });

  /** SIGKILLs `ctl` from a watch event as soon as `count` Services named `prefix-*` have an address. */
  function killWhenServed(ctl: IronlbProcess, prefix: string, count: number): { done: Promise<void> } {
    const served = new Set<string>();
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/services`, () => kit.core.listNamespacedService({ namespace: ns }));
    let kill: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      kill = () => {
        ctl.kill('SIGKILL').then(resolve, resolve);
        void informer.stop();
      };
    });
    let fired = false;
    const see = (svc: k8s.V1Service): void => {
      const name = svc.metadata?.name ?? '';
      if (fired || !name.startsWith(`${prefix}-`) || ServiceKit.ips(svc).length === 0) return;
      served.add(name);
      if (served.size >= count) {
        fired = true;
        kill();
      }
    };
    informer.on('add', see);
    informer.on('update', see);
    void informer.start();
    return { done };
  }

  it('keeps every address through a SIGKILL in the middle of a batch: no duplicate, no move, all served', async () => {
    let ctl: IronlbProcess = startIronlb([...base, '--leader-elect=false']);
    await createMany(kit, ns, 'first', 200);
    await eventually('200 addresses', async () => ([...(await snapshot(kit, ns)).values()].filter((v) => v.length > 0).length === 200 ? true : undefined), 60_000);

    // The kill comes from a watch, the moment 20 of the second batch are served: the controller
    // is then still writing the other 180 (at its few hundred writes/s, a few hundred ms of work
    // against a watch event's few ms). Polling a list of 400 Services instead saw all of them
    // served before the kill in 1 of 9 runs at load ~6 (the list itself took that long).
    const killed = killWhenServed(ctl, 'second', 20);
    const second = createMany(kit, ns, 'second', 200);
    await killed.done;
    await second;
    await new Promise((r) => setTimeout(r, 500));
    const before = await snapshot(kit, ns);
    const servedBefore = [...before.values()].filter((v) => v.length > 0).length;
    expect(servedBefore).toBeGreaterThanOrEqual(220);
    expect(servedBefore).toBeLessThan(400); // the kill really happened mid-way
    expect(duplicates(before)).toEqual([]);

    ctl = startIronlb([...base, '--leader-elect=false']);
    await eventually('all 400 served', async () => ([...(await snapshot(kit, ns)).values()].filter((v) => v.length > 0).length === 400 ? true : undefined), 60_000);
    const after = await snapshot(kit, ns);
    expect(duplicates(after)).toEqual([]);
    const moved = [...before.entries()].filter(([name, ips]) => ips.length > 0 && JSON.stringify(after.get(name)) !== JSON.stringify(ips));
    expect(moved).toEqual([]);
  });

  it('lets only the Lease holder write and fails over to the standby within 5 s of its death', async () => {
    const leaseName = uniqueName('ironlb-controller');
    const coord = kc.makeApiClient(k8s.CoordinationV1Api);
    const a = startIronlb([...base, '--lease-name', leaseName, '--identity', 'replica-a']);
    const b = startIronlb([...base, '--lease-name', leaseName, '--identity', 'replica-b']);
    await Promise.all([waitForLog(a, 'caches synced', STARTUP_MS), waitForLog(b, 'caches synced', STARTUP_MS)]);
    const holder = await eventually('a leader', async () => (await coord.readNamespacedLease({ name: leaseName, namespace: cfgNs })).spec?.holderIdentity || undefined, LEADER_MS);
    const [leader, standby] = holder === 'replica-a' ? [a, b] : [b, a];
    const standbyId = holder === 'replica-a' ? 'replica-b' : 'replica-a';

    await kit.createLB(ns, 'ha-1');
    const ha1 = await kit.waitIPs(ns, 'ha-1');
    const ev = await kit.waitEvent(ns, 'ha-1', 'IPAllocated');
    expect(ev.source?.host).toBe(holder);
    expect(standby.logs().some((l) => l.reason === 'IPAllocated')).toBe(false);

    await leader.kill('SIGKILL');
    const t0 = Date.now();
    await eventually('the standby to take the Lease', async () =>
      (await coord.readNamespacedLease({ name: leaseName, namespace: cfgNs })).spec?.holderIdentity === standbyId ? true : undefined, 10_000, 50,
    );
    const failoverMs = Date.now() - t0;
    process.stderr.write(`controller failover took ${failoverMs} ms\n`);
    expect(failoverMs).toBeLessThanOrEqual(5000);
    await kit.createLB(ns, 'ha-2');
    await kit.waitIPs(ns, 'ha-2');
    const ev2 = await kit.waitEvent(ns, 'ha-2', 'IPAllocated');
    expect(ev2.source?.host).toBe(standbyId);
    expect(ServiceKit.ips(await kit.get(ns, 'ha-1'))).toEqual(ha1);
    expect(ServiceKit.ips(await kit.get(ns, 'ha-2'))).not.toEqual(ha1);
  });

  it('hands over at once on a graceful stop (SIGTERM releases the Lease)', async () => {
    const leaseName = uniqueName('ironlb-controller');
    const coord = kc.makeApiClient(k8s.CoordinationV1Api);
    const a = startIronlb([...base, '--lease-name', leaseName, '--identity', 'replica-a']);
    await waitForLog(a, 'caches synced', STARTUP_MS);
    await eventually('a leader', async () => ((await coord.readNamespacedLease({ name: leaseName, namespace: cfgNs })).spec?.holderIdentity === 'replica-a' ? true : undefined), LEADER_MS);
    const b = startIronlb([...base, '--lease-name', leaseName, '--identity', 'replica-b']);
    // The standby campaigns once its caches are synced; a fixed sleep instead of this wait made the
    // hand-over time include the standby's own start-up on a loaded machine.
    await waitForLog(b, 'caches synced');
    const t0 = Date.now();
    await a.kill('SIGTERM');
    await eventually('replica-b to lead', async () => ((await coord.readNamespacedLease({ name: leaseName, namespace: cfgNs })).spec?.holderIdentity === 'replica-b' ? true : undefined), 10_000, 50);
    expect(Date.now() - t0).toBeLessThan(2500);
    await b.kill();
  });
});
