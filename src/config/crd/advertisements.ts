// L2Advertisement and BGPAdvertisement objects: which pools they select (by name, by label, or all
// when they name none), and what they announce. The ConfigMap's advertisement rules are reused
// (aggregation lengths against the pool's prefixes, communities and aliases); MetalLB's webhook
// rules are added (references that must exist, no repeats, compatible LOCAL_PREFs).
import { isSeq } from 'yaml';
import { canonical, definedOnly } from '../canonical';
import { nodeSelectorMatches, selectorMatches } from '../selector';
import type { BgpAdvertisement, Community, L2Advertisement, LabelSelector } from '../types';
import { checkAggregation, readCommunities, type EntryAt } from '../validate-advertisements';
import { readInterfaceNames } from '../validate-pools';
import type { At, Fields, YamlReader } from '../yaml-walk';
import { describeRef, where, type ObjectAt } from './objects';
import { readSelectorList, readUniqueStrings, specOf, type PoolDraft } from './pools';

const POOL_REF_KEYS = ['ipAddressPools', 'ipAddressPoolSelectors'] as const;
const L2_KEYS = [...POOL_REF_KEYS, 'nodeSelectors', 'interfaces', 'serviceSelectors'] as const;
const BGP_KEYS = [...POOL_REF_KEYS, 'aggregationLength', 'aggregationLengthV6', 'localPref', 'communities', 'nodeSelectors', 'peers', 'serviceSelectors'] as const;

/** A node's name and labels, when the caller knows the nodes (finer LOCAL_PREF conflict checks). */
export interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** An advertisement attached to a pool, with the object it came from. */
export interface Attached<T> {
  readonly object: ObjectAt;
  readonly spec: At | undefined;
  readonly advertisement: T;
}

function hasItems(at: At | undefined): boolean {
  return at !== undefined && isSeq(at.node) && at.node.items.length > 0;
}

/** The pools an advertisement selects: by name (each must exist) or label; neither given = every pool. */
function selectPools(r: YamlReader, f: Fields<(typeof POOL_REF_KEYS)[number]>, pools: readonly PoolDraft[], poolNames: ReadonlySet<string>): PoolDraft[] {
  const exists = (name: string): string | undefined => (poolNames.has(name) ? undefined : `IPAddressPool "${name}" does not exist`);
  const names = new Set(readUniqueStrings(r, f.ipAddressPools, exists));
  const selectors = readSelectorList(r, f.ipAddressPoolSelectors);
  if (!hasItems(f.ipAddressPools) && !hasItems(f.ipAddressPoolSelectors)) return [...pools];
  return pools.filter((p) => names.has(p.name) || selectors.some((s) => nodeSelectorMatches(s, p.labels)));
}

function attach<T>(byPool: Map<PoolDraft, Attached<T>[]>, pools: readonly PoolDraft[], a: Attached<T>): void {
  for (const pool of pools) {
    const list = byPool.get(pool);
    if (list) list.push(a);
    else byPool.set(pool, [a]);
  }
}

/** What two advertisements are compared on: everything but the object they came from. */
function comparable(a: L2Advertisement | BgpAdvertisement): string {
  return canonical({ ...a, source: undefined });
}

/** L2Advertisements by pool; one reached twice (or two identical ones) count once, as in MetalLB. */
export function readL2Objects(r: YamlReader, objects: readonly ObjectAt[], pools: readonly PoolDraft[]): Map<PoolDraft, L2Advertisement[]> {
  const byPool = new Map<PoolDraft, Attached<L2Advertisement>[]>();
  const poolNames = new Set(pools.map((p) => p.name));
  const forms = new Map<L2Advertisement, string>();
  for (const o of objects) {
    const spec = specOf(r, o);
    const f = r.fields(spec, L2_KEYS, { unknown: 'warn' }) ?? {};
    const selected = selectPools(r, f, pools, poolNames);
    const advertisement: L2Advertisement = {
      nodeSelectors: readSelectorList(r, f.nodeSelectors),
      interfaces: readInterfaceNames(r, f.interfaces),
      serviceSelectors: readSelectorList(r, f.serviceSelectors),
      source: describeRef(o.ref),
    };
    attach(byPool, selected, { object: o, spec, advertisement });
    forms.set(advertisement, comparable(advertisement));
  }
  const out = new Map<PoolDraft, L2Advertisement[]>();
  for (const [pool, list] of byPool) {
    const seen = new Set<string>();
    out.set(
      pool,
      list
        .map((a) => a.advertisement)
        .filter((a) => {
          const form = forms.get(a) ?? comparable(a);
          const fresh = !seen.has(form);
          seen.add(form);
          return fresh;
        }),
    );
  }
  return out;
}

/** Entries of a pool, named for messages from another object. */
function entriesOf(pool: PoolDraft): EntryAt[] {
  return pool.entries.map((e) => ({ entry: e.entry, at: { ...e.at, path: where(pool.object, e.at) } }));
}

export interface BgpContext {
  readonly pools: readonly PoolDraft[];
  readonly peerNames: ReadonlySet<string>;
  readonly aliases: ReadonlyMap<string, Community>;
  readonly nodes?: readonly NodeFacts[];
}

function readBgpAdvertisement(
  r: YamlReader,
  o: ObjectAt,
  ctx: BgpContext,
  poolNames: ReadonlySet<string>,
): { spec?: At; selected: PoolDraft[]; advertisement: BgpAdvertisement } {
  const spec = specOf(r, o);
  const f = r.fields(spec, BGP_KEYS, { unknown: 'warn' }) ?? {};
  const selected = selectPools(r, f, ctx.pools, poolNames);
  const aggregationLength = r.integer(f.aggregationLength, { min: 1, max: 32 }) ?? 32;
  const aggregationLengthV6 = r.integer(f.aggregationLengthV6, { min: 0, max: 128 }) ?? 128;
  // No entry is wider than a /32 (/128): only shorter lengths need the entries, named for messages.
  const mayBeTooShort = aggregationLength < 32 || aggregationLengthV6 < 128;
  for (const pool of mayBeTooShort ? selected : []) {
    const entries = entriesOf(pool);
    checkAggregation(r, f.aggregationLength, 4, aggregationLength, entries, 'aggregationLength');
    checkAggregation(r, f.aggregationLengthV6, 6, aggregationLengthV6, entries, 'aggregationLengthV6');
  }
  const localPref = r.integer(f.localPref, { min: 0, max: 0xffffffff }) || undefined;
  const communities = readCommunities(r, f.communities, ctx.aliases, 'any Community object');
  const peers = readUniqueStrings(r, f.peers, (name) => (ctx.peerNames.has(name) ? undefined : `BGPPeer "${name}" does not exist`));
  const serviceSelectors = readSelectorList(r, f.serviceSelectors);
  if (serviceSelectors.length > 0 && f.serviceSelectors && (aggregationLength !== 32 || aggregationLengthV6 !== 128)) {
    r.report(f.serviceSelectors, 'serviceSelectors only work with the default aggregation lengths (32 and 128)');
  }
  const advertisement: BgpAdvertisement = {
    aggregationLength,
    aggregationLengthV6,
    communities,
    nodeSelectors: readSelectorList(r, f.nodeSelectors),
    peers,
    serviceSelectors,
    source: describeRef(o.ref),
    ...definedOnly({ localPref }),
  };
  return { spec, selected, advertisement };
}

/** Could some node announce both? Exact with the node list; otherwise only provably disjoint selectors count as apart. */
function nodesOverlap(a: readonly LabelSelector[], b: readonly LabelSelector[], nodes: readonly NodeFacts[] | undefined): boolean {
  if (nodes) return nodes.some((n) => selectorMatches(a, n.labels) && selectorMatches(b, n.labels));
  if (a.length === 0 || b.length === 0) return true;
  const disjoint = (x: LabelSelector, y: LabelSelector): boolean =>
    Object.entries(x.matchLabels).some(([k, v]) => y.matchLabels[k] !== undefined && y.matchLabels[k] !== v);
  return a.some((x) => b.some((y) => !disjoint(x, y)));
}

function peersOverlap(a: readonly string[], b: readonly string[]): boolean {
  return a.length === 0 || b.length === 0 || a.some((p) => b.includes(p));
}

/**
 * MetalLB's BGPAdvertisementsHaveCompatibleLocalPref: two advertisements of one pool with different
 * LOCAL_PREFs must not announce the same prefix to the same peer from the same node.
 */
function conflict(pool: PoolDraft, a: BgpAdvertisement, b: BgpAdvertisement, nodes: readonly NodeFacts[] | undefined): boolean {
  if (a.localPref === b.localPref) return false;
  const families = new Set(pool.addresses.map((e) => e.range.family));
  const sameLength = (families.has(4) && a.aggregationLength === b.aggregationLength) || (families.has(6) && a.aggregationLengthV6 === b.aggregationLengthV6);
  return sameLength && peersOverlap(a.peers ?? [], b.peers ?? []) && nodesOverlap(a.nodeSelectors ?? [], b.nodeSelectors ?? [], nodes);
}

/** BGPAdvertisements by pool, after the rules between advertisements of one pool. */
export function readBgpObjects(r: YamlReader, objects: readonly ObjectAt[], ctx: BgpContext): Map<PoolDraft, BgpAdvertisement[]> {
  const byPool = new Map<PoolDraft, Attached<BgpAdvertisement>[]>();
  const poolNames = new Set(ctx.pools.map((p) => p.name));
  const forms = new Map<BgpAdvertisement, string>();
  for (const o of objects) {
    const { spec, selected, advertisement } = readBgpAdvertisement(r, o, ctx, poolNames);
    attach(byPool, selected, { object: o, spec, advertisement });
    forms.set(advertisement, comparable(advertisement));
  }
  const out = new Map<PoolDraft, BgpAdvertisement[]>();
  for (const [pool, list] of byPool) {
    list.forEach((later, i) => {
      const at = later.spec ?? later.object.at;
      for (const earlier of list.slice(0, i)) {
        const [a, b] = [earlier.advertisement, later.advertisement];
        if (forms.get(a) === forms.get(b)) {
          r.report(at, `identical to ${a.source} for pool "${pool.name}"; each advertisement must differ`);
        } else if (conflict(pool, a, b, ctx.nodes)) {
          r.report(
            at,
            `localPref ${b.localPref ?? 'unset'} conflicts with ${a.source} (localPref ${a.localPref ?? 'unset'}) for pool "${pool.name}": both announce the same prefixes to the same peers from the same nodes`,
          );
        }
      }
    });
    out.set(
      pool,
      list.map((a) => a.advertisement),
    );
  }
  return out;
}
