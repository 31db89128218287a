// Issue 15 end to end: the seed's flow configured by MetalLB v0.13+ objects (an IPAddressPool and
// an L2Advertisement, applied with kubectl from manifests/crds) instead of the v0.12 ConfigMap.
// ServiceL2Status names the node whose MAC arping sees, also after the owner is killed; an
// L2Advertisement with `interfaces: [eth1]` makes only eth1 answer, on nodes with two NICs on two
// LANs. Oracles: the MACs the kernel gave each node's NICs, and the node name each node's backend
// answers with; nothing is read from ironlb's own records except the objects under test.
//
// Bounds, from the product's timers: heartbeats every 100 ms and 5 missed declare a node dead
// (0.5 s), then the survivor's pass writes its ServiceL2Status and deletes the dead node's (one
// create and one delete; a failed pass is retried after 5 s, RETRY_MS in src/k8s/status-objects.ts).
// MOVE_MS leaves a loaded 2-core machine several times that.
import { eventually } from '../harness/kube';
import { L2Lab, LAN_V4_PREFIX, type NodeHost } from '../harness/l2-lab';
import { waitForLog } from '../harness/processes';
import { addSecondLan, type SecondLink } from '../../scripts/lib/second-lan';
import { installCrds, kubectlOk } from '../integration/crd-support';

jest.setTimeout(300_000);

const NS = 'default';
const CONFIG_NS = 'ironlb-system';
const SECOND_PREFIX = '203.0.113';
const MOVE_MS = 20_000;
/** Three speakers transpiling at once on a loaded 2-core machine (see datapath.test.ts). */
const SPEAKER_START_MS = 180_000;

const OBJECTS = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: first-pool, namespace: ${CONFIG_NS}}
spec:
  addresses: [${LAN_V4_PREFIX}.90-${LAN_V4_PREFIX}.100]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: everywhere, namespace: ${CONFIG_NS}}
spec:
  ipAddressPools: [first-pool]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: second-lan, namespace: ${CONFIG_NS}}
spec:
  addresses: [${SECOND_PREFIX}.90-${SECOND_PREFIX}.95]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: eth1-only, namespace: ${CONFIG_NS}}
spec:
  ipAddressPools: [second-lan]
  interfaces: [eth1]
`;

interface L2StatusObject {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name: string }> };
}

describe('layer 2 from metallb.io objects (IPAddressPool + L2Advertisement)', () => {
  let l2: L2Lab;
  let second: SecondLink[];
  let clientEth1: SecondLink;

  beforeAll(async () => {
    l2 = await L2Lab.create();
    const links = await addSecondLan(l2.lab, [{ host: l2.client, ipv4: `${SECOND_PREFIX}.10/24` }, ...l2.nodes.map((n) => ({ host: n, ipv4: `${SECOND_PREFIX}.${10 + n.index}/24` }))]);
    [clientEth1, ...second] = links;
    const kubeconfig = l2.cluster.kubeconfig;
    await installCrds(kubeconfig);
    await kubectlOk(['apply', '-f', '-'], OBJECTS, kubeconfig);
    const ctl = l2.startController();
    const source = await waitForLog(ctl, 'configuration source');
    expect(source.source).toBe('metallb.io objects');
    await waitForLog(ctl, 'caches synced');
    // One at a time (see conflict.test.ts: three transpiling at once overran the worker's start timeout).
    for (const n of l2.nodes) await waitForLog(l2.startSpeaker(n), 'speaker started', SPEAKER_START_MS);
  }, SPEAKER_START_MS * 3 + 120_000);

  afterAll(async () => {
    await l2?.destroy();
  });

  async function arpingMacs(ip: string, ifname: 'eth0' | 'eth1', count = 3): Promise<string[]> {
    const r = await l2.lab.exec(l2.client, ['arping', '-c', String(count), '-w', String(count + 2), '-I', ifname, ip], { allowFailure: true, timeoutMs: 15_000 });
    return [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
  }

  /** The one node whose eth0 (or eth1) MAC answers ARP for ip on that LAN. */
  async function announcer(ip: string, ifname: 'eth0' | 'eth1' = 'eth0', not?: NodeHost): Promise<NodeHost> {
    const byMac = (mac: string): NodeHost | undefined => (ifname === 'eth0' ? l2.nodeByMac(mac) : l2.nodes.find((n) => second.find((s) => s.host.name === n.name)?.mac === mac));
    return eventually(`one node answering ARP for ${ip} on ${ifname}`, async () => {
      const macs = await arpingMacs(ip, ifname, 2);
      const node = macs.length === 1 ? byMac(macs[0]) : undefined;
      return node && node !== not ? node : undefined;
    }, MOVE_MS, 200);
  }

  async function l2Statuses(service: string): Promise<L2StatusObject[]> {
    const out = await kubectlOk(['get', 'servicel2statuses', '-A', '-l', `metallb.io/service-name=${service},metallb.io/service-namespace=${NS}`, '-o', 'json'], undefined, l2.cluster.kubeconfig);
    return (JSON.parse(out) as { items: L2StatusObject[] }).items;
  }

  /** Waits until exactly one ServiceL2Status exists for the Service and it names `node`. */
  async function statusNaming(service: string, node: NodeHost): Promise<L2StatusObject> {
    return eventually(`one ServiceL2Status for ${service} naming ${node.nodeName}`, async () => {
      const items = await l2Statuses(service);
      return items.length === 1 && items[0].status?.node === node.nodeName ? items[0] : undefined;
    }, MOVE_MS, 200);
  }

  async function curl(ip: string): Promise<string> {
    const r = await l2.lab.exec(l2.client, ['curl', '-s', '--max-time', '3', `http://${ip}:8090/`], { allowFailure: true, timeoutMs: 10_000 });
    return r.stdout.trim();
  }

  it('an L2Advertisement with interfaces: [eth1] answers on eth1 only', async () => {
    await l2.kit.createLB(NS, 'second', { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: 'second' } }, { 'metallb.universe.tf/address-pool': 'second-lan' });
    await l2.setEndpoints(NS, 'second', l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs(NS, 'second');
    expect(ip).toBe(`${SECOND_PREFIX}.90`);
    const owner = await announcer(ip, 'eth1');
    const ownerEth1 = second.find((s) => s.host.name === owner.name);
    expect(await arpingMacs(ip, 'eth1')).toEqual([ownerEth1?.mac]);
    // The same address asked for on the first LAN: no node answers there (eth1 answering shows
    // the owner is announcing by now).
    expect(await arpingMacs(ip, 'eth0')).toEqual([]);
    const status = await statusNaming('second', owner);
    expect(status.status).toEqual({ node: owner.nodeName, serviceName: 'second', serviceNamespace: NS, interfaces: [{ name: 'eth1' }] });
    expect(clientEth1.ipv4).toBe(`${SECOND_PREFIX}.10`);
  });

  it("serves the seed's flow; ServiceL2Status names the node arping sees, before and after the owner is killed", async () => {
    await l2.kit.createLB(NS, 'nginx-metallb', { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: 'nginx' } });
    await l2.setEndpoints(NS, 'nginx-metallb', l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs(NS, 'nginx-metallb');
    expect(ip).toBe(`${LAN_V4_PREFIX}.90`);
    await l2.addServiceAddressEverywhere([ip]);
    const owner = await announcer(ip);
    expect(await arpingMacs(ip, 'eth0')).toEqual([owner.mac]);
    expect(await curl(ip)).toBe(owner.nodeName);
    const before = await statusNaming('nginx-metallb', owner);
    // No interfaces on the L2Advertisement: every usable NIC of the node answers, both listed.
    expect(before.status).toEqual({ node: owner.nodeName, serviceName: 'nginx-metallb', serviceNamespace: NS, interfaces: [{ name: 'eth0' }, { name: 'eth1' }] });
    expect(before.metadata.labels?.['metallb.io/node']).toBe(owner.nodeName);

    await owner.speaker?.kill('SIGKILL');
    const next = await announcer(ip, 'eth0', owner);
    expect(await arpingMacs(ip, 'eth0')).toEqual([next.mac]);
    expect(await curl(ip)).toBe(next.nodeName);
    // The killed node cannot delete its object: the new owner does, once it counts it dead.
    const after = await statusNaming('nginx-metallb', next);
    expect(after.status?.node).toBe(next.nodeName);
    expect(after.metadata.labels?.['metallb.io/node']).toBe(next.nodeName);
  });
});
