// Issue 16, feature 5 on the kube-proxy LAN: the Service conditions with real speakers. The
// controller's ironlb.io/AddressAllocated names the pool and address; the owning speaker's
// ironlb.io/Announced names the node whose MAC answers the client's `arping`, and after that
// speaker is SIGKILLed it names the node that took over (and stays so: the old owner, gone or
// back, does not flap it back). With no ready pod left, the first ready speaker by name writes
// Announced False (NoReadyEndpoint). Pods: web-0 on node1, web-1 on node2.
//
// Bounds: the speakers here run --lease-duration 3 / --lease-renew 1, so a killed speaker is
// dropped within 3 s of its last renewal, and the heir re-elects and writes its condition at once
// (the writer's burst is 50 writes, one Service here). MOVE_MS leaves a loaded 2-core machine
// several times that, as in datapath.test.ts.
import type * as k8s from '@kubernetes/client-node';
import { eventually } from '../harness/kube';
import { L2Lab, LAB_POOL_CONFIG, type LabPod, type NodeHost } from '../harness/l2-lab';
import { waitForLog } from '../harness/processes';

jest.setTimeout(300_000);

const NS = 'default';
const PORT = 8090;
const MOVE_MS = 20_000;
/** As in datapath.test.ts: three ts-node speakers starting at once on a loaded 2-core machine. */
const SPEAKERS_START_MS = 180_000;
/** Long enough to see a flap back: several lease renewals (1 s) and election passes. */
const STEADY_MS = 4000;

describe('Service conditions on the kube-proxy LAN', () => {
  let l2: L2Lab;
  let pods: LabPod[] = [];

  beforeAll(async () => {
    l2 = await L2Lab.create({ kubeProxy: true, backends: false });
    await l2.kit.applyConfig('ironlb-system', 'config', LAB_POOL_CONFIG);
    const ctl = l2.startController();
    await waitForLog(ctl, 'caches synced');
    await Promise.all(l2.nodes.map((n) => waitForLog(l2.startSpeaker(n), 'speaker started', SPEAKERS_START_MS)));
    pods = [await l2.addPod(l2.node('node1'), { name: 'web-0', labels: { app: 'web' } }), await l2.addPod(l2.node('node2'), { name: 'web-1', labels: { app: 'web' } })];
  });

  afterAll(async () => {
    await l2?.destroy();
  });

  const condition = async (name: string, type: string): Promise<k8s.V1Condition | undefined> => (await l2.kit.get(NS, name)).status?.conditions?.find((c) => c.type === type);

  async function arpOwner(ip: string, not?: NodeHost): Promise<NodeHost> {
    return eventually(`one node answering ARP for ${ip}`, async () => {
      const r = await l2.lab.exec(l2.client, ['arping', '-c', '2', '-w', '4', '-I', 'eth0', ip], { allowFailure: true, timeoutMs: 10_000 });
      const macs = [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
      const n = macs.length === 1 ? l2.nodeByMac(macs[0]) : undefined;
      return n && n !== not ? n : undefined;
    }, MOVE_MS, 200);
  }

  const announcedBy = (name: string, node: string): Promise<k8s.V1Condition> =>
    eventually(`Announced naming ${node}`, async () => {
      const c = await condition(name, 'ironlb.io/Announced');
      return c?.status === 'True' && c.message.startsWith(`node "${node}" announces`) ? c : undefined;
    }, MOVE_MS, 100);

  it('Announced names the ARP owner, then the heir after the owner\'s speaker is killed; AddressAllocated names the pool', async () => {
    await l2.kit.createLB(NS, 'web', { selector: { app: 'web' }, ports: [{ port: PORT, protocol: 'TCP', targetPort: 80 }] });
    await l2.syncEndpoints(NS);
    const [ip] = await l2.kit.waitIPs(NS, 'web');
    const allocated = await eventually('AddressAllocated True', async () => {
      const c = await condition('web', 'ironlb.io/AddressAllocated');
      return c?.status === 'True' ? c : undefined;
    });
    expect(allocated).toMatchObject({ reason: 'Allocated', message: expect.stringMatching(new RegExp(`^${ip.replace(/\./g, '\\.')} from pool "`)) as unknown as string });

    const owner = await arpOwner(ip);
    const first = await announcedBy('web', owner.nodeName);
    expect(first).toMatchObject({ reason: 'Layer2', message: expect.stringContaining(`announces ${ip} with protocol layer2 on eth0 since `) as unknown as string });

    const t0 = Date.now();
    await owner.speaker?.kill('SIGKILL');
    const heir = await arpOwner(ip, owner);
    const second = await announcedBy('web', heir.nodeName);
    const ms = Date.now() - t0;
    process.stderr.write(`Announced rewritten for the heir ${heir.nodeName} ${ms} ms after SIGKILL of ${owner.nodeName}'s speaker\n`);
    expect(ms).toBeLessThan(MOVE_MS);
    // A change of owner keeps status True: lastTransitionTime stays; the message's "since" moves.
    expect(second.lastTransitionTime).toEqual(first.lastTransitionTime);
    // Steady while the old owner is gone: nobody flaps it back.
    const rv = (await l2.kit.get(NS, 'web')).metadata?.resourceVersion;
    await new Promise((r) => setTimeout(r, STEADY_MS));
    expect((await condition('web', 'ironlb.io/Announced'))?.message).toBe(second.message);
    expect((await l2.kit.get(NS, 'web')).metadata?.resourceVersion).toBe(rv);
    // Its speaker back: the election may give it the address again; whoever answers ARP is named, and it stays so.
    await waitForLog(l2.startSpeaker(owner), 'speaker started', SPEAKERS_START_MS);
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const now = await arpOwner(ip);
    const third = await announcedBy('web', now.nodeName);
    const rv2 = (await l2.kit.get(NS, 'web')).metadata?.resourceVersion;
    await new Promise((r) => setTimeout(r, STEADY_MS));
    expect((await condition('web', 'ironlb.io/Announced'))?.message).toBe(third.message);
    expect((await l2.kit.get(NS, 'web')).metadata?.resourceVersion).toBe(rv2);
  });

  it('no ready pod: Announced False, NoReadyEndpoint', async () => {
    for (const p of pods) await l2.stopPod(p);
    try {
      const c = await eventually('Announced False', async () => {
        const x = await condition('web', 'ironlb.io/Announced');
        return x?.status === 'False' ? x : undefined;
      }, MOVE_MS, 100);
      expect(c.reason).toBe('NoReadyEndpoint');
    } finally {
      for (const p of pods) await l2.startPod(p);
    }
  });
});
