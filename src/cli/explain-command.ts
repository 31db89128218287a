// `ironlb explain NAMESPACE/SERVICE`: why a Service has (or has no) address, and why it is (or is
// not) announced: the controller's and the speakers' decisions replayed on a live snapshot.
import type * as k8s from '@kubernetes/client-node';
import { serviceKey } from '../controller/service-request';
import { announcementOf, layer2Outcome, type Layer2Reason } from './announcement';
import { usage } from './flags';
import {
  COMMON_FLAGS,
  decideAddress,
  loadFromFlags,
  parseCommonFlags,
  processIO,
  toJson,
  type AddressDecision,
  type CommandIO,
  type LiveState,
  type NodeAssignedEvent,
} from './live-state';

const USAGE = `usage: ironlb explain NAMESPACE/SERVICE [flags]

Why the Service has or has no address (replaying the controller's allocation over every Service's
status) and why it is or is not announced (each speaker's own election, with the member view it
publishes on its Lease, over Nodes and endpoints).
SERVICE alone means the default namespace.

flags:
${usage(COMMON_FLAGS)}
`;

export type AnnounceReason = Layer2Reason | 'bgp' | 'noAddress' | 'addressNotInPool';

export interface AnnouncementExplanation {
  announced: boolean;
  reason: AnnounceReason;
  /** The node answering ARP/NDP for the address (layer 2, exactly one). */
  node: string | null;
  /** Every node that elects itself (more than one only while the speakers' views differ). */
  announcers: string[];
  candidates: string[];
  message: string;
  lastNodeAssigned: NodeAssignedEvent | null;
}

export interface Explanation {
  service: string;
  type: string;
  address: AddressDecision;
  announcement: AnnouncementExplanation;
}

export function explainAnnouncement(state: LiveState, svc: k8s.V1Service, address: AddressDecision): AnnouncementExplanation {
  const last = state.nodeAssigned.get(serviceKey(svc)) ?? null;
  const base = { node: null, announcers: [] as string[], candidates: [] as string[], lastNodeAssigned: last, announced: false };
  const ips = address.current.length > 0 && !['notLoadBalancer', 'classFiltered', 'noClusterIP'].includes(address.reason) ? address.current : [];
  if (ips.length === 0) return { ...base, reason: 'noAddress', message: 'the Service has no address, so nothing is announced' };
  const a = announcementOf(state, svc, ips);
  if (a.kind === 'noPool') return { ...base, reason: 'addressNotInPool', message: `${ips[0]} is in no configured pool, so no speaker announces it` };
  if (a.kind === 'bgp') {
    return { ...base, announced: true, reason: 'bgp', message: `pool "${a.pool}" is a BGP pool: every eligible node with a running speaker advertises it to its peers` };
  }
  const o = layer2Outcome(state, a);
  const outcome = { ...base, node: o.node, announcers: o.announcers, candidates: o.candidates, reason: o.reason };
  if (o.node !== null) {
    const disagree = last && last.node && last.node !== o.node ? ` (the latest nodeAssigned Event names ${last.node}: ownership may be moving)` : '';
    const order = o.candidates.length > 0 ? `; candidates in election order: ${o.candidates.join(', ')}` : '';
    return { ...outcome, announced: true, message: `${o.node} answers ARP/NDP for ${ips.join(', ')} (pool "${a.pool}", layer2; ${o.detail})${order}${disagree}` };
  }
  let extra = '';
  const r = o.decision?.result;
  if (r?.announcer === undefined && r?.ineligible) extra = `; ${r.ineligible.map((i) => `${i.node}: ${i.why}`).join(', ')}`;
  if (o.reason === 'noLocalEndpointOnEligibleNode') {
    const ready = [...state.endpointFacts(serviceKey(svc)).readyNodes].sort();
    extra = `; ready endpoints are on ${ready.length > 0 ? ready.join(', ') : 'no known node'}, live speakers on ${o.decision?.alive.join(', ') || 'none'}`;
  }
  if (o.reason === 'noReadyEndpoint') extra = ` (endpoints read from ${state.endpointSource})`;
  return { ...outcome, message: `${o.detail}${extra}` };
}

export function explain(state: LiveState, svc: k8s.V1Service): Explanation {
  const address = decideAddress(state, svc);
  return { service: serviceKey(svc), type: svc.spec?.type ?? 'ClusterIP', address, announcement: explainAnnouncement(state, svc, address) };
}

export function formatExplanation(e: Explanation): string {
  const a = e.address;
  const lines = [`Service ${e.service} (type ${e.type})`];
  const shows = a.current.length > 0 ? a.current.join(', ') : '<pending>';
  lines.push(`address: ${shows}`);
  lines.push(`  ${a.reason}: ${a.message}`);
  const n = e.announcement;
  lines.push(`announcement: ${n.node ?? (n.reason === 'bgp' ? 'BGP' : n.announcers.length > 1 ? n.announcers.join(' and ') : 'none')}`);
  lines.push(`  ${n.reason}: ${n.message}`);
  if (n.lastNodeAssigned) lines.push(`  latest nodeAssigned Event: ${n.lastNodeAssigned.message} (${n.lastNodeAssigned.node || 'unknown node'}, ${n.lastNodeAssigned.time ?? 'no time'})`);
  else if (a.current.length > 0) lines.push('  latest nodeAssigned Event: none');
  return lines.join('\n') + '\n';
}

export async function explainCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  const f = parseCommonFlags(argv);
  if (f.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (f._.length !== 1) {
    io.stderr(`ironlb explain: give exactly one NAMESPACE/SERVICE\n${USAGE}`);
    return 2;
  }
  const [ns, name] = f._[0].includes('/') ? f._[0].split('/', 2) : ['default', f._[0]];
  const state = await loadFromFlags(f);
  const svc = state.services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name);
  if (!svc) {
    io.stderr(`ironlb explain: Service ${ns}/${name} not found\n`);
    return 1;
  }
  const e = explain(state, svc);
  io.stdout(f.output === 'json' ? toJson(e) : formatExplanation(e));
  return 0;
}
