// Steps shared by the layer-2 failure tests on an L2Lab: wait until the speakers' heartbeats
// agree, create a probed Service, find the node answering it.
import { eventually } from './kube';
import type { L2Lab, NodeHost } from './l2-lab';
import type { Probe } from './udp-probe';

/** Every running speaker's last heartbeat membership change counts `count` speakers alive. */
export async function speakersConverged(l2: L2Lab, count = l2.nodes.length, timeoutMs = 20_000): Promise<void> {
  await eventually(
    'all speakers to see each other',
    async () => {
      const ok = l2.nodes.every((n) => {
        const changes = (n.speaker?.logs() ?? []).filter((l) => l.msg === 'speaker membership changed' && l.source === 'heartbeat');
        const last = changes[changes.length - 1] as { alive?: string[] } | undefined;
        return last?.alive?.length === count;
      });
      return ok ? true : undefined;
    },
    timeoutMs,
    100,
  );
}

/** A LoadBalancer Service with an endpoint on every node; its address is put on every node's lo. */
export async function lbServiceEverywhere(l2: L2Lab, namespace: string, name: string): Promise<string> {
  await l2.kit.createLB(namespace, name, { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: name } });
  await l2.setEndpoints(namespace, name, l2.nodes.map((n) => n.nodeName));
  const [ip] = await l2.kit.waitIPs(namespace, name);
  await l2.addServiceAddressEverywhere([ip]);
  return ip;
}

/** The node answering the probe, stable for 300 ms. */
export async function probedOwner(l2: L2Lab, p: Probe): Promise<NodeHost> {
  const name = await eventually('a stable owner answering the probe', async () => p.stableOwner(), 30_000, 100);
  const node = l2.nodes.find((n) => n.nodeName === name);
  if (!node) throw new Error(`unknown node ${name}`);
  return node;
}
