// Entry point: MetalLB's metallb.io objects (as the API server returns them, or as read from
// files), plus the Secrets they refer to, into the same Config the ConfigMap parser produces.
// Pure: no I/O. Every problem names its object and field; every field ironlb cannot honour is
// a warning; a config with any error is refused whole (the caller keeps the last good one).
import { Document, LineCounter } from 'yaml';
import { compareAllocationOrder } from '../service-allocation';
import type { AddressPool, BgpAdvertisement, Config, L2Advertisement } from '../types';
import { YamlReader, type At } from '../yaml-walk';
import { readBgpObjects, readL2Objects, type NodeFacts } from './advertisements';
import { configKindOf, describeRef, readHeader, toObjectIssues, type ConfigKind, type ObjectAt, type ObjectIssue } from './objects';
import { readBfdObjects, readPeerObjects, readSecrets } from './peers';
import { readCommunityObjects, readPools, type PoolDraft } from './pools';

export { formatObjectIssue, type ObjectIssue, type ObjectRef } from './objects';
export type { NodeFacts } from './advertisements';

export interface TranslateOptions {
  /** The configuration namespace: objects elsewhere are refused (MetalLB's webhooks do the same). */
  readonly namespace?: string;
  /** The cluster's nodes, when known: LOCAL_PREF conflicts are then checked node by node. */
  readonly nodes?: readonly NodeFacts[];
  /** BGPPeer passwordSecret: resolve (default), 'skip' (the controller needs no passwords), 'unreadable' (refuse with the reason). */
  readonly secrets?: 'resolve' | 'skip' | 'unreadable';
}

export type ObjectsResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly ObjectIssue[] }
  | { readonly ok: false; readonly errors: readonly ObjectIssue[]; readonly warnings: readonly ObjectIssue[] };

type Sorted = Record<ConfigKind | 'Secret', ObjectAt[]>;

function sortByKind(r: YamlReader, headers: readonly (ObjectAt | undefined)[], namespace: string | undefined): Sorted {
  const sorted: Sorted = { IPAddressPool: [], L2Advertisement: [], BGPAdvertisement: [], BGPPeer: [], BFDProfile: [], Community: [], Secret: [] };
  const seen = new Map<string, ObjectAt>();
  for (const o of headers) {
    if (!o) continue;
    const kind = configKindOf(r, o, namespace);
    if (!kind) continue;
    // Names are unique per kind and namespace in a cluster; a file may still repeat one.
    const key = `${kind}/${o.namespace ?? ''}/${o.name}`;
    const first = seen.get(key);
    if (first && o.name !== '') {
      r.report({ path: o.at.path === '' ? 'metadata.name' : `${o.at.path}.metadata.name`, node: null }, `another ${kind} has this name (object ${first.index + 1})`);
      continue;
    }
    seen.set(key, o);
    sorted[kind].push(o);
  }
  return sorted;
}

function objectLevel(o: ObjectAt): At {
  return { path: o.at.path, node: null };
}

function buildPool(draft: PoolDraft, l2Advertisements: readonly L2Advertisement[], bgpAdvertisements: readonly BgpAdvertisement[]): AddressPool {
  return {
    name: draft.name,
    // For consumers that know only ConfigMap pools; l2AdvertisementsOf / bgpAdvertisementsOf tell the whole story.
    protocol: l2Advertisements.length > 0 || bgpAdvertisements.length === 0 ? 'layer2' : 'bgp',
    addresses: draft.addresses,
    autoAssign: draft.autoAssign,
    avoidBuggyIPs: draft.avoidBuggyIPs,
    bgpAdvertisements,
    priority: draft.serviceAllocation?.priority ?? 0,
    interfaces: [],
    nodeSelectors: [],
    l2Advertisements,
    ...(draft.serviceAllocation && { serviceAllocation: draft.serviceAllocation }),
    ...(draft.releaseDelaySeconds ? { releaseDelaySeconds: draft.releaseDelaySeconds } : {}),
    ...(draft.crossNamespaceSharing === false && { crossNamespaceSharing: false }),
    ...(draft.dataPathCheck && { dataPathCheck: draft.dataPathCheck }),
  };
}

export function translateObjects(objects: readonly unknown[], opts: TranslateOptions = {}): ObjectsResult {
  const r = new YamlReader(new Document(objects), new LineCounter());
  const items = r.items(r.root()) ?? [];
  const headers = items.map((at, i) => readHeader(r, at, i));
  const sorted = sortByKind(r, headers, opts.namespace);

  const secrets = opts.secrets === 'skip' || opts.secrets === 'unreadable' ? opts.secrets : readSecrets(r, sorted.Secret);
  const aliases = readCommunityObjects(r, sorted.Community);
  const bfdProfiles = readBfdObjects(r, sorted.BFDProfile);
  const drafts = readPools(r, sorted.IPAddressPool);
  const peers = readPeerObjects(r, sorted.BGPPeer, { bfdProfiles: new Set(bfdProfiles.map((b) => b.name)), secrets });
  const l2 = readL2Objects(r, sorted.L2Advertisement, drafts);
  const peerNames = new Set(sorted.BGPPeer.map((o) => o.name));
  const bgp = readBgpObjects(r, sorted.BGPAdvertisement, { pools: drafts, peerNames, aliases, nodes: opts.nodes });

  const pools: AddressPool[] = [];
  for (const draft of drafts) {
    const l2Advertisements = l2.get(draft) ?? [];
    const bgpAdvertisements = bgp.get(draft) ?? [];
    if (l2Advertisements.length === 0 && bgpAdvertisements.length === 0) {
      r.warn(objectLevel(draft.object), 'no L2Advertisement or BGPAdvertisement selects this pool: its addresses are assigned but not announced');
    }
    if (draft.complete) pools.push(buildPool(draft, l2Advertisements, bgpAdvertisements));
  }

  const warnings = toObjectIssues(r.warnings, headers);
  if (r.issues.length > 0) return { ok: false, errors: toObjectIssues(r.issues, headers), warnings };
  const config: Config = { pools: pools.sort(compareAllocationOrder), peers, bgpCommunities: Object.fromEntries(aliases), bfdProfiles };
  return { ok: true, config, warnings };
}

/** `IPAddressPool metallb-system/a` for each object that has an issue, with its issues: one Event per object. */
export function issuesByObject(issues: readonly ObjectIssue[]): Map<string, ObjectIssue[]> {
  const out = new Map<string, ObjectIssue[]>();
  for (const issue of issues) {
    const key = issue.object ? describeRef(issue.object) : '';
    const list = out.get(key);
    if (list) list.push(issue);
    else out.set(key, [issue]);
  }
  return out;
}
