// The layer-2 test ground of issue 5: a LAN (bridge) with node namespaces, a client namespace,
// and the test's own namespace attached so that one kube-apiserver on the LAN serves both the
// test process and the speakers. Nodes ARP-answer only for their own eth0 address
// (arp_ignore=1/arp_announce=2): only ironlb answers for Service addresses. Two data paths:
//
// - the stand-in for kube-proxy in IPVS mode (default): Service addresses on lo
//   (addServiceAddressEverywhere) and a small HTTP backend per node answering with the node's name;
// - `kubeProxy: true`: a real kube-proxy (iptables mode) per node and pods behind the nodes
//   (addPod), each answering with its own name; traffic goes client → ARP owner → kube-proxy's
//   rules → pod, on a routed pod network (node i: 198.18.i.0/24, routes to the others' via the LAN).
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Lab, type Host } from './netns';
import { destroyCluster, kubeconfigYaml, startCluster, type ClusterInfo } from './kube-cluster';
import { httpGet, natRules, podCidr, type HttpAnswer } from './kube-proxy';
import { KubeProxies, routePodNetwork, type StopKubeProxyOptions } from './kube-proxy-nodes';
import { childLauncher, type Launched, type Launcher } from './launcher';
import { TestKubelet, type LabPod, type PodSpec } from './pods';
import { startIronlb, type IronlbProcess } from './processes';
import { ServiceKit } from './services';
import { lockRootLan, type HeldLock } from './root-lan-lock';
import { ensureHeartbeatSecret } from '../../src/speaker/membership/heartbeat-store';

/** Where the speakers keep their Leases and read their heartbeat key (the manifests' namespace). */
const SPEAKER_NAMESPACE = 'ironlb-system';

const run = promisify(execFile);

export type { LabPod, PodSpec } from './pods';
export type { HttpAnswer } from './kube-proxy';
export type { StopKubeProxyOptions } from './kube-proxy-nodes';

export const LAN_V4_PREFIX = '198.51.100';
export const LAN_V6_PREFIX = '2001:db8:100::';
export const ROOT_V4 = `${LAN_V4_PREFIX}.1`;

/** The seed's pool, moved into the lab's LAN: eleven addresses, layer 2. */
export const LAB_POOL_CONFIG = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - ${LAN_V4_PREFIX}.90-${LAN_V4_PREFIX}.100
`;

export interface NodeHost extends Host {
  nodeName: string;
  /** 1-based; node i's pods are in 198.18.i.0/24. */
  index: number;
  backend?: ReturnType<Lab['spawn']>;
  speaker?: IronlbProcess;
  /** The node's kube-proxy while it runs (`kubeProxy: true`). */
  kubeProxy?: Launched;
}

/** The user kube-proxy authenticates as: bound to ClusterRole system:node-proxier by the server's bootstrap policy. */
export const KUBE_PROXY_USER = 'system:kube-proxy';

export interface L2LabOptions {
  nodes?: number;
  backendPort?: number;
  /** Where the API server keeps its data (default: a new temporary directory). */
  clusterDir?: string;
  /** false: start no HTTP backends on the nodes (the caller starts its own, e.g. detached). */
  backends?: boolean;
  /** Run a real kube-proxy (iptables mode) in each node and route a pod network behind the nodes. */
  kubeProxy?: boolean;
  /** How kube-proxy and pod servers are started (default: children of this process). */
  launcher?: Launcher;
}

/** Tiny HTTP backend: answers every request on port `port` with the node's name. */
export function backendScript(nodeName: string, port: number): string {
  return `require('http').createServer((q,s)=>{s.end(${JSON.stringify(nodeName)}+'\\n')}).listen(${port},'::',()=>console.log('listening'))`;
}

export class L2Lab {
  readonly nodes: NodeHost[] = [];
  client!: Host;
  cluster!: ClusterInfo;
  kc!: k8s.KubeConfig;
  kit!: ServiceKit;
  controller?: IronlbProcess;
  /** The pods' kubelet and endpoint controller (`kubeProxy: true`). */
  kubelet?: TestKubelet;
  private proxies?: KubeProxies;
  private clusterDir = '';
  private rootIf = '';
  private rootLock?: HeldLock;
  /** requestVia has turned ICMP redirects off in the client. */
  private clientIgnoresRedirects = false;

  private constructor(readonly lab: Lab) {}

  static async create(opts: L2LabOptions = {}): Promise<L2Lab> {
    const rootLock = await lockRootLan();
    let lab: Lab;
    try {
      lab = await Lab.create();
    } catch (e) {
      await rootLock.release();
      throw e;
    }
    const l2 = new L2Lab(lab);
    l2.rootLock = rootLock;
    try {
      await l2.attachRoot();
      l2.clusterDir = opts.clusterDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-l2-')));
      l2.cluster = await startCluster({ dir: l2.clusterDir, bindAddress: ROOT_V4, users: { [KUBE_PROXY_USER]: [] } });
      l2.kc = new k8s.KubeConfig();
      l2.kc.loadFromFile(l2.cluster.kubeconfig);
      l2.kit = new ServiceKit(l2.kc);
      // The heartbeat key, as an installer creates it (docs/install.md): speakers only read it.
      await l2.kit.ensureNamespace(SPEAKER_NAMESPACE);
      await ensureHeartbeatSecret(l2.kit.core, SPEAKER_NAMESPACE);
      l2.client = await lab.addHost('client', { ipv4: `${LAN_V4_PREFIX}.10/24`, ipv6: `${LAN_V6_PREFIX}10/64` });
      const count = opts.nodes ?? 3;
      for (let i = 1; i <= count; i++) {
        const host = await lab.addHost(`n${i}`, { ipv4: `${LAN_V4_PREFIX}.${10 + i}/24`, ipv6: `${LAN_V6_PREFIX}${10 + i}/64` });
        await lab.sysctl(host, {
          'net.ipv4.conf.all.arp_ignore': '1',
          'net.ipv4.conf.all.arp_announce': '2',
          'net.ipv4.conf.eth0.arp_ignore': '1',
          'net.ipv4.conf.eth0.arp_announce': '2',
        });
        const node: NodeHost = { ...host, nodeName: `node${i}`, index: i };
        l2.nodes.push(node);
        const created = await l2.kit.core.createNode({ body: { metadata: { name: node.nodeName, labels: { 'kubernetes.io/hostname': node.nodeName } }, spec: { podCIDR: podCidr(i) } } });
        // What a kubelet reports: the node's address (kube-proxy's node IP; the speakers' per-Service checks).
        await l2.kit.core.replaceNodeStatus({ name: node.nodeName, body: { ...created, status: { addresses: [{ type: 'InternalIP', address: host.ipv4 ?? '' }] } } });
        if (opts.backends !== false) node.backend = lab.spawn(host, [process.execPath, '-e', backendScript(node.nodeName, opts.backendPort ?? 8090)]);
      }
      if (opts.kubeProxy) {
        const launch = opts.launcher ?? childLauncher(lab);
        await routePodNetwork(lab, l2.nodes);
        const token = l2.cluster.tokens[KUBE_PROXY_USER];
        const kubeconfig = path.join(l2.clusterDir, 'kube-proxy.kubeconfig');
        await fs.writeFile(kubeconfig, kubeconfigYaml(l2.cluster.server, await fs.readFile(l2.cluster.caFile, 'utf8'), KUBE_PROXY_USER, token), { mode: 0o600 });
        l2.proxies = new KubeProxies(kubeconfig, launch);
        l2.kubelet = new TestKubelet(lab, l2.kc, launch);
        await Promise.all(l2.nodes.map((n) => l2.startKubeProxy(n)));
      }
    } catch (e) {
      await l2.destroy();
      throw e;
    }
    return l2;
  }

  /** A veth from the test's own namespace into the bridge, so the API server is on the LAN. */
  private async attachRoot(): Promise<void> {
    // A kept lab (`npm run lab`) holds ROOT_V4 without holding the lock.
    const addrs = (await run('ip', ['-j', '-4', 'addr'])).stdout;
    if (addrs.includes(`"${ROOT_V4}"`)) throw new Error(`${ROOT_V4} is already on an interface here: a kept lab is up (npm run lab -- --down removes it)`);
    this.rootIf = `${this.lab.prefix}r`;
    await run('ip', ['link', 'add', this.rootIf, 'type', 'veth', 'peer', 'name', 'proot', 'netns', this.lab.switchNs]);
    await this.lab.ip(this.lab.switchNs, ['link', 'set', 'proot', 'master', 'br0', 'up']);
    await run('sysctl', ['-q', '-w', `net.ipv6.conf.${this.rootIf}.disable_ipv6=1`]);
    await run('ip', ['addr', 'add', `${ROOT_V4}/24`, 'dev', this.rootIf]);
    await run('ip', ['link', 'set', this.rootIf, 'up']);
  }

  /** Where the API server keeps its data; the lab script records it for `--down`. */
  get apiServerDir(): string {
    return this.clusterDir;
  }

  /** The veth in the caller's namespace that holds ROOT_V4. */
  get rootInterface(): string {
    return this.rootIf;
  }

  /** Every namespace of the lab (pods' too), the switch last. */
  get namespaces(): string[] {
    return [...this.lab.allNamespaces.filter((ns) => ns !== this.lab.switchNs), this.lab.switchNs];
  }

  /**
   * Leaves the namespaces in place when this process exits (netns.ts removes them on exit
   * otherwise): for `npm run lab -- --keep`, whose `--down` removes them later. After this,
   * destroy() no longer removes the namespaces either.
   */
  keepOnExit(): void {
    this.lab.release();
  }

  startController(extra: string[] = []): IronlbProcess {
    this.controller = startIronlb(['controller', '--kubeconfig', this.cluster.kubeconfig, '--metrics-addr', '127.0.0.1:0', '--leader-elect=false', ...extra]);
    return this.controller;
  }

  /** `env`: extra environment of the speaker process (e.g. libfaketime for a clock step);
   * `compiled`: run dist/ or the sources (default: dist/ whenever it is fresh, processes.ts). */
  startSpeaker(node: NodeHost, extra: string[] = [], env?: Record<string, string>, compiled?: boolean): IronlbProcess {
    node.speaker = startIronlb(
      [
        'speaker',
        '--kubeconfig', this.cluster.kubeconfig,
        '--node-name', node.nodeName,
        '--node-address', node.ipv4 ?? '',
        '--metrics-addr', '127.0.0.1:0',
        // Node NICs here are veths named eth0: exclude only lo (and the pods' veths, as MetalLB's list does).
        '--exclude-interfaces', this.kubelet ? '^lo$,^veth.*' : '^lo$',
        '--lease-duration', '3',
        '--lease-renew', '1',
        ...extra,
      ],
      { netns: node.ns, env, compiled },
    );
    return node.speaker;
  }

  /** kube-proxy (IPVS mode) puts every LoadBalancer address on each node; so do we, on lo. */
  async addServiceAddressEverywhere(ips: string[]): Promise<void> {
    for (const node of this.nodes) {
      for (const ip of ips) {
        const v6 = ip.includes(':');
        await this.lab.ip(node.ns, [v6 ? '-6' : '-4', 'addr', 'replace', `${ip}/${v6 ? 128 : 32}`, 'dev', 'lo', ...(v6 ? ['nodad'] : [])]);
      }
    }
  }

  /** Ready EndpointSlice (discovery.k8s.io/v1beta1 on this 1.20 server) with one endpoint per given node. */
  async setEndpoints(namespace: string, service: string, nodeNames: string[], port = 8090): Promise<void> {
    const objects = k8s.KubernetesObjectApi.makeApiClient(this.kc);
    const name = `${service}-ironlb-test`;
    const body = {
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: '', port, protocol: 'TCP' }],
      endpoints: nodeNames.map((n) => {
        const node = this.nodes.find((x) => x.nodeName === n);
        return { addresses: [node?.ipv4 ?? '198.51.100.250'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': n } };
      }),
    };
    try {
      await objects.delete({ apiVersion: body.apiVersion, kind: body.kind, metadata: { name, namespace } });
    } catch {
      /* first time */
    }
    await objects.create(body);
  }

  nodeByMac(mac: string): NodeHost | undefined {
    return this.nodes.find((n) => n.mac === mac.toLowerCase());
  }

  node(name: string): NodeHost {
    const node = this.nodes.find((n) => n.nodeName === name);
    if (!node) throw new Error(`no node ${name} in this lab`);
    return node;
  }

  // ---- the real data path (`kubeProxy: true`) ----------------------------------------------------

  private dataPath(): { proxies: KubeProxies; kubelet: TestKubelet } {
    if (!this.proxies || !this.kubelet) throw new Error('this L2Lab runs no kube-proxy: create it with { kubeProxy: true }');
    return { proxies: this.proxies, kubelet: this.kubelet };
  }

  /** (Re)starts kube-proxy on the node; resolves once its /healthz answers 200. */
  async startKubeProxy(node: NodeHost): Promise<Launched> {
    return this.dataPath().proxies.start(node);
  }

  /** Stops the node's kube-proxy; `removeRules` also removes its iptables rules (the path through the node breaks). */
  async stopKubeProxy(node: NodeHost, opts: StopKubeProxyOptions = {}): Promise<void> {
    await this.dataPath().proxies.stop(node, opts);
  }

  /** GET kube-proxy's /healthz (port 10256) on the node; undefined when nothing answers. */
  kubeProxyHealthz(node: NodeHost): Promise<HttpAnswer | undefined> {
    return this.dataPath().proxies.healthz(node);
  }

  /** `iptables-save -t nat` in the node: kube-proxy's rules (KUBE-SERVICES, KUBE-SVC-…, KUBE-SEP-…). */
  kubeProxyRules(node: NodeHost): Promise<string> {
    return natRules(node.ns);
  }

  /** A Ready pod on `node` answering HTTP with its name; its Service's EndpointSlice is kept current. */
  async addPod(node: NodeHost, spec: PodSpec): Promise<LabPod> {
    return this.dataPath().kubelet.addPod(node, spec);
  }

  /** Stops the pod's server; it turns not ready in its Pod status and EndpointSlices. */
  async stopPod(pod: LabPod): Promise<void> {
    await this.dataPath().kubelet.stopPod(pod);
  }

  /** Restarts a stopped pod's server; Ready again once it answers. */
  async startPod(pod: LabPod): Promise<void> {
    await this.dataPath().kubelet.startPod(pod);
  }

  get pods(): readonly LabPod[] {
    return this.kubelet?.pods ?? [];
  }

  /** Writes the EndpointSlices of the namespace's Services from the pods (call after creating a Service). */
  async syncEndpoints(namespace: string): Promise<void> {
    await this.dataPath().kubelet.syncEndpoints(namespace);
  }

  /** The Service's healthCheckNodePort (allocated by the API server for externalTrafficPolicy: Local). */
  async healthCheckNodePort(namespace: string, service: string): Promise<number> {
    const port = (await this.kit.get(namespace, service)).spec?.healthCheckNodePort;
    if (!port) throw new Error(`${namespace}/${service} has no healthCheckNodePort (not type LoadBalancer with externalTrafficPolicy: Local?)`);
    return port;
  }

  /** GET the health-check port on the node's own address, from the client (as a load balancer's health check does). */
  probeHealthCheck(node: NodeHost, port: number): Promise<HttpAnswer | undefined> {
    return httpGet(this.client.ns, `http://${node.ipv4}:${port}/`, 2);
  }

  /**
   * GET http://ip:port/ from the client with a host route sending it to `node` (as a router would),
   * whoever answers ARP for `ip`: what that node's kube-proxy makes of the traffic. Undefined when
   * nothing answers within `timeoutSeconds`.
   *
   * The client plays the router here, so it ignores ICMP redirects as a router does (Linux's
   * accept_redirects is off on routers). Otherwise the path is not pinned: a node that does not
   * translate the traffic (externalTrafficPolicy: Local, no local endpoint) forwards it out of
   * eth0 to the ARP owner, redirects the client there, and the connection completes directly with
   * the owner's pod — or not, depending on the node's per-client redirect backoff: the flake of
   * datapath.test.ts's node3 check (docs/troubleshooting.md, "Local traffic answered by a node").
   */
  async requestVia(node: NodeHost, ip: string, port: number, timeoutSeconds = 2): Promise<HttpAnswer | undefined> {
    if (!this.clientIgnoresRedirects) {
      await this.lab.sysctl(this.client, {
        'net.ipv4.conf.all.accept_redirects': '0',
        'net.ipv4.conf.default.accept_redirects': '0',
        'net.ipv4.conf.eth0.accept_redirects': '0',
      });
      this.clientIgnoresRedirects = true;
    }
    await this.lab.ip(this.client.ns, ['route', 'replace', `${ip}/32`, 'via', node.ipv4 ?? '']);
    try {
      return await httpGet(this.client.ns, `http://${ip}:${port}/`, timeoutSeconds);
    } finally {
      await this.lab.ip(this.client.ns, ['route', 'del', `${ip}/32`], { allowFailure: true });
    }
  }

  async destroy(): Promise<void> {
    try {
      for (const n of this.nodes) await n.speaker?.kill('SIGKILL');
      await this.controller?.kill('SIGKILL');
      await Promise.all(this.nodes.map((n) => n.kubeProxy?.stop(2000)));
      await this.kubelet?.stopAll();
      if (this.clusterDir) await destroyCluster(this.clusterDir);
      await this.lab.destroy(); // deleting the switch namespace removes the root veth too
      if (this.rootIf) await run('ip', ['link', 'del', this.rootIf]).catch(() => undefined);
    } finally {
      await this.rootLock?.release();
      this.rootLock = undefined;
    }
  }
}
