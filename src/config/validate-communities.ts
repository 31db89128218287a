// bgp-communities: aliases that advertisements may use instead of literal community values.
import { parseCommunity } from './community';
import type { Community } from './types';
import type { At, YamlReader } from './yaml-walk';

export function readCommunityAliases(r: YamlReader, at: At | undefined): Map<string, Community> {
  const aliases = new Map<string, Community>();
  for (const { key, value } of r.entries(at) ?? []) {
    const text = r.string(value);
    if (text === undefined) continue;
    const parsed = parseCommunity(text);
    if (parsed.ok) aliases.set(key, parsed.value);
    else r.report(value, `community alias "${key}": ${parsed.error}`);
  }
  return aliases;
}
