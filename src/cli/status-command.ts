// `ironlb status`: pools (size/used/free per family), speakers, and every assigned address with
// its Services, the node the speakers' election picks and the latest nodeAssigned Event.
import type * as k8s from '@kubernetes/client-node';
import { poolOf } from '../config/pool-of';
import { handling, ingressIPs, serviceKey } from '../controller/service-request';
import { restoredAllocator } from '../controller/restore';
import { canonicalIP, compareIP, tryParseIP } from '../ip/address';
import { announcementOf, layer2Outcome, type Announcement } from './announcement';
import { usage } from './flags';
import {
  COMMON_FLAGS,
  loadFromFlags,
  parseCommonFlags,
  processIO,
  table,
  toJson,
  type CommandIO,
  type LiveState,
  type NodeAssignedEvent,
  type SpeakerLease,
} from './live-state';

const USAGE = `usage: ironlb status [flags]

Pools with size/used/free per family (from the live configuration, the ConfigMap or the
metallb.io objects, and every Service's status), the speakers (Leases, and the view each
publishes there), and per address: its Services, the announcing node (each speaker's own
election with its own member view, over Nodes and endpoints) and the latest nodeAssigned Event.

flags:
${usage(COMMON_FLAGS)}
`;

export interface FamilyUsage {
  size: bigint;
  used: bigint;
  free: bigint;
}

export interface PoolStatus {
  name: string;
  protocol: string;
  v4: FamilyUsage;
  v6: FamilyUsage;
}

export interface AddressStatus {
  ip: string;
  pool: string | null;
  services: string[];
  /** layer2: the node answering ARP/NDP; bgp: null (every eligible node). */
  announcer: string | null;
  /** layer2: every node that elects itself (more than one only while the speakers' views differ). */
  announcers?: string[];
  protocol: 'layer2' | 'bgp' | null;
  /** Why nothing announces it (layer2 without announcer, or an address in no pool). */
  reason?: string;
  detail?: string;
  candidates?: string[];
  lastNodeAssigned: (NodeAssignedEvent & { service: string }) | null;
}

export interface StatusReport {
  /** `ConfigMap ironlb-system/config` or `metallb.io objects in ironlb-system`. */
  configSource: string;
  configFound: boolean;
  configErrors: string[];
  pools: PoolStatus[];
  speakers: SpeakerLease[];
  addresses: AddressStatus[];
}

function describeAnnouncement(state: LiveState, a: Announcement): Pick<AddressStatus, 'announcer' | 'announcers' | 'protocol' | 'reason' | 'detail' | 'candidates'> {
  if (a.kind === 'noPool') return { announcer: null, protocol: null, reason: 'addressNotInPool', detail: 'the address is in no configured pool, so no speaker announces it' };
  if (a.kind === 'bgp') return { announcer: null, protocol: 'bgp' };
  const o = layer2Outcome(state, a);
  if (o.node !== null) return { announcer: o.node, announcers: o.announcers, protocol: 'layer2', candidates: o.candidates };
  return { announcer: null, announcers: o.announcers, protocol: 'layer2', reason: o.reason, detail: o.detail };
}

export function buildStatus(state: LiveState): StatusReport {
  const pools: PoolStatus[] = [];
  if (state.config) {
    const stats = new Map(restoredAllocator(state.config, state.services, state.lbClass).allocator.stats().map((s) => [s.pool, s]));
    for (const p of state.config.pools) {
      const s = stats.get(p.name);
      const fam = (size: bigint, used: bigint): FamilyUsage => ({ size, used, free: size - used });
      pools.push({ name: p.name, protocol: p.protocol, v4: fam(s?.totalV4 ?? 0n, s?.inUseV4 ?? 0n), v6: fam(s?.totalV6 ?? 0n, s?.inUseV6 ?? 0n) });
    }
  }

  const byIP = new Map<string, k8s.V1Service[]>();
  for (const svc of state.services) {
    if (!handling(svc, state.lbClass).handled) continue;
    for (const raw of ingressIPs(svc)) {
      const ip = canonicalIP(raw) ?? raw;
      byIP.set(ip, [...(byIP.get(ip) ?? []), svc]);
    }
  }
  const addresses: AddressStatus[] = [];
  for (const [ip, svcs] of byIP) {
    svcs.sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
    const first = svcs[0];
    const ann = describeAnnouncement(state, announcementOf(state, first, ingressIPs(first)));
    let last: AddressStatus['lastNodeAssigned'] = null;
    for (const s of svcs) {
      const ev = state.nodeAssigned.get(serviceKey(s));
      if (ev && (!last || (ev.time ?? '') > (last.time ?? ''))) last = { ...ev, service: serviceKey(s) };
    }
    addresses.push({ ip, pool: state.config ? (poolOf(state.config, ip)?.name ?? null) : null, services: svcs.map(serviceKey), ...ann, lastNodeAssigned: last });
  }
  addresses.sort((a, b) => compareIPs(a.ip, b.ip));
  return { configSource: state.configWhere, configFound: state.configFound, configErrors: state.configErrors, pools, speakers: state.speakers, addresses };
}

/** IPv4 before IPv6, numerically inside a family; unparsable text last. */
export function compareIPs(a: string, b: string): number {
  const x = tryParseIP(a);
  const y = tryParseIP(b);
  if (!x || !y) return x ? -1 : y ? 1 : a.localeCompare(b);
  return compareIP(x, y);
}

function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  return s < 0 ? 'just now' : `${s}s ago`;
}

/** `alive`, `alive, NO_LAYER2`, `STARTING`, `dead (...), renewed 5s ago`. */
function speakerState(s: SpeakerLease, now: number): string {
  if (s.alive) return ['alive', ...s.flags].join(', ');
  if (s.state === 'starting') return 'STARTING';
  return `dead (${s.detail}), renewed ${ago(s.renewTime, now)}`;
}

export function formatStatus(r: StatusReport, now: number): string {
  const out: string[] = [];
  const configMap = r.configSource.startsWith('ConfigMap');
  if (!r.configFound) out.push(`configuration: ${r.configSource}: ${configMap ? 'not found' : 'no IPAddressPool'}\n`);
  else if (r.configErrors.length > 0) out.push(`configuration: ${r.configSource} ${configMap ? 'is' : 'are'} INVALID (the controller keeps its last good one):\n${r.configErrors.map((e) => `  ${e}\n`).join('')}`);
  else out.push(`configuration: ${r.configSource}, ${r.pools.length} pool(s)\n`);
  if (r.pools.length > 0) {
    out.push('\n');
    const fam = (u: FamilyUsage): string => (u.size === 0n ? '-' : `${u.size}/${u.used}/${u.free}`);
    out.push(table(['POOL', 'PROTOCOL', 'IPv4 SIZE/USED/FREE', 'IPv6 SIZE/USED/FREE'], r.pools.map((p) => [p.name, p.protocol, fam(p.v4), fam(p.v6)])));
  }
  out.push('\n');
  if (r.speakers.length === 0) out.push('speakers: no speaker Leases found\n');
  else out.push(`speakers: ${r.speakers.map((s) => `${s.node} (${speakerState(s, now)})`).join(', ')}\n`);
  out.push('\n');
  if (r.addresses.length === 0) out.push('addresses: none assigned\n');
  else {
    const who = (a: AddressStatus): string =>
      a.announcer ? a.announcer : a.protocol === 'bgp' ? 'every eligible node (BGP)' : a.announcers && a.announcers.length > 1 ? `${a.announcers.join(' and ')} (${a.reason})` : `none (${a.reason})`;
    const ev = (a: AddressStatus): string => (a.lastNodeAssigned ? `${a.lastNodeAssigned.node || '?'} ${ago(a.lastNodeAssigned.time, now)}` : '-');
    out.push(table(['ADDRESS', 'POOL', 'SERVICES', 'ANNOUNCED BY', 'LAST nodeAssigned'], r.addresses.map((a) => [a.ip, a.pool ?? '-', a.services.join(','), who(a), ev(a)])));
  }
  return out.join('');
}

export async function statusCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  const f = parseCommonFlags(argv);
  if (f.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (f._.length > 0) {
    io.stderr(`ironlb status: unexpected argument "${f._[0]}"\n${USAGE}`);
    return 2;
  }
  const state = await loadFromFlags(f);
  const report = buildStatus(state);
  io.stdout(f.output === 'json' ? toJson(report) : formatStatus(report, state.now));
  return 0;
}
