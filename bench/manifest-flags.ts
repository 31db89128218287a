// The node flags and literal environment the speaker and the controller ship with, read from
// manifests/speaker.yaml and manifests/controller.yaml (the container's `command:` between `node`
// and the script, and its `env:` entries with a plain `value`), so that the benches measure what
// ships (docs/footprint.md).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

interface Container {
  name?: string;
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
}

function container(file: string, kind: string, name: string): Container {
  const text = readFileSync(path.join(__dirname, '..', 'manifests', file), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } } | null;
    const c = o?.kind === kind ? o.spec?.template?.spec?.containers?.find((x) => x.name === name) : undefined;
    if (c) return c;
  }
  throw new Error(`manifests/${file}: no ${kind} with a container named ${name}`);
}

/** What the manifest puts between `node` and main.js, e.g. ['--optimize-for-size']. */
const nodeFlags = (c: Container): string[] => (c.command ?? []).slice(1).filter((a) => a.startsWith('--'));

const speaker = container('speaker.yaml', 'DaemonSet', 'speaker');

/** e.g. ['--optimize-for-size']: the speaker's node flags. */
export const SPEAKER_NODE_FLAGS: string[] = nodeFlags(speaker);

/** Environment variables the speaker's manifest sets to a literal value (e.g. MALLOC_ARENA_MAX). */
export const SPEAKER_ENV: Record<string, string> = Object.fromEntries((speaker.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, String(e.value)]));

/** e.g. ['--max-semi-space-size=4', …]: the controller's node flags. */
export const CONTROLLER_NODE_FLAGS: string[] = nodeFlags(container('controller.yaml', 'Deployment', 'controller'));

/**
 * The controller's node flags for a bench: the manifest's, unless IRONLB_NODE_FLAGS is set (it
 * replaces them, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", or "" for none).
 */
export function controllerNodeFlags(): string[] {
  const env = process.env.IRONLB_NODE_FLAGS;
  return env === undefined ? CONTROLLER_NODE_FLAGS : env.split(' ').filter((f) => f !== '');
}
