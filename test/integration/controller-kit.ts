// Helpers shared by the controller integration tests: a controller process with its /metrics,
// the ConfigMap with annotations, Events on any object, and a duplicate-address check that does
// not use the allocator (a plain map from address to the Services showing it).
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { startIronlb, waitForLog, type IronlbProcess } from '../harness/processes';

export const kubeconfigFile = (): string => process.env.IRONLB_TEST_KUBECONFIG ?? '';

/** A controller process; `extra` flags come after the defaults (a repeated flag wins). */
export function startController(cfgNs: string, extra: string[] = [], kubeconfig = kubeconfigFile()): IronlbProcess {
  return startIronlb(['controller', '--kubeconfig', kubeconfig, '--config-namespace', cfgNs, '--metrics-addr', '127.0.0.1:0', ...extra]);
}

/** One value from the controller's /metrics (labels included in `name` when wanted), undefined when absent. */
export async function metric(proc: IronlbProcess, name: string): Promise<number | undefined> {
  const addr = (await waitForLog(proc, 'metrics and health endpoints listening')).address as string;
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

/** Creates or replaces the ConfigMap with this config text and exactly these annotations. */
export async function putConfig(kit: ServiceKit, namespace: string, config: string, annotations?: Record<string, string>): Promise<void> {
  await kit.ensureNamespace(namespace);
  const body: k8s.V1ConfigMap = { metadata: { name: 'config', namespace, annotations }, data: { config } };
  try {
    await kit.core.replaceNamespacedConfigMap({ name: 'config', namespace, body });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    await kit.core.createNamespacedConfigMap({ namespace, body });
  }
}

/** Events on the object `name` in `namespace` with this reason (any kind). */
export async function eventsFor(kit: ServiceKit, namespace: string, name: string, reason: string): Promise<k8s.CoreV1Event[]> {
  return (await kit.events(namespace, name)).filter((e) => e.reason === reason);
}

export async function waitEventMatching(kit: ServiceKit, namespace: string, name: string, reason: string, re: RegExp, timeoutMs = 15_000): Promise<k8s.CoreV1Event> {
  return eventually(`a ${reason} event on ${namespace}/${name} matching ${re}`, async () => (await eventsFor(kit, namespace, name, reason)).find((e) => re.test(e.message ?? '')), timeoutMs);
}

/** "ip: a and b" for every address shown by more than one Service of the list. */
export function duplicateAddresses(services: readonly k8s.V1Service[], mayShare: (a: k8s.V1Service, b: k8s.V1Service) => boolean = () => false): string[] {
  const byIP = new Map<string, k8s.V1Service[]>();
  for (const s of services) {
    for (const ip of ServiceKit.ips(s)) byIP.set(ip, [...(byIP.get(ip) ?? []), s]);
  }
  const out: string[] = [];
  for (const [ip, holders] of byIP) {
    for (let i = 0; i < holders.length; i++) {
      for (let j = i + 1; j < holders.length; j++) {
        if (!mayShare(holders[i], holders[j])) out.push(`${ip}: ${keyOf(holders[i])} and ${keyOf(holders[j])}`);
      }
    }
  }
  return out;
}

export function keyOf(s: k8s.V1Service): string {
  return `${s.metadata?.namespace}/${s.metadata?.name}`;
}

/** Resolves after `ms`; used where a test must show that something does NOT happen for a while. */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
