// Running kube-proxy on the lab's nodes: start (and wait until its /healthz answers 200), stop
// (optionally removing its rules), and the routed pod network between the nodes.
import { httpGet, KUBE_PROXY_HEALTHZ_PORT, kubeProxyArgv, podCidr, removeKubeProxyRules, type HttpAnswer } from './kube-proxy';
import type { Launched, Launcher } from './launcher';
import type { Host, Lab } from './netns';
import { eventually } from './wait';

export interface ProxyNode extends Host {
  nodeName: string;
  index: number;
  kubeProxy?: Launched;
}

/** Each node forwards, and routes every other node's pod CIDR via that node's LAN address. */
export async function routePodNetwork(lab: Lab, nodes: readonly ProxyNode[]): Promise<void> {
  for (const node of nodes) {
    await lab.sysctl(node, { 'net.ipv4.ip_forward': '1' });
    for (const other of nodes) {
      if (other !== node && other.ipv4) await lab.ip(node.ns, ['route', 'add', podCidr(other.index), 'via', other.ipv4]);
    }
  }
}

export interface StopKubeProxyOptions {
  /**
   * Also remove its iptables rules (`kube-proxy --cleanup`), so that the node no longer forwards
   * Service traffic. Without it the rules stay, as they do when kube-proxy dies on a real node:
   * traffic still flows on stale rules while /healthz and the health-check ports go silent.
   */
  removeRules?: boolean;
}

export class KubeProxies {
  constructor(
    private readonly kubeconfig: string,
    private readonly launch: Launcher,
  ) {}

  /** Starts the node's kube-proxy; resolves once its /healthz answers 200 (after its first rule sync). */
  async start(node: ProxyNode): Promise<Launched> {
    if (node.kubeProxy?.running()) return node.kubeProxy;
    if (!node.ipv4) throw new Error(`${node.nodeName} has no IPv4 address for kube-proxy`);
    const proc = this.launch(`kube-proxy-${node.nodeName}`, kubeProxyArgv({ kubeconfig: this.kubeconfig, nodeName: node.nodeName, nodeIP: node.ipv4 }), node.ns);
    node.kubeProxy = proc;
    // Start-up is informer sync + one iptables-restore: a second or two when idle; 60 s covers a
    // loaded 2-core machine without hiding a kube-proxy that never gets healthy.
    await eventually(`kube-proxy on ${node.nodeName} healthy`, async () => {
      if (!proc.running()) throw new Error(`kube-proxy on ${node.nodeName} exited:\n${proc.outputTail()}`);
      return (await this.healthz(node))?.status === 200 ? true : undefined;
    }, 60_000, 200).catch((e: Error) => {
      throw new Error(`${e.message}\n--- kube-proxy output:\n${proc.outputTail()}`);
    });
    return proc;
  }

  async stop(node: ProxyNode, opts: StopKubeProxyOptions = {}): Promise<void> {
    await node.kubeProxy?.stop();
    node.kubeProxy = undefined;
    if (opts.removeRules) await removeKubeProxyRules(node.ns);
  }

  /** GET /healthz on the node's kube-proxy (from inside the node); undefined if nothing answers. */
  healthz(node: ProxyNode): Promise<HttpAnswer | undefined> {
    return httpGet(node.ns, `http://127.0.0.1:${KUBE_PROXY_HEALTHZ_PORT}/healthz`, 1);
  }
}
