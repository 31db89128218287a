// A speaker whose main loop wedges while its answer thread runs on (docs/failover.md, "answer
// window"). Its heartbeats stop once the signed-ahead ones are used up and its peers take its
// addresses over; its answer thread must fall silent before that, or two nodes answer ARP for one
// address for as long as the wedge lasts (until the kubelet's liveness probe, in a cluster).
// Three speakers on the namespace LAN; the owner's main loop is stalled for STALL_MS through the
// test hook (IRONLB_DEBUG_STALL_MS + SIGUSR2: a busy loop on the main thread only). While it
// lasts, the client's ARP requests must be answered by the new owner alone.
import type { ChildProcess } from 'node:child_process';
import { eventually } from '../harness/kube';
import type { L2Lab, NodeHost } from '../harness/l2-lab';
import { lbServiceEverywhere, probedOwner, speakersConverged, startedLab } from '../harness/l2-scenario';
import { waitForLog, type IronlbProcess } from '../harness/processes';
import { Probe } from '../harness/udp-probe';

jest.setTimeout(600_000);

/** Long enough for the takeover (≤ ~0.8 s, docs/failover.md) and three ARP requests 1 s apart. */
const STALL_MS = 6000;
/**
 * The answer window with the default heartbeat settings, from answer-window.ts's rule: (3 intervals
 * signed ahead + an adaptive floor of 2 - 1) x 100 ms. The peers take over no sooner than that.
 */
const WINDOW_MS = 400;

describe('a speaker whose main loop is wedged', () => {
  let l2: L2Lab;
  let echoes: ChildProcess[] = [];
  const probes: Probe[] = [];

  beforeAll(async () => {
    ({ l2, echoes } = await startedLab({ speakerEnv: { IRONLB_DEBUG_STALL_MS: String(STALL_MS) } }));
    await speakersConverged(l2, 3, 60_000);
  });

  afterAll(async () => {
    for (const p of probes) p.stop();
    for (const e of echoes) e.kill('SIGKILL');
    await l2?.destroy();
  });

  /** The MACs answering `count` ARP requests for ip from the client, one per second. */
  async function arpMacs(ip: string, count: number): Promise<string[]> {
    const r = await l2.lab.exec(l2.client, ['arping', '-c', String(count), '-w', String(count + 2), '-I', 'eth0', ip], { allowFailure: true, timeoutMs: 15_000 });
    return [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
  }

  async function withheld(n: NodeHost): Promise<number> {
    const addr = (await waitForLog(n.speaker as IronlbProcess, 'metrics and health endpoints listening')).address as string;
    const metrics = await l2.lab.exec(n.ns, ['curl', '-s', '--max-time', '3', `http://${addr}/metrics`]);
    return Number(/^ironlb_layer2_answers_withheld_total (\d+)$/m.exec(metrics.stdout)?.[1] ?? NaN);
  }

  it('falls silent on ARP before a peer takes over, so one node answers for the address throughout', async () => {
    const ip = await lbServiceEverywhere(l2, 'default', 'wedge');
    const probe = new Probe(l2, ip);
    probes.push(probe);
    const owner = await probedOwner(l2, probe);
    const t0 = Date.now();
    owner.speaker?.child.kill('SIGUSR2'); // not IronlbProcess.kill(): that waits for an exit
    const next = await eventually('another node to answer the client', async () => probe.firstOther(t0, owner.nodeName), 5000, 20);
    // Past the window (the takeover comes after it), the owner's answer thread must be silent.
    const wait = t0 + WINDOW_MS + 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const asked = Date.now();
    const during = await arpMacs(ip, 3);
    // The check means something only while the owner was still wedged.
    expect(Date.now() - t0).toBeLessThan(STALL_MS);
    expect(during.map((m) => l2.nodeByMac(m)?.nodeName ?? m)).toEqual([next.node]);
    expect(asked - t0).toBeGreaterThan(WINDOW_MS);

    // The owner's main loop runs again: it counted what it withheld, and one node answers.
    await waitForLog(owner.speaker as IronlbProcess, 'debug: main loop stalled', STALL_MS + 10_000);
    expect(await withheld(owner)).toBeGreaterThanOrEqual(1);
    await eventually('one node answering ARP after the stall', async () => ((await arpMacs(ip, 2)).length === 1 ? true : undefined), 30_000, 500);
  });
});
