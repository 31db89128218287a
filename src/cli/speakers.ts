// The speaker Leases as `ironlb status`/`explain` read them: each speaker's published view
// (speaker-view.ts) and whether it acts on it, judged by judgeSpeakers, the one rule for that.
import type * as k8s from '@kubernetes/client-node';
import { leaseTimeMs } from '../k8s/lease';
import { SPEAKER_LEASE_PREFIX } from '../speaker/membership/lease-membership';
import { decodeSpeakerView, judgeSpeakers, SPEAKER_VIEW_ANNOTATION, type SpeakerState, type SpeakerView } from '../speaker/membership/speaker-view';

export interface SpeakerLease {
  node: string;
  renewTime?: string;
  durationSeconds: number;
  /** It acts on its published view: runs the elections and announces what it wins (judgeSpeakers). */
  alive: boolean;
  state: SpeakerState;
  detail: string;
  /** STARTING, NO_LAYER2, as it publishes them. */
  flags: string[];
  view?: SpeakerView;
}

function isoOf(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The speakers behind these Leases (others ignored), by node name. */
export function speakersFromLeases(leases: readonly k8s.V1Lease[]): SpeakerLease[] {
  const published = leases
    .filter((l) => (l.metadata?.name ?? '').startsWith(SPEAKER_LEASE_PREFIX))
    .map((l) => ({
      node: l.spec?.holderIdentity || (l.metadata?.name ?? '').slice(SPEAKER_LEASE_PREFIX.length),
      renewTime: leaseTimeMs(l.spec?.renewTime),
      durationSeconds: l.spec?.leaseDurationSeconds ?? 6,
      view: decodeSpeakerView(l.metadata?.annotations?.[SPEAKER_VIEW_ANNOTATION]),
      renewText: isoOf(l.spec?.renewTime),
    }));
  const judged = judgeSpeakers(published);
  const speakers = published.map(
    (p, i): SpeakerLease => ({
      node: p.node,
      renewTime: p.renewText,
      durationSeconds: p.durationSeconds,
      alive: judged[i].acting,
      state: judged[i].state,
      detail: judged[i].detail,
      flags: [...(p.view?.starting ? ['STARTING'] : []), ...(p.view?.noLayer2 ? ['NO_LAYER2'] : []), ...(p.view?.dataPathDown?.includes(p.node) ? ['DATAPATH_DOWN'] : [])],
      view: p.view,
    }),
  );
  return speakers.sort((a, b) => a.node.localeCompare(b.node));
}
