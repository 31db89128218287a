// kube-proxy v1.20.2 (built by scripts/install-kube.sh from the same source as the test API server)
// in iptables mode, one per node namespace, and the addressing of the routed pod network behind it.
//
// Addresses: pods live in CLUSTER_CIDR, node i owns 198.18.i.0/24 (198.18.0.0/15 is the range the
// rules allow inside our own namespaces). Services' cluster IPs come from the API server's
// --service-cluster-ip-range (kube-cluster.ts); kube-proxy needs no flag for that range.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { kubeBinDir } from './kube-cluster';

const run = promisify(execFile);

export const CLUSTER_CIDR = '198.18.0.0/16';
/** kube-proxy's own /healthz (--healthz-bind-address), the port MetalLB-style health checks ask. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;

/** The pod CIDR of the node with 1-based index `nodeIndex` (at most 254 nodes). */
export function podCidr(nodeIndex: number): string {
  if (!Number.isInteger(nodeIndex) || nodeIndex < 1 || nodeIndex > 254) throw new Error(`node index ${nodeIndex} out of 1..254`);
  return `198.18.${nodeIndex}.0/24`;
}

/** The node side of every pod veth on that node: the pods' default gateway. */
export function podGateway(nodeIndex: number): string {
  return podCidr(nodeIndex).replace(/0\/24$/, '1');
}

/** The address of the `podIndex`-th pod (0-based) on that node. */
export function podAddress(nodeIndex: number, podIndex: number): string {
  if (podIndex < 0 || podIndex > 240) throw new Error(`pod index ${podIndex} out of 0..240`);
  return podCidr(nodeIndex).replace(/0\/24$/, String(10 + podIndex));
}

export function kubeProxyBinary(): string {
  return path.join(kubeBinDir(), 'kube-proxy');
}

export interface KubeProxyOptions {
  kubeconfig: string;
  nodeName: string;
  nodeIP: string;
}

/** Command line of one node's kube-proxy. */
export function kubeProxyArgv(o: KubeProxyOptions): string[] {
  return [
    kubeProxyBinary(),
    `--kubeconfig=${o.kubeconfig}`,
    '--proxy-mode=iptables', // this kernel has no IPVS
    `--hostname-override=${o.nodeName}`,
    // The node IP kube-proxy uses (there is no kubelet to publish it on the Node).
    `--bind-address=${o.nodeIP}`,
    `--cluster-cidr=${CLUSTER_CIDR}`,
    `--healthz-bind-address=0.0.0.0:${KUBE_PROXY_HEALTHZ_PORT}`,
    '--metrics-bind-address=127.0.0.1:10249',
    // nf_conntrack_max is global and read-only from a child namespace: 0 = leave it alone. The TCP
    // timeouts are left at the kernel's values too (0 = do not set), as kube-proxy would fail on them.
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    // A test process, not a system daemon: no protection from the OOM killer.
    '--oom-score-adj=0',
    '--v=1',
  ];
}

/** `kube-proxy --cleanup`: removes every iptables rule kube-proxy made in the namespace, then exits. */
export async function removeKubeProxyRules(netns: string): Promise<void> {
  await run('ip', ['netns', 'exec', netns, kubeProxyBinary(), '--cleanup', '--v=0'], { timeout: 30_000 }).catch((e: { stderr?: string; code?: number }) => {
    // It reports (and exits 1 for) the IPVS leftovers it cannot clear on a kernel without IPVS;
    // what counts is that no KUBE- chain is left, checked by the caller where it matters.
    if (typeof e.code !== 'number') throw e;
  });
}

/** `iptables-save -t nat` inside the namespace. */
export async function natRules(netns: string): Promise<string> {
  return (await run('ip', ['netns', 'exec', netns, 'iptables-save', '-t', 'nat'], { timeout: 20_000 })).stdout;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTP GET from inside a namespace (curl); undefined when nothing answered in time. */
export async function httpGet(netns: string, url: string, timeoutSeconds = 2): Promise<HttpAnswer | undefined> {
  try {
    const r = await run('ip', ['netns', 'exec', netns, 'curl', '-g', '-s', '--max-time', String(timeoutSeconds), '-o', '-', '-w', '\n%{http_code}', url], {
      timeout: (timeoutSeconds + 5) * 1000,
    });
    const at = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(at + 1));
    return status > 0 ? { status, body: r.stdout.slice(0, at) } : undefined;
  } catch {
    return undefined;
  }
}
