// address-pools: each pool's fields, then the rules that span pools (unique names, no overlap).
import { formatRange } from '../ipam/address';
import { findOverlaps, parseAddressEntry } from './address-entry';
import { parseSeconds } from './duration';
import { DATA_PATH_CHECKS, type AddressPool, type DataPathCheck, type PoolAddressEntry, type Protocol } from './types';
import { readAdvertisements, type CommunityAliases, type EntryAt } from './validate-advertisements';
import { readNodeSelectors } from './validate-selectors';
import type { At, Fields, YamlReader } from './yaml-walk';

const POOL_KEYS = [
  'name',
  'protocol',
  'addresses',
  'auto-assign',
  'avoid-buggy-ips',
  'bgp-advertisements',
  // ironlb additions
  'priority',
  'interfaces',
  'node-selectors',
  'cross-namespace-sharing',
  'release-delay',
  'datapath-check',
] as const;

type PoolFields = Fields<(typeof POOL_KEYS)[number]>;

const PROTOCOLS: readonly Protocol[] = ['layer2', 'bgp'];
const INT32 = { min: -0x80000000, max: 0x7fffffff };
// Linux IFNAMSIZ is 16 including the terminating NUL.
const INTERFACE_NAME = /^[^\s/:]{1,15}$/;

/** An address entry located in the document, for cross-pool overlap checks. */
export interface PlacedEntry extends EntryAt {
  readonly range: PoolAddressEntry['range'];
  readonly order: number;
  readonly pool: string | undefined;
  /** How messages name the entry (default: its path and pool); called only for a message. */
  readonly where?: () => string;
}

function readProtocol(r: YamlReader, f: PoolFields, pool: At): Protocol | undefined {
  const at = f.protocol;
  const text = r.string(at);
  if (!at || text === '') {
    r.reportMissing(pool, 'protocol', 'missing the protocol field; set it to layer2 or bgp');
    return undefined;
  }
  const protocol = PROTOCOLS.find((p) => p === text);
  if (text !== undefined && !protocol) r.report(at, `unknown protocol "${text}"; use layer2 or bgp`);
  return protocol;
}

/** A pool's address entries (also IPAddressPool spec.addresses); `parent` is the map that must hold them. */
export function readAddressEntries(r: YamlReader, addresses: At | undefined, parent: At): EntryAt[] {
  if (!addresses) {
    r.reportMissing(parent, 'addresses', 'is required: list at least one CIDR or range');
    return [];
  }
  const items = r.items(addresses);
  if (items?.length === 0) r.report(addresses, 'must list at least one CIDR or range');
  const out: EntryAt[] = [];
  for (const at of items ?? []) {
    const text = r.string(at);
    if (text === undefined) continue;
    const parsed = parseAddressEntry(text);
    if (parsed.ok) out.push({ entry: parsed.value, at });
    else r.report(at, parsed.error);
  }
  return out;
}

function readInterfaces(r: YamlReader, at: At | undefined, protocol: Protocol | undefined): string[] {
  if (at && protocol === 'bgp') r.report(at, 'interfaces only applies to layer2 pools');
  return readInterfaceNames(r, at);
}

/** A list of network interface names (also L2Advertisement spec.interfaces). */
export function readInterfaceNames(r: YamlReader, at: At | undefined): string[] {
  const names: string[] = [];
  for (const { value, at: itemAt } of r.stringList(at) ?? []) {
    if (!INTERFACE_NAME.test(value)) {
      r.report(itemAt, `invalid interface name "${value}": 1-15 characters, no spaces, '/' or ':'`);
    } else if (names.includes(value)) {
      r.report(itemAt, `interface "${value}" is listed twice`);
    } else {
      names.push(value);
    }
  }
  return names;
}

interface PoolRead {
  readonly pool?: AddressPool;
  readonly name?: string;
  readonly nameAt?: At;
  readonly entries: readonly EntryAt[];
}

function readPool(r: YamlReader, at: At, aliases: CommunityAliases): PoolRead {
  const f = r.fields(at, POOL_KEYS);
  if (!f) return { entries: [] };
  const nameAt = r.require(f, 'name', at, 'missing pool name');
  const name = r.string(nameAt);
  if (nameAt && name === '') r.report(nameAt, 'missing pool name');
  const protocol = readProtocol(r, f, at);
  const entries = readAddressEntries(r, f.addresses, at);
  const autoAssign = r.bool(f['auto-assign']) ?? true;
  const avoidBuggyIPs = r.bool(f['avoid-buggy-ips']) ?? false;
  const adsAt = f['bgp-advertisements'];
  if (protocol === 'layer2' && adsAt && (r.items(adsAt)?.length ?? 0) > 0) {
    r.report(adsAt, 'bgp-advertisements are only allowed on pools with protocol bgp');
  }
  const bgpAdvertisements = protocol === 'bgp' ? readAdvertisements(r, adsAt, entries, aliases) : [];
  const priority = r.integer(f.priority, INT32) ?? 0;
  const interfaces = readInterfaces(r, f.interfaces, protocol);
  const nodeSelectors = readNodeSelectors(r, f['node-selectors']);
  const crossNamespaceSharing = r.bool(f['cross-namespace-sharing']);
  const releaseDelaySeconds = readReleaseDelay(r, f['release-delay']);
  const dataPathCheck = readDataPathCheck(r, f['datapath-check']);
  if (dataPathCheck && protocol === 'bgp') r.report(f['datapath-check'] as At, 'datapath-check gates layer-2 announcements only; this pool has protocol bgp');
  if (!name || !protocol) return { name, nameAt, entries };
  const pool: AddressPool = {
    name,
    protocol,
    addresses: entries.map((e) => e.entry),
    autoAssign,
    avoidBuggyIPs,
    bgpAdvertisements,
    priority,
    interfaces,
    nodeSelectors,
    ...(crossNamespaceSharing === false ? { crossNamespaceSharing } : {}),
    ...(releaseDelaySeconds ? { releaseDelaySeconds } : {}),
    ...(dataPathCheck ? { dataPathCheck } : {}),
  };
  return { pool, name, nameAt, entries };
}

/** `datapath-check`: `kube-proxy`, or `off` (the same as leaving it out). */
export function readDataPathCheck(r: YamlReader, at: At | undefined, what = 'datapath-check'): DataPathCheck | undefined {
  if (!at) return undefined;
  const text = r.string(at);
  if (text === undefined || text === 'off') return undefined;
  const check = DATA_PATH_CHECKS.find((c) => c === text);
  if (!check) r.report(at, `${what} must be one of ${[...DATA_PATH_CHECKS, 'off'].join(', ')}, got "${text}"`);
  return check;
}

/** `release-delay`: a Go duration (`10m`) or whole seconds, at least 0, at most a day. */
export function readReleaseDelay(r: YamlReader, at: At | undefined): number | undefined {
  if (!at) return undefined;
  const text = r.string(at);
  if (text === undefined) return undefined;
  const d = parseSeconds(text);
  if (!d.ok) {
    r.report(at, `release-delay: ${d.error}`);
    return undefined;
  }
  if (d.value < 0 || d.value > 86_400) {
    r.report(at, `release-delay must be between 0s and 24h, got ${text}`);
    return undefined;
  }
  return d.value;
}

export function reportOverlaps(r: YamlReader, placed: readonly PlacedEntry[]): void {
  for (const [first, second] of findOverlaps(placed)) {
    const owner = first.pool === undefined ? '' : `, pool "${first.pool}"`;
    r.report(
      second.at,
      `${formatRange(second.range)} overlaps ${formatRange(first.range)} (${first.where?.() ?? `${first.at.path}${owner}`}); addresses may belong to only one entry`,
    );
  }
}

export function comparePools(a: AddressPool, b: AddressPool): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Pools come back sorted by (priority, name); issues go to the reader. */
export function readPools(r: YamlReader, at: At | undefined, aliases: CommunityAliases): AddressPool[] {
  const pools: AddressPool[] = [];
  const firstByName = new Map<string, string>();
  const placed: PlacedEntry[] = [];
  for (const item of r.items(at) ?? []) {
    const { pool, name, nameAt, entries } = readPool(r, item, aliases);
    if (name && nameAt) {
      const first = firstByName.get(name);
      if (first !== undefined) r.report(nameAt, `duplicate pool name "${name}" (already used by ${first})`);
      else firstByName.set(name, item.path);
    }
    for (const e of entries) placed.push({ entry: e.entry, at: e.at, range: e.entry.range, order: placed.length, pool: name });
    if (pool) pools.push(pool);
  }
  reportOverlaps(r, placed);
  return pools.sort(comparePools);
}
