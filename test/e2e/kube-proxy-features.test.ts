// Issue 16 features 3 (per pool), 4 and 6 on the real data path: kube-proxy v1.20.2 (iptables
// mode) in every node and a pod behind each node (web-1 on node1, web-2 on node2, web-3 on node3),
// so a client's traffic goes client → ironlb's ARP answer → node → kube-proxy's DNAT → pod.
// - Planned moves (docs/maintenance.md): a UDP Service with externalTrafficPolicy: Local; each pod
//   runs a UDP echo answering with its node's name, and under Local kube-proxy forwards only to
//   the node's own pod, so the answer names the node the client's traffic entered. Draining the
//   owner moves the address make-before-break: not one 10 ms probe lost, there and back.
// - Sticky addresses (docs/configuration.md, `release-delay`): a deleted Service's address is held
//   for the same namespace/name; another Service created meanwhile gets a different one; the
//   re-created Service gets it back and kube-proxy serves it again; no other Service's address
//   changes.
// - Data-path gating per pool (docs/failover.md, `datapath-check`): the speakers run without
//   --datapath-check; a pool with `datapath-check: kube-proxy` makes them probe kube-proxy's
//   /healthz. Stopping kube-proxy on the owner moves that pool's address only; another pool's
//   address on the same node stays. Owners written by hand from sha256("<node>#<ip>") computed with
//   coreutils (election.test.ts): 198.51.100.99 node1 < node3 < node2; 198.51.100.106 node1 <
//   node2 < node3.
// - Data-path gating per Service (the same docs): for an externalTrafficPolicy: Local Service of
//   that pool the endpoint nodes also ask kube-proxy's healthCheckNodePort. Its port refusing
//   connections on the owner (an iptables REJECT in node3: kube-proxy's health server for that
//   Service unreachable, the rest of the node fine) moves that Service only; another Local Service
//   owned by node3 stays. Orders by hand as above: 198.51.100.104 node3 < node2 < node1;
//   198.51.100.110 node3 < node2 < node1.
//
// Bounds: kube-proxy applies a change within --iptables-min-sync-period (1 s, its default) of
// seeing it; the data-path check fails a node after 2 checks 250 ms apart and lets it back after
// 2 s of success (DEFAULT_HEALTH_GATE); planned-move bounds come from the handover grace and the gratuitous burst (see
// ../harness/planned-move.ts); RULES_MS leaves a loaded 2-core machine many times kube-proxy's.
import { eventually } from '../harness/kube';
import { L2Lab, LAB_POOL_CONFIG, type LabPod, type NodeHost } from '../harness/l2-lab';
import { AFTER_MS, arpMacs, plannedMove, setDrain, speakersSeeEachOther } from '../harness/planned-move';
import { waitForLog } from '../harness/processes';
import { ECHO_PORT, Probe, startEcho } from '../harness/udp-probe';
import { DRAIN_LABEL } from '../../src/speaker/layer2/drain';
import type { ChildProcess } from 'node:child_process';

jest.setTimeout(600_000);

const NS = 'default';
const HTTP_PORT = 8090;
/** Sticky holds last this long: far longer than the test needs between delete and re-create. */
const RELEASE_DELAY = '10m';
const GATED_IP = '198.51.100.106';
const PLAIN_IP = '198.51.100.99';
const CONFIG = `${LAB_POOL_CONFIG}  release-delay: ${RELEASE_DELAY}
- name: gated
  protocol: layer2
  datapath-check: kube-proxy
  addresses:
  - 198.51.100.101-198.51.100.110
`;
/** kube-proxy's 1 s minimum sync period plus API watch latency, with room for a loaded machine. */
const RULES_MS = 20_000;
/** See datapath.test.ts: three speakers transpiling at once on a loaded 2-core machine. */
const SPEAKERS_START_MS = 180_000;

describe('on the kube-proxy data path: planned moves lose nothing, sticky addresses come back', () => {
  let l2: L2Lab;
  const pods = new Map<string, LabPod>();
  const echoes = new Map<string, ChildProcess>();
  let probe: Probe | undefined;

  /** The pod's UDP echo: runs in the pod's namespace, answers with its node's name. */
  function startPodEcho(pod: LabPod): void {
    echoes.set(pod.node.nodeName, startEcho(l2, { ...pod.host, nodeName: pod.node.nodeName, index: pod.node.index }));
  }

  beforeAll(async () => {
    l2 = await L2Lab.create({ kubeProxy: true, backends: false });
    await l2.kit.applyConfig('ironlb-system', 'config', CONFIG);
    const ctl = l2.startController();
    await waitForLog(ctl, 'caches synced');
    await Promise.all(l2.nodes.map((n) => waitForLog(l2.startSpeaker(n), 'speaker started', SPEAKERS_START_MS)));
    await speakersSeeEachOther(l2);
    for (const n of l2.nodes) {
      const pod = await l2.addPod(n, { name: `web-${n.index}`, labels: { app: 'web' } });
      pods.set(n.nodeName, pod);
      startPodEcho(pod);
    }
  }, SPEAKERS_START_MS + 180_000);

  afterAll(async () => {
    probe?.stop();
    for (const e of echoes.values()) e.kill('SIGKILL');
    await l2?.destroy();
  });

  async function curl(ip: string): Promise<string | undefined> {
    const r = await l2.lab.exec(l2.client, ['curl', '-s', '--max-time', '2', `http://${ip}:${HTTP_PORT}/`], { allowFailure: true, timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  async function httpService(name: string, loadBalancerIP?: string, externalTrafficPolicy: 'Cluster' | 'Local' = 'Cluster'): Promise<string> {
    await l2.kit.createLB(NS, name, { selector: { app: 'web' }, ports: [{ name: 'http', port: HTTP_PORT, protocol: 'TCP', targetPort: 80 }], externalTrafficPolicy, ...(loadBalancerIP ? { loadBalancerIP } : {}) });
    await l2.syncEndpoints(NS);
    const [ip] = await l2.kit.waitIPs(NS, name);
    return ip;
  }

  const ipOf = async (name: string): Promise<string[]> => (await l2.kit.waitIPs(NS, name)).sort();

  it('a drained owner hands a Local UDP Service over make-before-break through kube-proxy: no probe lost, there and back', async () => {
    await l2.kit.createLB(NS, 'pm-kp', {
      selector: { app: 'web' },
      ports: [{ name: 'echo', port: ECHO_PORT, protocol: 'UDP', targetPort: ECHO_PORT }],
      externalTrafficPolicy: 'Local',
    });
    await l2.syncEndpoints(NS);
    const [ip] = await l2.kit.waitIPs(NS, 'pm-kp');
    // No address on any interface: only kube-proxy's DNAT to the local pod can answer.
    for (const node of l2.nodes) expect((await l2.lab.ip(node.ns, ['-4', '-o', 'addr'])).stdout).not.toContain(ip);
    // Probe only once every node's kube-proxy has the rule for the address: a UDP probe that reaches
    // a node before its rule exists makes a conntrack entry without DNAT, and a probe every 10 ms
    // keeps that entry alive for good (kube-proxy 1.20 clears stale UDP entries for cluster IPs,
    // not for load-balancer IPs): seen in 2 of 3 runs as "no stable owner" at load ~17.
    for (const node of l2.nodes) {
      await eventually(`kube-proxy's rule for ${ip} in ${node.nodeName}`, async () => ((await l2.kubeProxyRules(node)).includes(`-d ${ip}/32`) ? true : undefined), RULES_MS, 250);
    }
    const p = (probe = new Probe(l2, ip));
    const old = l2.node(await eventually('a stable owner answering the probe through kube-proxy', async () => p.stableOwner(), RULES_MS, 100));
    expect(await arpMacs(l2, ip)).toEqual([old.mac]);

    /** The old node "goes down for maintenance": its pod's echo stops for AFTER_MS. */
    const breakDataPath = async (n: NodeHost): Promise<void> => {
      echoes.get(n.nodeName)?.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, AFTER_MS));
      startPodEcho(pods.get(n.nodeName) as LabPod);
    };
    const heir = await plannedMove({ l2, probe: p, breakDataPath }, old, () => setDrain(l2, old, true), `label ${DRAIN_LABEL}=true`);
    expect(heir).not.toBe(old);
    expect(await arpMacs(l2, ip)).toEqual([heir.mac]);
    // Ownership is hash-determined: without the label the address goes back, make-before-break too.
    const back = await plannedMove({ l2, probe: p, breakDataPath }, heir, () => setDrain(l2, old, false), `label ${DRAIN_LABEL} removed`);
    expect(back).toBe(old);
    expect(await arpMacs(l2, ip)).toEqual([old.mac]);
    p.stop();
    probe = undefined;
  });

  it('a deleted Service keeps its address for its re-created self; others get another one and keep theirs', async () => {
    const a = await httpService('sticky-a');
    const b = await httpService('sticky-b');
    expect(a).not.toBe(b);
    const aBefore = await ipOf('sticky-a');
    expect(await eventually('curl to sticky-a through kube-proxy', () => curl(a), RULES_MS, 200)).toMatch(/^web-[123]$/);

    await l2.kit.core.deleteNamespacedService({ name: 'sticky-a', namespace: NS });
    // Held, not in use: once the speakers saw the delete, nobody answers for it.
    await eventually(`no ARP answer for ${a} after its Service is deleted`, async () => ((await arpMacs(l2, a)).length === 0 ? true : undefined), RULES_MS, 200);
    // A new Service created during the hold is given another address (the pool has free ones).
    const c = await httpService('sticky-c');
    expect(c).not.toBe(a);
    // The same namespace/name, re-created: its old address back, served by kube-proxy again.
    const again = await httpService('sticky-a');
    expect(again).toBe(a);
    expect(await ipOf('sticky-a')).toEqual(aBefore);
    expect(await eventually('curl to the re-created sticky-a through kube-proxy', () => curl(a), RULES_MS, 200)).toMatch(/^web-[123]$/);
    const macs = await eventually(`one MAC answering ARP for ${a}`, async () => {
      const m = await arpMacs(l2, a);
      return m.length === 1 ? m : undefined;
    }, RULES_MS, 200);
    expect(l2.nodes.map((n) => n.mac)).toContain(macs[0]);
    // Deleting and re-creating one Service changed nobody else's address (MetalLB #2723).
    expect(await ipOf('sticky-b')).toEqual([b]);
    expect(await ipOf('sticky-c')).toEqual([c]);
    expect(await curl(b)).toMatch(/^web-[123]$/);
  });

  /** ms from `since` (epoch ms) to the node's speaker logging that it announces the Service (arping's 1 s pace is too coarse to time a move). */
  function announcedAfter(node: NodeHost, service: string, since: number): number | undefined {
    const at = node.speaker?.logs().find((l) => l.msg === 'serviceAnnounced' && l.service === `${NS}/${service}` && Date.parse(String(l.ts)) >= since)?.ts;
    return at === undefined ? undefined : Date.parse(String(at)) - since;
  }

  /** The node whose MAC alone answers ARP for ip (after a move both may answer for the handover grace). */
  async function soleOwner(ip: string, want: NodeHost, withinMs: number): Promise<number> {
    const t0 = Date.now();
    await eventually(`${want.nodeName} alone answering ARP for ${ip}`, async () => {
      const macs = await arpMacs(l2, ip);
      return macs.length === 1 && macs[0] === want.mac ? true : undefined;
    }, withinMs, 100);
    return Date.now() - t0;
  }

  it('per pool: kube-proxy stopped on the owner moves the gated pool\'s address only; back once it answers again', async () => {
    const [node1, node2] = [l2.node('node1'), l2.node('node2')];
    for (const n of l2.nodes) expect(n.speaker?.logs().some((l) => l.msg === 'a pool has datapath-check: checking this node\'s data path')).toBe(true);
    expect(await httpService('gated', GATED_IP)).toBe(GATED_IP);
    expect(await httpService('plain', PLAIN_IP)).toBe(PLAIN_IP);
    await soleOwner(GATED_IP, node1, RULES_MS);
    await soleOwner(PLAIN_IP, node1, RULES_MS);
    expect(await eventually('curl to the gated Service', () => curl(GATED_IP), RULES_MS, 200)).toMatch(/^web-[123]$/);

    const t0 = Date.now();
    await l2.stopKubeProxy(node1);
    // Detection (2 failed checks, ≤ 0.75 s) + a DATAPATH_DOWN heartbeat + node2's election and burst.
    const movedMs = await soleOwner(GATED_IP, node2, RULES_MS);
    process.stderr.write(`per-pool data-path gating: kube-proxy stopped on node1; node2 announced the gated address ${announcedAfter(node2, 'gated', t0)} ms later, and answered ARP alone by ${Date.now() - t0} ms\n`);
    // The other pool is not gated: its address stays on node1 (whose rules still forward, as a dead kube-proxy's do).
    expect(await arpMacs(l2, PLAIN_IP)).toEqual([node1.mac]);
    expect(await eventually('curl to the gated Service via node2', () => curl(GATED_IP), RULES_MS, 200)).toMatch(/^web-[123]$/);
    expect(movedMs).toBeLessThan(RULES_MS);

    await l2.startKubeProxy(node1);
    // Back after DEFAULT_HEALTH_GATE.holdMs (2 s) of success, then node2 hands it back within the grace.
    await soleOwner(GATED_IP, node1, RULES_MS);
    expect(await arpMacs(l2, PLAIN_IP)).toEqual([node1.mac]);
  });

  it("per Service: a Local Service whose healthCheckNodePort fails on its owner moves; another Local Service there stays", async () => {
    const [node2, node3] = [l2.node('node2'), l2.node('node3')];
    const [movingIP, stayingIP] = ['198.51.100.104', '198.51.100.110'];
    expect(await httpService('hc-moving', movingIP, 'Local')).toBe(movingIP);
    expect(await httpService('hc-staying', stayingIP, 'Local')).toBe(stayingIP);
    for (const node of l2.nodes) {
      await eventually(`kube-proxy's rules for both in ${node.nodeName}`, async () => ((await l2.kubeProxyRules(node)).includes(`-d ${movingIP}/32`) && (await l2.kubeProxyRules(node)).includes(`-d ${stayingIP}/32`) ? true : undefined), RULES_MS, 250);
    }
    await soleOwner(movingIP, node3, RULES_MS);
    await soleOwner(stayingIP, node3, RULES_MS);
    const port = (await l2.kit.core.readNamespacedService({ name: 'hc-moving', namespace: NS })).spec?.healthCheckNodePort;
    expect(port).toBeGreaterThan(0);
    // The real thing the speakers ask: kube-proxy's per-Service health server answers 200 on every
    // node (each has a local pod), from the LAN.
    for (const node of l2.nodes) {
      const code = async (): Promise<string | undefined> => {
        const r = await l2.lab.exec(l2.client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://${node.ipv4}:${port}/`], { allowFailure: true, timeoutMs: 10_000 });
        return r.stdout.trim() === '200' ? r.stdout.trim() : undefined;
      };
      await eventually(`kube-proxy's healthCheckNodePort answering 200 on ${node.nodeName}`, code, RULES_MS, 250);
    }

    const reject = ['-p', 'tcp', '--dport', String(port), '-j', 'REJECT', '--reject-with', 'tcp-reset'];
    const t0 = Date.now();
    await l2.lab.exec(node3, ['iptables', '-I', 'INPUT', ...reject]);
    // Detection: 2 failed checks 250 ms apart by node3 (itself) and node2 (ranked after it), then
    // node2's election and burst.
    const movedMs = await soleOwner(movingIP, node2, RULES_MS);
    process.stderr.write(`per-Service data-path gating: node3's healthCheckNodePort of hc-moving refused; node2 announced it ${announcedAfter(node2, 'hc-moving', t0)} ms later, and answered ARP alone by ${Date.now() - t0} ms\n`);
    expect(await arpMacs(l2, stayingIP)).toEqual([node3.mac]);
    expect(await eventually('curl to hc-moving via node2', () => curl(movingIP), RULES_MS, 200)).toBe('web-2');
    expect(await curl(stayingIP)).toBe('web-3');
    expect(node3.speaker?.logs().some((l) => l.msg === "a node's health check of a Local Service fails: passed over for it" && l.service === `${NS}/hc-moving`)).toBe(true);
    expect(movedMs).toBeLessThan(RULES_MS);

    await l2.lab.exec(node3, ['iptables', '-D', 'INPUT', ...reject]);
    // Back after DEFAULT_HEALTH_GATE.holdMs (2 s) of success, handed back within the grace.
    await soleOwner(movingIP, node3, RULES_MS);
    expect(await arpMacs(l2, stayingIP)).toEqual([node3.mac]);
  });
});
