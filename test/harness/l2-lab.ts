// The layer-2 test ground of issue 5: a LAN (bridge) with node namespaces, a client namespace,
// and the test's own namespace attached so that one kube-apiserver on the LAN serves both the
// test process and the speakers. Each node stands in for kube-proxy in IPVS mode: Service
// addresses sit on lo with arp_ignore=1/arp_announce=2, so the kernel never answers ARP for them,
// and a small HTTP backend answers with the node's name.
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { Lab, type Host } from '../helpers/netns';
import { destroyCluster, startCluster, type ClusterInfo } from './kube-cluster';
import { startIronlb, type IronlbProcess } from './processes';
import { ServiceKit } from './services';
import { ensureHeartbeatSecret } from '../../src/speaker/membership/heartbeat-store';

/** Where the speakers keep their Leases and read their heartbeat key (the manifests' namespace). */
const SPEAKER_NAMESPACE = 'ironlb-system';

const run = promisify(execFile);

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
  backend?: ReturnType<Lab['spawn']>;
  speaker?: IronlbProcess;
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
  private clusterDir = '';
  private rootIf = '';

  private constructor(readonly lab: Lab) {}

  /**
   * `clusterDir`: where the API server keeps its data (default: a new temporary directory).
   * `backends: false`: start no HTTP backends (the caller starts its own, e.g. detached).
   */
  static async create(opts: { nodes?: number; backendPort?: number; clusterDir?: string; backends?: boolean } = {}): Promise<L2Lab> {
    const lab = await Lab.create();
    const l2 = new L2Lab(lab);
    try {
      await l2.attachRoot();
      l2.clusterDir = opts.clusterDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-l2-')));
      l2.cluster = await startCluster({ dir: l2.clusterDir, bindAddress: ROOT_V4 });
      l2.kc = new k8s.KubeConfig();
      l2.kc.loadFromFile(l2.cluster.kubeconfig);
      l2.kit = new ServiceKit(l2.kc);
      // The heartbeat key, as an installer creates it (docs/install.md): speakers only read it.
      await l2.kit.ensureNamespace(SPEAKER_NAMESPACE);
      await ensureHeartbeatSecret(l2.kit.core, SPEAKER_NAMESPACE);
      l2.client = await lab.addHost('client', { ipv4: `${LAN_V4_PREFIX}.10/24`, ipv6: `${LAN_V6_PREFIX}10/64` });
      for (let i = 1; i <= (opts.nodes ?? 3); i++) {
        const host = await lab.addHost(`n${i}`, { ipv4: `${LAN_V4_PREFIX}.${10 + i}/24`, ipv6: `${LAN_V6_PREFIX}${10 + i}/64` });
        await lab.sysctl(host, {
          'net.ipv4.conf.all.arp_ignore': '1',
          'net.ipv4.conf.all.arp_announce': '2',
          'net.ipv4.conf.eth0.arp_ignore': '1',
          'net.ipv4.conf.eth0.arp_announce': '2',
        });
        const node: NodeHost = { ...host, nodeName: `node${i}` };
        l2.nodes.push(node);
        await l2.kit.core.createNode({ body: { metadata: { name: node.nodeName, labels: { 'kubernetes.io/hostname': node.nodeName } } } });
        if (opts.backends !== false) node.backend = lab.spawn(host, [process.execPath, '-e', backendScript(node.nodeName, opts.backendPort ?? 8090)]);
      }
    } catch (e) {
      await l2.destroy();
      throw e;
    }
    return l2;
  }

  /** A veth from the test's own namespace into the bridge, so the API server is on the LAN. */
  private async attachRoot(): Promise<void> {
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

  /** Every namespace of the lab, the switch last. */
  get namespaces(): string[] {
    return [...this.lab.allHosts.map((h) => h.ns), this.lab.switchNs];
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

  /** `env`: extra environment of the speaker process (e.g. libfaketime for a clock step). */
  startSpeaker(node: NodeHost, extra: string[] = [], env?: Record<string, string>): IronlbProcess {
    node.speaker = startIronlb(
      [
        'speaker',
        '--kubeconfig', this.cluster.kubeconfig,
        '--node-name', node.nodeName,
        '--node-address', node.ipv4 ?? '',
        '--metrics-addr', '127.0.0.1:0',
        // Node NICs here are veths named eth0: exclude only lo.
        '--exclude-interfaces', '^lo$',
        '--lease-duration', '3',
        '--lease-renew', '1',
        ...extra,
      ],
      { netns: node.ns, env },
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

  async destroy(): Promise<void> {
    for (const n of this.nodes) await n.speaker?.kill('SIGKILL');
    await this.controller?.kill('SIGKILL');
    if (this.clusterDir) await destroyCluster(this.clusterDir);
    await this.lab.destroy(); // deleting the switch namespace removes the root veth too
    if (this.rootIf) await run('ip', ['link', 'del', this.rootIf]).catch(() => undefined);
  }
}
