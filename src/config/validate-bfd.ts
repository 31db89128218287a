// bfd-profiles: named BFD timer sets that peers refer to by name.
import type { BfdProfile } from './types';
import type { At, Fields, IntegerBounds, YamlReader } from './yaml-walk';

const INTERVAL_MS: IntegerBounds = { min: 10, max: 60000 };
const DETECT_MULTIPLIER: IntegerBounds = { min: 2, max: 255 };
const MINIMUM_TTL: IntegerBounds = { min: 1, max: 254 };

type Setting = Exclude<keyof BfdProfile, 'name'>;

/** Each setting with its ConfigMap key, its BFDProfile (metallb.io) key and its bounds (undefined: a boolean). */
const SETTINGS: readonly { readonly name: Setting; readonly configmap: string; readonly object: string; readonly bounds?: IntegerBounds }[] = [
  { name: 'receiveInterval', configmap: 'receive-interval', object: 'receiveInterval', bounds: INTERVAL_MS },
  { name: 'transmitInterval', configmap: 'transmit-interval', object: 'transmitInterval', bounds: INTERVAL_MS },
  { name: 'detectMultiplier', configmap: 'detect-multiplier', object: 'detectMultiplier', bounds: DETECT_MULTIPLIER },
  { name: 'echoInterval', configmap: 'echo-interval', object: 'echoInterval', bounds: INTERVAL_MS },
  { name: 'echoMode', configmap: 'echo-mode', object: 'echoMode' },
  { name: 'passiveMode', configmap: 'passive-mode', object: 'passiveMode' },
  { name: 'minimumTtl', configmap: 'minimum-ttl', object: 'minimumTtl', bounds: MINIMUM_TTL },
];

const BFD_KEYS = ['name', ...SETTINGS.map((s) => s.configmap)];
export const BFD_OBJECT_KEYS = SETTINGS.map((s) => s.object);

/** The settings of a profile from a map of `style` keys; unset ones stay absent (the BFD daemon's defaults apply). */
export function readBfdSettings(r: YamlReader, f: Fields<string>, style: 'configmap' | 'object'): Omit<BfdProfile, 'name'> {
  const out: Partial<Record<Setting, number | boolean>> = {};
  for (const setting of SETTINGS) {
    const at = f[setting[style]];
    const value = setting.bounds ? r.integer(at, setting.bounds) : r.bool(at);
    if (value !== undefined) out[setting.name] = value;
  }
  return out as Omit<BfdProfile, 'name'>;
}

function readProfile(r: YamlReader, at: At): BfdProfile | undefined {
  const f = r.fields(at, BFD_KEYS);
  if (!f) return undefined;
  const nameAt = r.require(f, 'name', at, 'missing bfd profile name');
  const name = r.string(nameAt);
  if (nameAt && name === '') r.report(nameAt, 'missing bfd profile name');
  const settings = readBfdSettings(r, f, 'configmap');
  if (!name) return undefined;
  return { name, ...settings };
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
