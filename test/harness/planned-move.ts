// One planned move (issue 16 feature 6, docs/maintenance.md) checked end to end from a client's
// UDP probe: the owner is labelled ironlb.io/drain=true (or the label is removed for the move
// back), the client switches to the heir while the old node still answers, the old node ends its
// handover, then loses its data path (`breakDataPath`: its echo is stopped for a while): a client
// still sending to its MAC would lose probes from then on. Shared by planned-move.test.ts (echo on
// the node) and kube-proxy-features.test.ts (echo in a pod behind kube-proxy).
import * as k8s from '@kubernetes/client-node';
import { eventually } from './kube';
import type { L2Lab, NodeHost } from './l2-lab';
import type { Probe } from './udp-probe';
import { DRAIN_LABEL } from '../../src/speaker/layer2/drain';
import { DEFAULT_TIMING } from '../../src/speaker/layer2/gratuitous-schedule';
import { DEFAULT_HANDOVER_GRACE_MS } from '../../src/speaker/layer2/handover-driver';

/** The heir reacting to the Node label: one watch event and one election pass, sub-second on a
 * quiet machine; 15 s for a loaded one, the bound failover.test.ts allows a takeover. */
export const REACT_MS = 15_000;
/** The old owner's handover: its own reaction to the label, then the grace it answers quietly. */
export const HANDOVER_MS = REACT_MS + DEFAULT_HANDOVER_GRACE_MS;
/** Probing on after the old node's data path is gone: the heir's whole gratuitous burst window, so
 * a client left on the old MAC would show as lost probes. */
export const AFTER_MS = DEFAULT_TIMING.burstDurationMs;

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** Until every speaker's heartbeat membership counts every node alive (20 s: a few heartbeat rounds on a loaded machine). */
export async function speakersSeeEachOther(l2: L2Lab): Promise<void> {
  await eventually('all speakers to see each other', async () => {
    const ok = l2.nodes.every((n) => {
      const changes = (n.speaker?.logs() ?? []).filter((l) => l.msg === 'speaker membership changed' && l.source === 'heartbeat');
      return (changes[changes.length - 1] as { alive?: string[] } | undefined)?.alive?.length === l2.nodes.length;
    });
    return ok ? true : undefined;
  }, 20_000, 100);
}

export async function setDrain(l2: L2Lab, n: NodeHost, on: boolean): Promise<void> {
  await l2.kit.core.patchNode({ name: n.nodeName, body: { metadata: { labels: { [DRAIN_LABEL]: on ? 'true' : null } } } }, mergePatch);
}

/** The `handover ended` line `n` logged after `since` (ISO time). */
export async function handoverEnded(n: NodeHost, since: string): Promise<Record<string, unknown>> {
  return eventually(`${n.nodeName} to end its handover`, async () =>
    n.speaker?.logs().find((l) => l.msg === 'handover ended' && String(l.ts) > since), HANDOVER_MS, 20);
}

export interface MoveOptions {
  l2: L2Lab;
  probe: Probe;
  /** Takes `n`'s data path away for AFTER_MS (after its handover ended), then gives it back. */
  breakDataPath: (n: NodeHost) => Promise<void>;
}

/**
 * One planned move of the probed address away from `from` (`act` sets or removes the label); not
 * one probe may be lost. Returns the heir.
 */
export async function plannedMove({ l2, probe: p, breakDataPath }: MoveOptions, from: NodeHost, act: () => Promise<void>, what: string): Promise<NodeHost> {
  const since = new Date().toISOString();
  const t0 = Date.now();
  await act();
  const first = await eventually(`a new owner after ${what}`, async () => p.firstOther(t0, from.nodeName), REACT_MS, 20);
  const ended = await handoverEnded(from, since);
  expect(ended.outcome).toBe('completed');
  const heir = l2.node(first.node);
  expect(ended.to).toBe(heir.nodeName);
  await breakDataPath(from);
  const { sent, lost } = p.losses(t0 - 1000, Date.now());
  const lastFromOld = p.replies.filter((r) => r.t >= t0 && r.node === from.nodeName).pop();
  process.stderr.write(
    `planned move (${what}) ${from.nodeName} -> ${heir.nodeName}: client on the heir ${first.t - t0} ms after the label; ` +
      `last answer via the old node ${lastFromOld ? lastFromOld.t - t0 : 'none'} ms; old owner answered ${String(ended.durationMs)} ms after its election; ` +
      `${lost.length} of ${sent} probes lost\n`,
  );
  expect(lost).toEqual([]);
  expect(sent).toBeGreaterThan((AFTER_MS / 10) * 0.5); // the probe really ran through the move (10 ms, on a loaded machine)
  return heir;
}

/** The MACs answering `arping` for ip from the client (3 requests). */
export async function arpMacs(l2: L2Lab, ip: string): Promise<string[]> {
  const r = await l2.lab.exec(l2.client, ['arping', '-c', '3', '-w', '5', '-I', 'eth0', ip], { allowFailure: true, timeoutMs: 15_000 });
  return [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
}
