// MetalLB v0.12 ConfigMap text → the equivalent metallb.io objects, named as MetalLB's own
// converter (configmaptocrs) names them: pools keep their names (made valid object names),
// peerN, bgpadvertisementN, l2advertisementN, one Community "communities". Values the BGP daemon
// would default (hold and keepalive time, port, aggregation lengths) are written out. Pure; the
// result is checked by translating it back, so nothing is printed that ironlb would refuse.
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { formatIssue, parseConfigText } from '../parse';
import { formatGoDuration } from '../duration';
import type { AddressPool, BfdProfile, Config, NodeSelector, Peer } from '../types';
import { formatObjectIssue } from './objects';
import { CROSS_NAMESPACE_SHARING_ANNOTATION, DATAPATH_CHECK_ANNOTATION, RELEASE_DELAY_ANNOTATION } from './pools';
import { translateObjects } from './translate';

type Obj = Record<string, unknown>;

export type MigrateResult =
  | { readonly ok: true; readonly objects: readonly Obj[]; readonly renamed: ReadonlyMap<string, string>; readonly notes: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

const VALID_LABEL_NAME = /^[a-z][-a-z0-9]{0,61}[a-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * MetalLB's formatToK8S: names that are not already DNS labels are cut to 63 characters,
 * lowercased, `_` becomes `-`, and everything before the first letter is dropped.
 */
export function objectName(name: string): string | undefined {
  if (VALID_LABEL_NAME.test(name)) return name;
  const converted = name.slice(0, 63).toLowerCase().replace(/_/g, '-');
  const first = converted.search(/[a-z]/);
  if (first < 0) return undefined;
  const final = converted.slice(first);
  return DNS_SUBDOMAIN.test(final) ? final : undefined;
}

function selectorObject(s: NodeSelector): Obj {
  const out: Obj = {};
  if (Object.keys(s.matchLabels).length > 0) out.matchLabels = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) {
    out.matchExpressions = s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length > 0 && { values: [...e.values] }) }));
  }
  return out;
}

const selectors = (list: readonly NodeSelector[]): Obj => (list.length > 0 ? { nodeSelectors: list.map(selectorObject) } : {});

function meta(apiVersion: string, kind: string, name: string, namespace: string, spec: Obj, annotations?: Record<string, string>): Obj {
  return { apiVersion: `metallb.io/${apiVersion}`, kind, metadata: { name, namespace, ...(annotations && { annotations }) }, spec };
}

/** ironlb's pool keys that metallb.io has no field for, as the IPAddressPool annotations ironlb reads. */
function poolAnnotations(p: AddressPool): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (p.releaseDelaySeconds) out[RELEASE_DELAY_ANNOTATION] = formatGoDuration(p.releaseDelaySeconds);
  if (p.crossNamespaceSharing === false) out[CROSS_NAMESPACE_SHARING_ANNOTATION] = 'false';
  if (p.dataPathCheck) out[DATAPATH_CHECK_ANNOTATION] = p.dataPathCheck;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Names for every pool and BFD profile, or the errors that stop the conversion. */
function renames(config: Config): { names: Map<string, string>; bfd: Map<string, string>; errors: string[] } {
  const errors: string[] = [];
  const build = (what: string, all: readonly string[]): Map<string, string> => {
    const out = new Map<string, string>();
    const taken = new Map<string, string>();
    for (const name of all) {
      const converted = objectName(name);
      const clash = converted === undefined ? undefined : taken.get(converted);
      if (converted === undefined) errors.push(`${what} "${name}" cannot be made a valid object name; rename it`);
      else if (clash !== undefined) errors.push(`${what}s "${clash}" and "${name}" would both be named "${converted}"; rename one`);
      else {
        taken.set(converted, name);
        out.set(name, converted);
      }
    }
    return out;
  };
  return { names: build('pool', config.pools.map((p) => p.name)), bfd: build('bfd profile', config.bfdProfiles.map((b) => b.name)), errors };
}

function peerObject(p: Peer, index: number, namespace: string, bfd: ReadonlyMap<string, string>): Obj {
  return meta('v1beta2', 'BGPPeer', `peer${index + 1}`, namespace, {
    myASN: p.myASN,
    peerASN: p.peerASN,
    peerAddress: p.peerAddress,
    ...(p.sourceAddress !== undefined && { sourceAddress: p.sourceAddress }),
    peerPort: p.peerPort,
    holdTime: formatGoDuration(p.holdTimeSeconds),
    keepaliveTime: formatGoDuration(p.keepaliveTimeSeconds),
    ...(p.routerID !== undefined && { routerID: p.routerID }),
    ...selectors(p.nodeSelectors),
    ...(p.password !== undefined && { password: p.password }),
    ...(p.bfdProfile !== undefined && { bfdProfile: bfd.get(p.bfdProfile) ?? p.bfdProfile }),
    ...(p.ebgpMultihop && { ebgpMultiHop: true }),
  });
}

function bfdObject(b: BfdProfile, namespace: string, bfd: ReadonlyMap<string, string>): Obj {
  const { name, ...settings } = b;
  return meta('v1beta1', 'BFDProfile', bfd.get(name) ?? name, namespace, { ...settings });
}

/** A scalar as written (`name: 0x10` is the pool "0x10", as the ConfigMap parser reads it). */
function text(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
}

interface Written {
  /** Pool names in the ConfigMap's order, which MetalLB's converter keeps (Config sorts by priority). */
  readonly pools: readonly string[];
  /** Each advertisement's communities as written (aliases stay aliases), by pool name. */
  readonly communities: ReadonlyMap<string, readonly (readonly string[] | undefined)[]>;
  /** bgp-communities as written, sorted by alias. */
  readonly aliases: readonly [string, string][];
}

function written(configText: string): Written {
  const doc = parseDocument(configText);
  const root = doc.contents;
  const pools: string[] = [];
  const communities = new Map<string, (string[] | undefined)[]>();
  const poolList = isMap(root) ? root.get('address-pools', true) : undefined;
  for (const item of isSeq(poolList) ? poolList.items : []) {
    const name = isMap(item) ? text(item.get('name', true)) : undefined;
    if (name === undefined || !isMap(item)) continue;
    pools.push(name);
    const ads = item.get('bgp-advertisements', true);
    const list = (isSeq(ads) ? ads.items : []).map((a) => {
      const c = isMap(a) ? a.get('communities', true) : undefined;
      return isSeq(c) ? c.items.map((x) => (text(x) ?? '').trim()) : undefined;
    });
    communities.set(name, list);
  }
  const aliasMap = isMap(root) ? root.get('bgp-communities', true) : undefined;
  const aliases: [string, string][] = (isMap(aliasMap) ? aliasMap.items : [])
    .map((pair): [string, string] => [text(pair.key) ?? '', (text(pair.value) ?? '').trim()])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { pools, communities, aliases };
}

/**
 * serviceAllocation priorities 1..n in the ConfigMap's allocation order (priority, then name), when
 * that order needs them: ironlb pool priorities are set, or renaming would change the name order
 * that breaks ties. Otherwise none, as MetalLB's converter writes. (0 would mean "last".)
 */
function priorityRanks(pools: readonly AddressPool[], names: ReadonlyMap<string, string>): Map<string, number> | undefined {
  const renamed = (p: AddressPool): string => names.get(p.name) ?? p.name;
  const reordered = pools.some((p, i) => i > 0 && renamed(pools[i - 1]) >= renamed(p));
  if (pools.every((p) => p.priority === 0) && !reordered) return undefined;
  return new Map(pools.map((p, i) => [p.name, i + 1]));
}

export function configMapToObjects(configText: string, namespace: string): MigrateResult {
  const parsed = parseConfigText(configText);
  if (!parsed.ok) return { ok: false, errors: parsed.errors.map(formatIssue) };
  const config = parsed.config;
  const { names, bfd, errors } = renames(config);
  if (errors.length > 0) return { ok: false, errors };
  const source = written(configText);
  // Config.pools is in allocation order: (priority, name).
  const ranks = priorityRanks(config.pools, names);
  const pools = source.pools.map((n) => config.pools.find((p) => p.name === n)).filter((p): p is AddressPool => p !== undefined);

  const objects: Obj[] = config.peers.map((p, i) => peerObject(p, i, namespace, bfd));
  for (const p of pools) {
    const rank = ranks?.get(p.name);
    objects.push(
      meta('v1beta1', 'IPAddressPool', names.get(p.name) ?? p.name, namespace, {
        addresses: p.addresses.map((a) => a.text),
        autoAssign: p.autoAssign,
        avoidBuggyIPs: p.avoidBuggyIPs,
        ...(rank !== undefined && { serviceAllocation: { priority: rank } }),
      }, poolAnnotations(p)),
    );
  }
  let bgpIndex = 0;
  for (const p of pools.filter((x) => x.protocol === 'bgp')) {
    p.bgpAdvertisements.forEach((a, i) => {
      const asWritten = source.communities.get(p.name)?.[i];
      const spec: Obj = {
        ipAddressPools: [names.get(p.name) ?? p.name],
        aggregationLength: a.aggregationLength,
        aggregationLengthV6: a.aggregationLengthV6,
        ...(a.localPref !== undefined && { localPref: a.localPref }),
        ...(asWritten && asWritten.length > 0 && { communities: [...asWritten] }),
        ...selectors(p.nodeSelectors),
      };
      objects.push(meta('v1beta1', 'BGPAdvertisement', `bgpadvertisement${++bgpIndex}`, namespace, spec));
    });
  }
  pools
    .filter((p) => p.protocol === 'layer2')
    .forEach((p, i) => {
      const spec: Obj = { ipAddressPools: [names.get(p.name) ?? p.name], ...(p.interfaces.length > 0 && { interfaces: [...p.interfaces] }), ...selectors(p.nodeSelectors) };
      objects.push(meta('v1beta1', 'L2Advertisement', `l2advertisement${i + 1}`, namespace, spec));
    });
  objects.push(...config.bfdProfiles.map((b) => bfdObject(b, namespace, bfd)));
  if (source.aliases.length > 0) {
    objects.push(meta('v1beta1', 'Community', 'communities', namespace, { communities: source.aliases.map(([name, value]) => ({ name, value })) }));
  }

  const check = translateObjects(objects, { namespace });
  if (!check.ok) return { ok: false, errors: ['the converted objects break a rule of the metallb.io API:', ...check.errors.map(formatObjectIssue)] };
  const renamed = new Map([...names, ...bfd].filter(([from, to]) => from !== to));
  const notes = [...names]
    .filter(([from, to]) => from !== to)
    .map(([from, to]) => `pool "${from}" becomes IPAddressPool "${to}": Services that name it in an address-pool annotation must name "${to}"`);
  return { ok: true, objects, renamed, notes };
}
