// The lab of the heartbeat adversity tests: three nodes with speakers, a controller, a numbered
// UDP echo on every node, and an attacker host on the LAN.
import { writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { eventually } from '../../harness/kube';
import { L2Lab, LAB_POOL_CONFIG, type NodeHost } from '../../harness/l2-lab';
import { waitForLog } from '../../harness/processes';
import { Attacker, SeqProbe, startSeqEcho } from './attacker';

export const SPEAKER_NS = 'ironlb-system';

export class AdversityLab {
  private readonly echoes: ChildProcess[] = [];
  private readonly probes: SeqProbe[] = [];
  /** Outputs of speakers that were replaced (restarts), for the dump. */
  readonly earlierOutputs: string[] = [];

  private constructor(
    readonly l2: L2Lab,
    readonly attacker: Attacker,
  ) {}

  static async create(): Promise<AdversityLab> {
    const l2 = await L2Lab.create();
    try {
      await l2.kit.applyConfig(SPEAKER_NS, 'config', LAB_POOL_CONFIG);
      const ctl = l2.startController();
      const lab = new AdversityLab(l2, await Attacker.create(l2));
      for (const n of l2.nodes) lab.echoes.push(startSeqEcho(l2, n));
      await waitForLog(ctl, 'caches synced', 240_000);
      // Generous: the speakers start while other engineers' suites load this 2-core machine.
      await Promise.all(l2.nodes.map((n) => waitForLog(l2.startSpeaker(n), 'speaker started', 240_000)));
      return lab;
    } catch (e) {
      await l2.destroy();
      throw e;
    }
  }

  /** A LoadBalancer Service with endpoints on every node, probed every 10 ms; its stable owner. */
  async serviceWithProbe(name: string): Promise<{ ip: string; probe: SeqProbe; owner: NodeHost }> {
    const { l2 } = this;
    await l2.kit.createLB('default', name, { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: name } });
    await l2.setEndpoints('default', name, l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs('default', name);
    await l2.addServiceAddressEverywhere([ip]);
    const probe = new SeqProbe(l2, ip);
    this.probes.push(probe);
    const ownerName = await eventually('a stable owner', async () => probe.stableOwner(1000), 30_000, 50);
    return { ip, probe, owner: l2.nodes.find((n) => n.nodeName === ownerName) as NodeHost };
  }

  /** Log records of `n`'s current speaker since `t0` whose message starts with `msg`. */
  logsSince(n: NodeHost, t0: number, msg: string): Array<Record<string, unknown>> {
    return (n.speaker?.logs() ?? []).filter((l) => typeof l.msg === 'string' && l.msg.startsWith(msg) && Date.parse(String(l.ts)) >= t0);
  }

  /** IRONLB_E2E_DUMP=/tmp/x keeps every speaker's log in /tmp/x-<name>.log for a look afterwards. */
  async destroy(name: string): Promise<void> {
    const dump = process.env.IRONLB_E2E_DUMP;
    if (dump) writeFileSync(`${dump}-${name}.log`, [...this.earlierOutputs, ...this.l2.nodes.map((n) => `==== ${n.nodeName}\n${n.speaker?.output() ?? ''}`)].join('\n'));
    for (const p of this.probes) p.stop();
    for (const e of this.echoes) e.kill('SIGKILL');
    await this.l2.destroy();
  }
}
