// Steps shared by the layer-2 failure tests on an L2Lab: start the lab with its controller,
// echoes and speakers, wait until the speakers' heartbeats agree, create a probed Service, find
// the node answering it.
import type { ChildProcess } from 'node:child_process';
import { eventually } from './kube';
import { L2Lab, LAB_POOL_CONFIG, type NodeHost } from './l2-lab';
import { waitForLog } from './processes';
import { startEcho, type Probe } from './udp-probe';

/**
 * A new lab with the pool configuration, the controller, a UDP echo on every node (answering
 * with its name) and every speaker started (`speakerEnv` added to their environment). Start-up
 * is ts-node compiling the speakers, three at once on a 2-core machine: up to `startupMs`.
 */
export async function startedLab(opts: { speakerEnv?: Record<string, string>; startupMs?: number } = {}): Promise<{ l2: L2Lab; echoes: ChildProcess[] }> {
  const startupMs = opts.startupMs ?? 240_000;
  const l2 = await L2Lab.create();
  await l2.kit.applyConfig('ironlb-system', 'config', LAB_POOL_CONFIG);
  const ctl = l2.startController();
  const echoes = l2.nodes.map((n) => startEcho(l2, n));
  await waitForLog(ctl, 'caches synced', startupMs);
  await Promise.all(l2.nodes.map((n) => waitForLog(l2.startSpeaker(n, [], opts.speakerEnv), 'speaker started', startupMs)));
  return { l2, echoes };
}

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
