// Who announces a Service's address, for `ironlb status`, `explain` and `dry-run`: the speakers'
// own decisions (clusterOwnership runs desiredOwnership with each acting speaker's published
// view), put into words. Nothing here decides; it only reads the decisions and their inputs.
import type * as k8s from '@kubernetes/client-node';
import { poolOf } from '../config/pool-of';
import { serviceKey } from '../controller/service-request';
import { canonicalIP } from '../ip/address';
import type { NotAnnouncedReason } from '../speaker/election/election';
import { clusterOwnership, type ActingSpeaker, type ServiceAnnouncers, type ViewDecision } from '../speaker/layer2/cluster-ownership';
import type { LiveState } from './live-state';

export type Announcement = ({ kind: 'layer2' } & ServiceAnnouncers) | { kind: 'bgp'; pool: string } | { kind: 'noPool' };

/** The speakers that act on their published view, with it. */
export function actingSpeakers(state: LiveState): ActingSpeaker[] {
  return state.speakers.flatMap((s) => (s.alive && s.view ? [{ node: s.node, view: s.view }] : []));
}

/**
 * What the speakers decide for a Service with these addresses (its current ones, or those dry-run
 * says it would get): each acting speaker's own election, with its own published view.
 */
export function announcementOf(state: LiveState, svc: k8s.V1Service, ips: readonly string[]): Announcement {
  const first = canonicalIP(ips[0] ?? '');
  const pool = state.config && first ? poolOf(state.config, first) : undefined;
  if (!pool || !first || !state.config) return { kind: 'noPool' };
  if (pool.protocol !== 'layer2') return { kind: 'bgp', pool: pool.name };
  // Elections are per Service: this one alone, showing the addresses asked about.
  const shown: k8s.V1Service = { ...svc, status: { ...svc.status, loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } };
  const input = { config: state.config, services: [shown], endpoints: state.endpointFacts, nodes: state.nodes, lbClass: state.lbClass, speakers: actingSpeakers(state) };
  const found = clusterOwnership(input).get(serviceKey(svc));
  return { kind: 'layer2', ...(found ?? { service: serviceKey(svc), ips: [first], pool: pool.name, announcers: [], decisions: [] }) };
}

export type Layer2Reason = 'announced' | NotAnnouncedReason | 'severalAnnouncers' | 'electedNotAnnouncing';

export interface Layer2Outcome {
  /** The node answering ARP/NDP, when exactly one does. */
  node: string | null;
  /** Every acting speaker that elects itself (more than one only while views differ). */
  announcers: string[];
  /** The announcer's election order. */
  candidates: string[];
  reason: Layer2Reason;
  /** The election's own words, without the context `explain` adds. */
  detail: string;
  decision?: ViewDecision;
}

/** One layer-2 announcement in words: who, or why nobody. */
export function layer2Outcome(state: LiveState, a: Announcement & { kind: 'layer2' }): Layer2Outcome {
  const base = { node: null, announcers: a.announcers, candidates: [] as string[] };
  if (a.announcers.length === 1) {
    const node = a.announcers[0];
    const decision = a.decisions.find((d) => d.speakers.includes(node));
    const r = decision?.result;
    const fallback = decision?.fallback ? `; ${node} has no usable layer-2 interface (NO_LAYER2) or its data path is down in a pool with datapath-check, but no other candidate could be elected, so it says announceFailed` : '';
    return { ...base, node, candidates: r?.announcer !== undefined ? r.candidates : [node], reason: 'announced', detail: `elected by its own view${fallback}`, decision };
  }
  if (a.announcers.length > 1) {
    return { ...base, reason: 'severalAnnouncers', detail: `${a.announcers.join(', ')} each elect themselves in their own view: their member views differ (a change in flight, or a partition)` };
  }
  const top = a.decisions[0];
  if (!top) return { ...base, reason: 'noLiveSpeaker', detail: `no speaker is alive; ${speakerSummary(state)}` };
  const r = top.result;
  if (r.announcer === undefined) return { ...base, reason: r.reason, detail: r.detail, decision: top };
  const lease = state.speakers.find((s) => s.node === r.announcer);
  const why = lease ? `${lease.state}: ${lease.detail}` : 'it has no speaker Lease';
  return { ...base, candidates: r.candidates, reason: 'electedNotAnnouncing', detail: `the speakers (${top.speakers.join(', ')}) elect ${r.announcer}, which does not announce (${why})`, decision: top };
}

/** The speaker Leases in a line: who acts, who does not and why. */
export function speakerSummary(state: LiveState): string {
  if (state.speakers.length === 0) return 'no speaker Leases exist';
  return `speaker Leases: ${state.speakers.map((s) => `${s.node} ${s.alive ? 'alive' : `${s.state} (${s.detail}; renewed ${s.renewTime ?? 'never'})`}`).join(', ')}`;
}
