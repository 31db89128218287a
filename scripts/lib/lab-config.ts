// What the lab takes from the repository: the manifests' controller/speaker arguments and the
// example config with its pool mapped into the lab's LAN. Pure functions of file text (unit-tested).
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { parseConfigMapManifest } from '../../src/config/parse';
import { poolAddressCount } from '../../src/config/summary';
import { LAN_V4_PREFIX } from './l2-lab';

export const REPO = path.resolve(__dirname, '..', '..');
const MANIFEST_DIR = path.join(REPO, 'manifests');
export const LAB_RANGE = `${LAN_V4_PREFIX}.90-${LAN_V4_PREFIX}.100`;

export interface RoleSettings {
  args: string[];
  namespace: string;
  source: string;
}

/** The container args (minus the role) and namespace of the controller Deployment / speaker DaemonSet. */
export function manifestSettings(role: 'controller' | 'speaker'): RoleSettings {
  const file = path.join(MANIFEST_DIR, `${role}.yaml`);
  const fallback: RoleSettings = { args: role === 'controller' ? ['--leader-elect=true', '--log-level=info'] : ['--log-level=info'], namespace: 'ironlb-system', source: 'built-in defaults' };
  if (!existsSync(file)) return fallback;
  try {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const o = doc.toJS() as { kind?: string; metadata?: { namespace?: string }; spec?: { template?: { spec?: { containers?: Array<{ name?: string; args?: string[] }> } } } } | null;
      const c = o?.spec?.template?.spec?.containers?.find((x) => x.name === role);
      if (!o || !c?.args) continue;
      const args = c.args[0] === role ? c.args.slice(1) : c.args;
      return { args, namespace: o.metadata?.namespace ?? 'ironlb-system', source: path.relative(REPO, file) };
    }
  } catch {
    /* unreadable: defaults */
  }
  return fallback;
}

/** Replaces (or appends) `--name=value` in an argument list. */
export function withFlag(args: string[], name: string, value: string): string[] {
  const out = args.filter((a, i) => !(a === `--${name}` || a.startsWith(`--${name}=`) || (i > 0 && args[i - 1] === `--${name}` && !a.startsWith('--'))));
  return [...out, `--${name}=${value}`];
}

export interface LabConfig {
  namespace: string;
  name: string;
  text: string;
  pool: string;
  originalRanges: string[];
  size: bigint;
}

/** config/example-config.yaml with its (first layer-2) pool's addresses replaced by the lab range. */
export function labConfig(fileText: string): LabConfig {
  const parsed = parseConfigMapManifest(fileText);
  if (!parsed.ok) throw new Error(`config/example-config.yaml is invalid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  const pool = parsed.config.pools.find((p) => p.protocol === 'layer2');
  if (!pool) throw new Error('config/example-config.yaml has no layer2 pool');
  const docs = parseAllDocuments(fileText).map((d) => d.toJS() as { kind?: string; metadata?: { namespace?: string; name?: string } } | null);
  const cm = docs.find((d) => d?.kind === 'ConfigMap');
  const text = stringify({
    'address-pools': [
      {
        name: pool.name,
        protocol: 'layer2',
        ...(pool.autoAssign ? {} : { 'auto-assign': false }),
        ...(pool.avoidBuggyIPs ? { 'avoid-buggy-ips': true } : {}),
        addresses: [LAB_RANGE],
      },
    ],
  });
  const check = parseConfigMapManifest(text);
  const size = check.ok ? poolAddressCount(check.config.pools[0]).v4 : 0n;
  return { namespace: cm?.metadata?.namespace ?? 'ironlb-system', name: cm?.metadata?.name ?? 'config', text, pool: pool.name, originalRanges: pool.addresses.map((a) => a.text), size };
}
