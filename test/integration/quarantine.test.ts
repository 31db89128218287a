// Issue 16, feature 1, the controller's side on the real API server: a speaker Lease listing an
// address in ironlb.io/address-conflicts (as a speaker writes it when its probe was answered by
// another host) quarantines the address: the Service showing it moves to the next address, nobody
// else gets it, a Service that requested it keeps it; once no Lease lists it for --conflict-hold
// it is handed out again. Expected addresses are written by hand (lowest free first).
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { pause, putConfig, startController } from './controller-kit';

jest.setTimeout(90_000);

const HOLD_S = 2;
const CONFIG = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 192.168.40.90-192.168.40.93
`;

describe('controller quarantine of addresses in conflict', () => {
  const kc = testKubeConfig();
  const kit = new ServiceKit(kc);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const cfgNs = uniqueName('ironlb-system');
  const ns = uniqueName('quarantine');
  let controller: IronlbProcess;

  const lease = (conflicts: Record<string, string> | undefined): k8s.V1Lease => ({
    metadata: {
      name: 'ironlb-speaker-node1',
      namespace: cfgNs,
      labels: { 'app.kubernetes.io/name': 'ironlb', 'app.kubernetes.io/component': 'speaker' },
      annotations: conflicts ? { 'ironlb.io/address-conflicts': JSON.stringify(conflicts) } : {},
    },
    spec: { holderIdentity: 'node1', leaseDurationSeconds: 6 },
  });
  const ip = async (name: string) => (await kit.waitIPs(ns, name))[0];
  const report = async (conflicts: Record<string, string> | undefined) => {
    const cur = await coord.readNamespacedLease({ name: 'ironlb-speaker-node1', namespace: cfgNs });
    const body = lease(conflicts);
    body.metadata = { ...body.metadata, resourceVersion: cur.metadata?.resourceVersion };
    await coord.replaceNamespacedLease({ name: 'ironlb-speaker-node1', namespace: cfgNs, body });
  };

  beforeAll(async () => {
    await kit.ensureNamespace(ns);
    await putConfig(kit, cfgNs, CONFIG);
    await coord.createNamespacedLease({ namespace: cfgNs, body: lease(undefined) });
    controller = startController(cfgNs, ['--leader-elect=false', '--conflict-hold', String(HOLD_S)]);
    await waitForLog(controller, 'caches synced');
  });

  afterAll(async () => {
    await kit.deleteAllServices(ns);
    await stopAll();
  });

  it('moves the Service off a reported address, keeps a requested one, and frees it after the hold', async () => {
    await kit.createLB(ns, 'a');
    expect(await ip('a')).toBe('192.168.40.90');
    await kit.createLB(ns, 'r', { loadBalancerIP: '192.168.40.91' });
    expect(await ip('r')).toBe('192.168.40.91');
    await report({ '192.168.40.90': '02:00:00:00:00:99', '192.168.40.91': '02:00:00:00:00:99' });
    await waitForLog(controller, 'address quarantined');
    await kit.waitIPs(ns, 'a');
    const moved = await (async () => {
      for (let i = 0; i < 100; i++) {
        const got = await ip('a');
        if (got !== '192.168.40.90') return got;
        await pause(100);
      }
      return undefined;
    })();
    expect(moved).toBe('192.168.40.92');
    expect(await ip('r')).toBe('192.168.40.91'); // asked for it: keeps it
    await kit.createLB(ns, 'b');
    expect(await ip('b')).toBe('192.168.40.93');
    // The conflict clears: after the hold .90 is free again.
    await report(undefined);
    await waitForLog(controller, 'address out of quarantine', HOLD_S * 1000 + 10_000);
    await kit.createLB(ns, 'c');
    expect(await ip('c')).toBe('192.168.40.90');
    const ev = (await kit.events(ns, 'a')).find((e) => e.reason === 'ClearAssignment');
    expect(ev?.message).toContain('192.168.40.90');
  });
});
