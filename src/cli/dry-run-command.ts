// `ironlb dry-run SERVICE.yaml`: which pool and address the Service in the file would get now,
// from the controller's allocation replayed on the live cluster. Nothing is written.
// Exit status: 0 it would get an address, 1 it would not, 2 bad usage or unreadable file.
import { readFile } from 'node:fs/promises';
import type * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { serviceKey } from '../controller/service-request';
import { canonicalIP } from '../ip/address';
import { announcementOf, layer2Outcome } from './announcement';
import { usage } from './flags';
import { COMMON_FLAGS, decideAddress, loadFromFlags, parseCommonFlags, processIO, toJson, type AddressReason, type CommandIO, type LiveState } from './live-state';

const USAGE = `usage: ironlb dry-run SERVICE.yaml [flags]

Which pool and address the Service in SERVICE.yaml would get now (an update when a Service of that
name exists). Reads the live configuration (the ConfigMap or the metallb.io objects, chosen as
the controller chooses) and every Service's status; changes nothing.
Exit status: 0 an address, 1 no address, 2 bad usage or file.

flags:
${usage(COMMON_FLAGS)}
`;

export interface DryRunResult {
  service: string;
  exists: boolean;
  wouldGetAddress: boolean;
  ips: string[];
  pool: string | null;
  /** For an existing Service: whether it keeps what its status shows. */
  keepsCurrent: boolean | null;
  reason: AddressReason;
  message: string;
  /** With its current endpoints (none for a new Service): the node that would announce, if layer2. */
  announcer: string | null;
  announceNote: string;
}

export function readServiceManifest(text: string): k8s.V1Service {
  const docs = parseAllDocuments(text);
  for (const d of docs) {
    if ('errors' in d && d.errors.length > 0) throw new Error(`not valid YAML: ${d.errors[0].message}`);
  }
  const objects = docs.map((d) => d.toJS() as unknown).filter((o): o is Record<string, unknown> => typeof o === 'object' && o !== null);
  const svc = objects.find((o) => o.kind === 'Service') ?? (objects.length === 1 && objects[0].kind === undefined ? objects[0] : undefined);
  if (!svc) throw new Error('no Service object in the file');
  return svc as k8s.V1Service;
}

export function dryRun(state: LiveState, fileSvc: k8s.V1Service): DryRunResult {
  const namespace = fileSvc.metadata?.namespace ?? 'default';
  const name = fileSvc.metadata?.name ?? '';
  const live = state.services.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === name);
  // The file is what the Service would become; status, cluster IPs and identity come from the live
  // object (or stand-ins for a new Service, which the API server would give a cluster IP).
  const spec: k8s.V1ServiceSpec = { ...(fileSvc.spec ?? {}) };
  if (!spec.clusterIP && !spec.clusterIPs) {
    spec.clusterIP = live?.spec?.clusterIP ?? (spec.ipFamilies?.[0] === 'IPv6' ? 'fd00::1' : '10.96.0.1');
    spec.clusterIPs = live?.spec?.clusterIPs ?? [spec.clusterIP];
  }
  const candidate: k8s.V1Service = {
    ...fileSvc,
    metadata: { ...(fileSvc.metadata ?? {}), namespace, name, uid: live?.metadata?.uid, creationTimestamp: live?.metadata?.creationTimestamp },
    spec,
    status: live?.status,
  };
  const others = state.services.filter((s) => serviceKey(s) !== serviceKey(candidate));
  const snapshot: LiveState = { ...state, services: live ? [...others, candidate] : others };
  const d = decideAddress(snapshot, candidate);
  const ips = d.wouldGet;
  let announcer: string | null = null;
  let announceNote = 'no address, nothing to announce';
  if (ips.length > 0) {
    const a = announcementOf(snapshot, candidate, ips);
    if (a.kind === 'bgp') announceNote = `BGP pool "${a.pool}": every eligible node would advertise it`;
    else if (a.kind === 'layer2') {
      const o = layer2Outcome(snapshot, a);
      if (o.node !== null) {
        announcer = o.node;
        announceNote = `${announcer} would answer ARP/NDP for it (current endpoints, the speakers' current views)`;
      } else announceNote = `would not be announced yet: ${o.detail}`;
    }
  }
  const wouldGetAddress = ips.length > 0;
  const keepsCurrent = live ? d.current.length > 0 && d.current.length === ips.length && d.current.every((ip, i) => canonicalIP(ip) === ips[i]) : null;
  let reason = d.reason;
  let message = d.message;
  if (wouldGetAddress && (d.reason === 'pending' || d.reason === 'assigned' || d.reason === 'wouldMove')) {
    reason = 'assigned';
    message = live && keepsCurrent ? `keeps ${message}` : `would get ${ips.join(', ')} from pool "${d.pool}"`;
  }
  return { service: `${namespace}/${name}`, exists: !!live, wouldGetAddress, ips, pool: d.pool ?? null, keepsCurrent, reason, message, announcer, announceNote };
}

export function formatDryRun(r: DryRunResult): string {
  const lines = [`Service ${r.service} (${r.exists ? 'exists: this would be an update' : 'new'})`];
  if (r.wouldGetAddress) lines.push(`would get: ${r.ips.join(', ')} from pool "${r.pool}"${r.keepsCurrent ? ' (unchanged)' : ''}`);
  else lines.push('would get: no address');
  lines.push(`  ${r.reason}: ${r.message}`);
  lines.push(`announcement: ${r.announceNote}`);
  lines.push('(dry run: nothing was changed)');
  return lines.join('\n') + '\n';
}

export async function dryRunCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  const f = parseCommonFlags(argv);
  if (f.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (f._.length !== 1) {
    io.stderr(`ironlb dry-run: give exactly one SERVICE.yaml\n${USAGE}`);
    return 2;
  }
  let svc: k8s.V1Service;
  try {
    svc = readServiceManifest(await readFile(f._[0], 'utf8'));
  } catch (e) {
    io.stderr(`ironlb dry-run: ${f._[0]}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (!svc.metadata?.name) {
    io.stderr(`ironlb dry-run: ${f._[0]}: the Service has no metadata.name\n`);
    return 2;
  }
  const state = await loadFromFlags(f);
  const r = dryRun(state, svc);
  io.stdout(f.output === 'json' ? toJson(r) : formatDryRun(r));
  return r.wouldGetAddress ? 0 : 1;
}
