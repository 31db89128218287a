// IPAddressPool and Community objects: addresses (with the ConfigMap's entry rules and MetalLB's
// no-overlap rule across every pool), serviceAllocation, and the community aliases.
import { canonical } from '../canonical';
import { parseCommunity } from '../community';
import type { Community, DataPathCheck, LabelSelector, PoolAddressEntry, ServiceAllocation } from '../types';
import type { EntryAt } from '../validate-advertisements';
import { readAddressEntries, readDataPathCheck, readReleaseDelay, reportOverlaps, type PlacedEntry } from '../validate-pools';
import { readNodeSelectors } from '../validate-selectors';
import type { At, YamlReader } from '../yaml-walk';
import { describeRef, where, type ObjectAt } from './objects';

const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'] as const;
const POOL_KEYS = ['addresses', 'autoAssign', 'avoidBuggyIPs', 'serviceAllocation'] as const;
const ALLOCATION_KEYS = ['priority', 'namespaces', 'namespaceSelectors', 'serviceSelectors'] as const;
const INT32 = { min: -0x80000000, max: 0x7fffffff };
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** ironlb's sticky addresses for an IPAddressPool (the ConfigMap's pool key `release-delay`). */
export const RELEASE_DELAY_ANNOTATION = 'ironlb.io/release-delay';
/** ironlb's `"false"`: no sharing across namespaces in this pool (the ConfigMap's `cross-namespace-sharing`). */
export const CROSS_NAMESPACE_SHARING_ANNOTATION = 'ironlb.io/cross-namespace-sharing';
/** ironlb's data-path-gated ownership for the pool's layer-2 announcements (the ConfigMap's `datapath-check`). */
export const DATAPATH_CHECK_ANNOTATION = 'ironlb.io/datapath-check';

/** An IPAddressPool as read: everything but how it is announced. */
export interface PoolDraft {
  readonly object: ObjectAt;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly entries: readonly EntryAt[];
  readonly addresses: readonly PoolAddressEntry[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation?: ServiceAllocation;
  /** The annotation ironlb.io/release-delay, in seconds (absent or 0: none). */
  readonly releaseDelaySeconds?: number;
  /** The annotation ironlb.io/cross-namespace-sharing: "false". */
  readonly crossNamespaceSharing?: false;
  /** The annotation ironlb.io/datapath-check. */
  readonly dataPathCheck?: DataPathCheck;
  /** False when a field is in error (the pool still takes part in the overlap and reference checks). */
  readonly complete: boolean;
}

/** The spec of an object, strict about the top level; undefined when absent (some kinds may omit it). */
export function specOf(r: YamlReader, o: ObjectAt, topKeys: readonly string[] = TOP_KEYS): At | undefined {
  const f = r.fields(o.at, topKeys, { unknown: 'warn' });
  return f?.spec;
}

/** Selectors, each one only once (MetalLB refuses repeated selectors). */
export function readSelectorList(r: YamlReader, at: At | undefined): LabelSelector[] {
  const selectors = readNodeSelectors(r, at, 'object');
  const items = r.items(at) ?? [];
  const seen = new Map<string, number>();
  selectors.forEach((s, i) => {
    const form = canonical(s);
    const first = seen.get(form);
    if (first !== undefined && items[i]) r.report(items[i], `repeats selector [${first}]`);
    else seen.set(form, i);
  });
  return selectors;
}

/** A list of strings, each only once; `check` may return why a value is invalid. */
export function readUniqueStrings(r: YamlReader, at: At | undefined, check?: (value: string) => string | undefined): string[] {
  const out = new Set<string>();
  for (const { value, at: itemAt } of r.stringList(at) ?? []) {
    const problem = check?.(value);
    if (problem) r.report(itemAt, problem);
    else if (out.has(value)) r.report(itemAt, `"${value}" is listed twice`);
    else out.add(value);
  }
  return [...out];
}

function readServiceAllocation(r: YamlReader, at: At | undefined): ServiceAllocation | undefined {
  const f = r.fields(at, ALLOCATION_KEYS, { unknown: 'warn' });
  if (!f) return undefined;
  const namespaceProblem = (ns: string): string | undefined =>
    ns.length > 63 || !NAMESPACE_NAME.test(ns) ? `"${ns}" is not a valid namespace name` : undefined;
  return {
    priority: r.integer(f.priority, INT32) ?? 0,
    namespaces: readUniqueStrings(r, f.namespaces, namespaceProblem),
    namespaceSelectors: readSelectorList(r, f.namespaceSelectors),
    serviceSelectors: readSelectorList(r, f.serviceSelectors),
  };
}

/** Where metadata.annotations[key] of the object is, if set. */
function annotation(r: YamlReader, o: ObjectAt, key: string): At | undefined {
  const metadata = r.entries(o.at)?.find((e) => e.key === 'metadata')?.value;
  const annotations = metadata && r.entries(metadata)?.find((e) => e.key === 'annotations')?.value;
  return annotations && r.entries(annotations)?.find((e) => e.key === key)?.value;
}

function readPool(r: YamlReader, o: ObjectAt): PoolDraft {
  const before = r.issues.length;
  const spec = specOf(r, o);
  if (!spec) r.reportMissing(o.at, 'spec', 'is required (spec.addresses lists the pool\'s addresses)');
  const f = r.fields(spec, POOL_KEYS, { unknown: 'warn' }) ?? {};
  const entries = spec ? readAddressEntries(r, f.addresses, spec) : [];
  const serviceAllocation = readServiceAllocation(r, f.serviceAllocation);
  const releaseDelaySeconds = readReleaseDelay(r, annotation(r, o, RELEASE_DELAY_ANNOTATION));
  const sharingAt = annotation(r, o, CROSS_NAMESPACE_SHARING_ANNOTATION);
  const sharing = sharingAt && r.string(sharingAt);
  if (sharingAt && sharing !== undefined && sharing !== 'true' && sharing !== 'false') r.report(sharingAt, `${CROSS_NAMESPACE_SHARING_ANNOTATION} must be "true" or "false", got "${sharing}"`);
  const dataPathCheck = readDataPathCheck(r, annotation(r, o, DATAPATH_CHECK_ANNOTATION), DATAPATH_CHECK_ANNOTATION);
  return {
    object: o,
    name: o.name,
    labels: o.labels,
    entries,
    addresses: entries.map((e) => e.entry),
    autoAssign: r.bool(f.autoAssign) ?? true,
    avoidBuggyIPs: r.bool(f.avoidBuggyIPs) ?? false,
    ...(serviceAllocation && { serviceAllocation }),
    ...(releaseDelaySeconds ? { releaseDelaySeconds } : {}),
    ...(sharing === 'false' && { crossNamespaceSharing: false as const }),
    ...(dataPathCheck && { dataPathCheck }),
    complete: r.issues.length === before,
  };
}

/** Every pool, then MetalLB's rule that no address may be in two entries of any pools. */
export function readPools(r: YamlReader, objects: readonly ObjectAt[]): PoolDraft[] {
  const pools = objects.map((o) => readPool(r, o));
  const placed: PlacedEntry[] = [];
  for (const p of pools) {
    for (const e of p.entries) {
      placed.push({ entry: e.entry, at: e.at, range: e.entry.range, order: placed.length, pool: undefined, where: () => where(p.object, e.at) });
    }
  }
  reportOverlaps(r, placed);
  return pools;
}

const COMMUNITY_KEYS = ['communities'] as const;
const ALIAS_KEYS = ['name', 'value'] as const;

/** Community objects: alias → value, names unique across all of them. */
export function readCommunityObjects(r: YamlReader, objects: readonly ObjectAt[]): Map<string, Community> {
  const aliases = new Map<string, Community>();
  const definedAt = new Map<string, string>();
  for (const o of objects) {
    const f = r.fields(specOf(r, o), COMMUNITY_KEYS, { unknown: 'warn' }) ?? {};
    for (const item of r.items(f.communities) ?? []) {
      const a = r.fields(item, ALIAS_KEYS, { unknown: 'warn' });
      if (!a) continue;
      const nameAt = r.require(a, 'name', item);
      const name = r.string(nameAt);
      const valueAt = r.require(a, 'value', item);
      const value = r.string(valueAt);
      if (nameAt && name === '') r.report(nameAt, 'must not be empty');
      if (!name || value === undefined || !valueAt) continue;
      const first = definedAt.get(name);
      if (first !== undefined) {
        r.report(nameAt ?? item, `alias "${name}" is already defined (${first})`);
        continue;
      }
      definedAt.set(name, `${describeRef(o.ref)}`);
      const parsed = parseCommunity(value);
      if (parsed.ok) aliases.set(name, parsed.value);
      else r.report(valueAt, parsed.error);
    }
  }
  return aliases;
}
