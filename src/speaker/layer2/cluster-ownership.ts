// Who announces each layer-2 Service across the cluster, from the views the speakers publish
// (speaker-view.ts): every acting speaker runs desiredOwnership with its own member view and
// announces what it wins there, so this runs that same function once per distinct view and
// collects the winners. Pure; used by `ironlb status`/`explain`.
import type { SpeakerView } from '../membership/speaker-view';
import type { ElectionResult } from '../election/election';
import { desiredOwnership, type OwnershipInput } from './desired';

/** A speaker that acts on its published view (judgeSpeakers). */
export interface ActingSpeaker {
  node: string;
  view: SpeakerView;
}

export type ClusterOwnershipInput = Omit<OwnershipInput, 'members' | 'self' | 'ignoreExcludeLabel'> & {
  speakers: readonly ActingSpeaker[];
};

/** What one member view decides for a Service, and which acting speakers hold that view. */
export interface ViewDecision {
  speakers: string[];
  /** The view's alive set. */
  alive: string[];
  result: ElectionResult;
  fallback: boolean;
}

export interface ServiceAnnouncers {
  service: string;
  ips: string[];
  pool: string;
  /** The acting speakers that elect themselves in their own view: those that answer ARP/NDP. */
  announcers: string[];
  /** Per distinct view, most widely held first. */
  decisions: ViewDecision[];
}

function viewKey(v: SpeakerView): string {
  return JSON.stringify([[...v.alive].sort(), [...v.layer2Unready].sort(), v.ignoreExcludeLabel, [...(v.dataPathDown ?? [])].sort(), v.serviceHealthFailing ?? {}]);
}

/** Per layer-2 Service (by key): who announces it, and what each view decides. */
export function clusterOwnership(input: ClusterOwnershipInput): Map<string, ServiceAnnouncers> {
  const groups = new Map<string, ActingSpeaker[]>();
  for (const s of input.speakers) {
    const key = viewKey(s.view);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const out = new Map<string, ServiceAnnouncers>();
  const ordered = [...groups.values()].sort((a, b) => b.length - a.length || a[0].node.localeCompare(b[0].node));
  for (const group of ordered) {
    const { view } = group[0];
    const nodes = group.map((s) => s.node).sort();
    const desired = desiredOwnership({
      ...input,
      members: { alive: new Set(view.alive), layer2Unready: new Set(view.layer2Unready), dataPathDown: new Set(view.dataPathDown ?? []) },
      self: nodes[0],
      ignoreExcludeLabel: view.ignoreExcludeLabel,
      serviceHealthFailing: (key) => new Set(view.serviceHealthFailing?.[key] ?? []),
    });
    for (const e of desired.services) {
      let entry = out.get(e.service);
      if (!entry) out.set(e.service, (entry = { service: e.service, ips: e.ips, pool: e.pool.name, announcers: [], decisions: [] }));
      entry.decisions.push({ speakers: nodes, alive: [...view.alive].sort(), result: e.result, fallback: e.fallback });
      const winner = e.result.announcer;
      if (winner !== undefined && nodes.includes(winner)) entry.announcers.push(winner);
    }
  }
  for (const entry of out.values()) entry.announcers.sort();
  return out;
}
