// bgp-advertisements of a bgp pool: aggregation lengths, localpref and communities.
import { widestPrefix, type Family } from '../ipam/address';
import { canonical, definedOnly } from './canonical';
import { communitiesEqual, parseCommunity } from './community';
import type { BgpAdvertisement, Community, PoolAddressEntry } from './types';
import { isNullNode, type At, type YamlReader } from './yaml-walk';

const ADVERTISEMENT_KEYS = ['aggregation-length', 'aggregation-length-v6', 'localpref', 'communities'] as const;

export const DEFAULT_ADVERTISEMENT: BgpAdvertisement = { aggregationLength: 32, aggregationLengthV6: 128, communities: [] };

/** An address entry with the path it was written at, so messages can point back to it. */
export interface EntryAt {
  readonly entry: PoolAddressEntry;
  readonly at: At;
}

export type CommunityAliases = ReadonlyMap<string, Community>;

/** A literal community or an alias; `aliasSource` says where aliases are defined, for the message. */
export function resolveCommunity(text: string, aliases: CommunityAliases, aliasSource = 'bgp-communities'): { community?: Community; error?: string } {
  const alias = aliases.get(text);
  if (alias) return { community: alias };
  if (!text.includes(':')) return { error: `unknown community alias "${text}" (not defined in ${aliasSource})` };
  const parsed = parseCommunity(text);
  return parsed.ok ? { community: parsed.value } : { error: parsed.error };
}

export function readCommunities(r: YamlReader, at: At | undefined, aliases: CommunityAliases, aliasSource?: string): Community[] {
  const out: Community[] = [];
  const written = new Map<string, string>();
  for (const { value, at: itemAt } of r.stringList(at) ?? []) {
    const text = value.trim();
    const first = written.get(text);
    if (first !== undefined) {
      r.report(itemAt, `duplicate community "${text}" (already listed at ${first})`);
      continue;
    }
    written.set(text, itemAt.path);
    const { community, error } = resolveCommunity(text, aliases, aliasSource);
    if (error) r.report(itemAt, error);
    // An alias and a literal may name the same value; announce it once.
    if (community && !out.some((c) => communitiesEqual(c, community))) out.push(community);
  }
  return out;
}

/**
 * MetalLB refuses an aggregation length shorter than an address entry's own prefix: the
 * announced aggregate would then cover addresses outside the pool.
 */
export function checkAggregation(
  r: YamlReader,
  at: At | undefined,
  family: Family,
  length: number,
  entries: readonly EntryAt[],
  key = family === 4 ? 'aggregation-length' : 'aggregation-length-v6',
): void {
  const max = family === 4 ? 32 : 128;
  if (!at || length >= max) return; // a /32 (/128) aggregate is one address: never wider than an entry
  for (const { entry, at: entryAt } of entries) {
    if (entry.range.family !== family) continue;
    const widest = widestPrefix(entry.range);
    if (length < widest) {
      r.report(
        at,
        `cannot aggregate ${entry.text} (${entryAt.path}) into a /${length}: that prefix would cover addresses outside the pool; ${key} must be between ${widest} and ${max}`,
      );
    }
  }
}

function readAdvertisement(r: YamlReader, at: At, entries: readonly EntryAt[], aliases: CommunityAliases): BgpAdvertisement {
  const f = r.fields(at, ADVERTISEMENT_KEYS) ?? {};
  const aggregationLength = r.integer(f['aggregation-length'], { min: 0, max: 32 }) ?? 32;
  const aggregationLengthV6 = r.integer(f['aggregation-length-v6'], { min: 0, max: 128 }) ?? 128;
  checkAggregation(r, f['aggregation-length'], 4, aggregationLength, entries);
  checkAggregation(r, f['aggregation-length-v6'], 6, aggregationLengthV6, entries);
  const localPref = r.integer(f.localpref, { min: 0, max: 0xffffffff });
  const communities = readCommunities(r, f.communities, aliases);
  return { aggregationLength, aggregationLengthV6, communities, ...definedOnly({ localPref }) };
}

/** Reads the list; when it is absent or empty a bgp pool gets the single default advertisement. */
export function readAdvertisements(
  r: YamlReader,
  at: At | undefined,
  entries: readonly EntryAt[],
  aliases: CommunityAliases,
): BgpAdvertisement[] {
  const items = r.items(at);
  if (!items || items.length === 0) return [DEFAULT_ADVERTISEMENT];
  const seen = new Map<string, string>();
  return items.map((item) => {
    // MetalLB compares advertisements as written (aliases unresolved, order kept).
    // A bare entry is the empty advertisement, the same as `{}`.
    const form = isNullNode(item.node) ? canonical({}) : canonical(item.node?.toJSON());
    const first = seen.get(form);
    if (first !== undefined) r.report(item, `identical to ${first}; each advertisement must differ`);
    else seen.set(form, item.path);
    return readAdvertisement(r, item, entries, aliases);
  });
}
