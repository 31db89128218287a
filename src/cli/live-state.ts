// One read-only snapshot of what the controller and the speakers decide from: the configuration
// (the ConfigMap or the metallb.io objects, src/cli/live-config.ts), Services, Namespaces' labels,
// Nodes, endpoints, speaker Leases (with the view each speaker publishes there) and
// nodeAssigned Events. Shared by `ironlb status`, `ironlb explain` and `ironlb dry-run`. The
// decisions are replayed with the same pure code the controller (restoreFromStatus, then decide)
// and the speakers (judgeSpeakers, clusterOwnership → desiredOwnership) run.
import * as k8s from '@kubernetes/client-node';
import type { ConfigSourceFlag } from '../config/crd/source-choice';
import type { Config } from '../config/types';
import { canonicalIP } from '../ip/address';
import { loadKubeConfig } from '../k8s/client';
import { decide } from '../controller/decide';
import { restoredAllocator } from '../controller/restore';
import { buildRequest, ingressIPs, serviceKey } from '../controller/service-request';
import { detectEndpointSource, nodeFacts, type EndpointSource } from '../speaker/cluster-state';
import type { EndpointFacts, NodeFacts } from '../speaker/election/election';
import { SliceIndex, factsFromEndpoints, type SliceLike } from '../speaker/endpoints';
import { SPEAKER_LABELS } from '../speaker/membership/lease-membership';
import { configSourceFlag } from './config-source-flag';
import { FlagError, parseFlags, type FlagSpec } from './flags';
import { loadLiveConfig } from './live-config';
import { speakersFromLeases, type SpeakerLease } from './speakers';

export type { SpeakerLease } from './speakers';

export const COMMON_FLAGS = {
  kubeconfig: { kind: 'string', help: 'kubeconfig file; in-cluster credentials when absent', env: 'KUBECONFIG' },
  'config-namespace': { kind: 'string', default: 'ironlb-system', help: 'namespace of the configuration (ConfigMap or metallb.io objects)' },
  'config-name': { kind: 'string', default: 'config', help: 'name of the configuration ConfigMap' },
  'config-source': { kind: 'string', default: 'auto', help: 'auto|configmap|crds, as given to the controller' },
  namespace: { kind: 'string', default: 'ironlb-system', help: 'namespace of the speaker Leases' },
  'lb-class': { kind: 'string', help: 'the spec.loadBalancerClass the controller serves (default: class-less Services)' },
  output: { kind: 'string', default: 'text', help: 'output format: text or json (short: -o)' },
  help: { kind: 'boolean', help: 'show this help (short: -h)' },
} satisfies FlagSpec;

export type CommonFlags = ReturnType<typeof parseCommonFlags>;

/** `-o json`, `-ojson`, `-h` spelled out for the long-flag parser. */
export function expandShortFlags(args: readonly string[]): string[] {
  return args.flatMap((a) => {
    if (a === '-o') return ['--output'];
    if (a.startsWith('-o') && a.length > 2) return [`--output=${a.slice(2).replace(/^=/, '')}`];
    if (a === '-h') return ['--help'];
    return [a];
  });
}

export function parseCommonFlags(argv: string[]) {
  const f = parseFlags(COMMON_FLAGS, expandShortFlags(argv));
  if (f.output !== 'text' && f.output !== 'json') throw new FlagError(`--output must be text or json, not "${f.output}"`);
  configSourceFlag(f['config-source']);
  return f;
}

export interface CommandIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

export const processIO: CommandIO = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export interface NodeAssignedEvent {
  node: string;
  message: string;
  time?: string;
  count: number;
}

export interface LiveState {
  /** Where the configuration is read from, as the controller would choose it. */
  configSource: 'configmap' | 'crds';
  /** `ConfigMap ironlb-system/config` or `metallb.io objects in ironlb-system`. */
  configWhere: string;
  /** Whether the ConfigMap (or an IPAddressPool) exists; config is set only when it is also valid. */
  configFound: boolean;
  config?: Config;
  /** ironlb.io/allow-address-changes: "true" on the ConfigMap (or an IPAddressPool). */
  allowAddressChanges?: boolean;
  configErrors: string[];
  /** Each namespace's labels (IPAddressPool serviceAllocation.namespaceSelectors). */
  namespaceLabels?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  lbClass?: string;
  services: k8s.V1Service[];
  nodes: Map<string, NodeFacts>;
  speakers: SpeakerLease[];
  endpointSource: EndpointSource;
  endpointFacts: (serviceKey: string) => EndpointFacts;
  /** Latest nodeAssigned Event per Service key (matching the Service's uid when both have one). */
  nodeAssigned: Map<string, NodeAssignedEvent>;
  now: number;
}

export interface LoadOptions {
  kc: k8s.KubeConfig;
  configNamespace: string;
  configName: string;
  configSource?: ConfigSourceFlag;
  namespace: string;
  lbClass?: string;
  now?: number;
}

export function kubeConfigFrom(flags: { kubeconfig?: string }): k8s.KubeConfig {
  return loadKubeConfig(flags.kubeconfig);
}

function eventTime(e: k8s.CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

export async function loadLiveState(opts: LoadOptions): Promise<LiveState> {
  const { kc } = opts;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const now = opts.now ?? Date.now();
  const labelSelector = Object.entries(SPEAKER_LABELS)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const endpointSource = await detectEndpointSource(kc);
  const [live, services, namespaces, nodes, leases, events] = await Promise.all([
    loadLiveConfig(kc, { configNamespace: opts.configNamespace, configName: opts.configName, flag: opts.configSource }),
    core.listServiceForAllNamespaces(),
    core.listNamespace(),
    core.listNode(),
    coord.listNamespacedLease({ namespace: opts.namespace, labelSelector }),
    core.listEventForAllNamespaces({ fieldSelector: 'reason=nodeAssigned' }),
  ]);

  const nodeMap = new Map<string, NodeFacts>();
  for (const n of nodes.items) nodeMap.set(n.metadata?.name ?? '', nodeFacts(n));

  const speakers = speakersFromLeases(leases.items);

  let endpointFacts: (key: string) => EndpointFacts;
  if (endpointSource === 'v1/Endpoints') {
    const eps = await core.listEndpointsForAllNamespaces();
    const byKey = new Map(eps.items.map((e) => [`${e.metadata?.namespace ?? 'default'}/${e.metadata?.name ?? ''}`, e]));
    endpointFacts = (key) => factsFromEndpoints(byKey.get(key));
  } else {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const list = (await objects.list(endpointSource, 'EndpointSlice')) as k8s.KubernetesListObject<k8s.KubernetesObject & SliceLike>;
    const index = new SliceIndex();
    for (const s of list.items) index.upsert(s);
    endpointFacts = (key) => index.facts(key);
  }

  const uidOf = new Map(services.items.map((s) => [serviceKey(s), s.metadata?.uid]));
  const nodeAssigned = new Map<string, NodeAssignedEvent>();
  const latest = new Map<string, number>();
  for (const e of events.items) {
    if (e.involvedObject?.kind !== 'Service') continue;
    const key = `${e.involvedObject.namespace ?? e.metadata?.namespace ?? 'default'}/${e.involvedObject.name ?? ''}`;
    const uid = uidOf.get(key);
    if (uid && e.involvedObject.uid && e.involvedObject.uid !== uid) continue; // an earlier Service of that name
    const t = eventTime(e);
    if ((latest.get(key) ?? -1) > t) continue;
    latest.set(key, t);
    const node = e.source?.host ?? e.reportingInstance ?? /node "([^"]+)"/.exec(e.message ?? '')?.[1] ?? '';
    nodeAssigned.set(key, { node, message: e.message ?? '', time: t > 0 ? new Date(t).toISOString() : undefined, count: e.count ?? 1 });
  }

  return {
    configSource: live.source,
    configWhere: live.where,
    configFound: live.found,
    config: live.config,
    allowAddressChanges: live.allowAddressChanges,
    configErrors: live.errors,
    namespaceLabels: new Map(namespaces.items.map((n) => [n.metadata?.name ?? '', n.metadata?.labels ?? {}])),
    lbClass: opts.lbClass,
    services: services.items,
    nodes: nodeMap,
    speakers,
    endpointSource,
    endpointFacts,
    nodeAssigned,
    now,
  };
}

export async function loadFromFlags(f: CommonFlags, now?: number): Promise<LiveState> {
  return loadLiveState({
    kc: kubeConfigFrom(f),
    configNamespace: f['config-namespace'] ?? 'ironlb-system',
    configName: f['config-name'] ?? 'config',
    configSource: configSourceFlag(f['config-source']),
    namespace: f.namespace ?? 'ironlb-system',
    lbClass: f['lb-class'],
    now,
  });
}

/** Plain text table: columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** JSON with bigints as numbers when safe, strings otherwise. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(
      value,
      (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v),
      2,
    ) + '\n'
  );
}

// ---- the controller's decision, replayed -------------------------------------------------------

export type AddressReason =
  | 'assigned'
  | 'pending'
  | 'wouldMove'
  | 'notLoadBalancer'
  | 'classFiltered'
  | 'noClusterIP'
  | 'noConfig'
  | 'invalidConfig'
  | 'invalidRequest'
  | 'outsideConfig'
  | 'noPool'
  | 'requestedIPNotInPool'
  | 'poolMismatch'
  | 'poolExhausted'
  | 'poolRestricted'
  | 'sharingConflict'
  | 'familyUnavailable';

export interface AddressDecision {
  /** What the Service shows now (status.loadBalancer.ingress). */
  current: string[];
  /** What the controller would give it now (or let it keep): empty when nothing. */
  wouldGet: string[];
  pool?: string;
  reason: AddressReason;
  message: string;
}

const FAILURE_REASON: Record<string, AddressReason> = {
  PoolExhausted: 'poolExhausted',
  PoolRestricted: 'poolRestricted',
  NotInAnyPool: 'requestedIPNotInPool',
  UnknownPool: 'noPool',
  NoPools: 'noPool',
  SharingConflict: 'sharingConflict',
  PoolMismatch: 'poolMismatch',
  FamilyUnavailable: 'familyUnavailable',
  InvalidRequest: 'invalidRequest',
};

const NOT_HANDLED: Record<string, AddressReason> = { notLoadBalancer: 'notLoadBalancer', classFiltered: 'classFiltered', noClusterIP: 'noClusterIP' };

function notHandledMessage(state: LiveState, svc: k8s.V1Service, why: string): string {
  if (why === 'notLoadBalancer') return `spec.type is ${svc.spec?.type ?? 'ClusterIP'}, not LoadBalancer: ironlb gives it no address`;
  if (why === 'classFiltered') {
    const cls = (svc.spec as { loadBalancerClass?: string } | undefined)?.loadBalancerClass;
    const served = state.lbClass ? `only class "${state.lbClass}"` : 'only Services without spec.loadBalancerClass';
    return `spec.loadBalancerClass is ${cls ? `"${cls}"` : 'unset'} and the controller serves ${served}; another implementation owns it`;
  }
  return 'the Service has no cluster IP (headless): ironlb gives it no address';
}

/**
 * Why the Service has (or has no) address: the controller's own decide() on an allocator restored
 * from every Service's status (restoreFromStatus), exactly as the leader would run it now.
 */
export function decideAddress(state: LiveState, svc: k8s.V1Service): AddressDecision {
  const current = ingressIPs(svc);
  const none = (reason: AddressReason, message: string): AddressDecision => ({ current, wouldGet: [], reason, message });
  const { allocator } = restoredAllocator(state.config, state.services, state.lbClass);
  const namespaceLabels = (ns: string): Readonly<Record<string, string>> | undefined => state.namespaceLabels?.get(ns);
  const o = decide({ config: state.config, lbClass: state.lbClass, allowAddressChanges: state.allowAddressChanges ?? false, namespaceLabels }, allocator, svc).outcome;
  switch (o.kind) {
    case 'notHandled':
      return none(NOT_HANDLED[o.why], notHandledMessage(state, svc, o.why));
    case 'noConfig':
      if (state.configFound) return none('invalidConfig', `${state.configWhere}: invalid (the controller keeps its last good configuration): ${state.configErrors.join('; ')}`);
      return none('noConfig', `${state.configWhere}: ${state.configSource === 'crds' ? 'no IPAddressPool' : 'the ConfigMap does not exist'}: there are no pools to allocate from`);
    case 'invalidRequest':
      return { current, wouldGet: [...o.kept], reason: 'invalidRequest', message: `${o.reason}: ${o.message}${o.kept.length > 0 ? `; the Service keeps ${o.kept.join(', ')}` : ''}` };
    case 'outsideConfig':
      return { current, wouldGet: [...o.kept], reason: 'outsideConfig', message: `${o.kept.join(', ')} is in no configured pool; the controller lets the Service keep it (ironlb.io/allow-address-changes ${state.configSource === 'crds' ? 'on an IPAddressPool' : 'on the ConfigMap'} lets it move)` };
    case 'failed': {
      const tail = o.kept.length > 0 ? `; the Service keeps ${o.kept.join(', ')}` : current.length > 0 ? ` (it still shows ${current.join(', ')}, which the controller clears)` : '';
      return { current, wouldGet: [...o.kept], reason: FAILURE_REASON[o.reason] ?? 'invalidRequest', message: `${o.message}${tail}` };
    }
    case 'assigned':
      break;
  }
  const ips = [...o.ips];
  const built = buildRequest(svc);
  const req = built.ok ? built.request : undefined;
  const how = req?.requestedIPs.length
    ? `requested ${req.requestedIPs.join(', ')}`
    : req?.poolName
      ? `pool "${req.poolName}" named by annotation`
      : 'first free address of the first auto-assign pool that can serve it';
  if (current.length === 0) {
    return { current, wouldGet: ips, pool: o.pool, reason: 'pending', message: `the controller would assign ${ips.join(', ')} from pool "${o.pool}" (${how}) but has not: is it running and leading?` };
  }
  const same = current.length === ips.length && current.every((ip, i) => canonicalIP(ip) === ips[i]);
  if (!same) {
    return { current, wouldGet: ips, pool: o.pool, reason: 'wouldMove', message: `${current.join(', ')} no longer fits; the controller would move it to ${ips.join(', ')} from pool "${o.pool}"` };
  }
  return { current, wouldGet: ips, pool: o.pool, reason: 'assigned', message: `${ips.join(', ')} from pool "${o.pool}" (${how})` };
}
