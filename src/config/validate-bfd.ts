// bfd-profiles: named BFD timer sets that peers refer to by name.
import { definedOnly } from './canonical';
import type { BfdProfile } from './types';
import type { At, IntegerBounds, YamlReader } from './yaml-walk';

const BFD_KEYS = [
  'name',
  'receive-interval',
  'transmit-interval',
  'detect-multiplier',
  'echo-interval',
  'echo-mode',
  'passive-mode',
  'minimum-ttl',
] as const;

const INTERVAL_MS: IntegerBounds = { min: 10, max: 60000 };
const DETECT_MULTIPLIER: IntegerBounds = { min: 2, max: 255 };
const MINIMUM_TTL: IntegerBounds = { min: 1, max: 254 };

function readProfile(r: YamlReader, at: At): BfdProfile | undefined {
  const f = r.fields(at, BFD_KEYS);
  if (!f) return undefined;
  const nameAt = r.require(f, 'name', at, 'missing bfd profile name');
  const name = r.string(nameAt);
  if (nameAt && name === '') r.report(nameAt, 'missing bfd profile name');
  const settings = {
    receiveInterval: r.integer(f['receive-interval'], INTERVAL_MS),
    transmitInterval: r.integer(f['transmit-interval'], INTERVAL_MS),
    detectMultiplier: r.integer(f['detect-multiplier'], DETECT_MULTIPLIER),
    echoInterval: r.integer(f['echo-interval'], INTERVAL_MS),
    echoMode: r.bool(f['echo-mode']),
    passiveMode: r.bool(f['passive-mode']),
    minimumTtl: r.integer(f['minimum-ttl'], MINIMUM_TTL),
  };
  if (!name) return undefined;
  // Unset fields stay absent so the BFD implementation can apply its own defaults.
  return { name, ...definedOnly(settings) };
}

export function readBfdProfiles(r: YamlReader, at: At | undefined): BfdProfile[] {
  const profiles: BfdProfile[] = [];
  const firstByName = new Map<string, string>();
  for (const item of r.items(at) ?? []) {
    const profile = readProfile(r, item);
    if (!profile) continue;
    const first = firstByName.get(profile.name);
    if (first !== undefined) {
      r.report(item, `duplicate bfd profile name "${profile.name}" (already used by ${first})`);
      continue;
    }
    firstByName.set(profile.name, item.path);
    profiles.push(profile);
  }
  return profiles;
}
