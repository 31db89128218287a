// The node flags and literal environment the speaker ships with, read from manifests/speaker.yaml
// (the container's `command:` between `node` and the script, and its `env:` entries with a plain
// `value`), so that the memory benches measure what ships (docs/footprint.md).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

interface Container {
  name?: string;
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
}

function speakerContainer(): Container {
  const text = readFileSync(path.join(__dirname, '..', 'manifests', 'speaker.yaml'), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } } | null;
    const c = o?.kind === 'DaemonSet' ? o.spec?.template?.spec?.containers?.find((x) => x.name === 'speaker') : undefined;
    if (c) return c;
  }
  throw new Error('manifests/speaker.yaml: no DaemonSet with a container named speaker');
}

const container = speakerContainer();

/** e.g. ['--optimize-for-size']: what the manifest puts between `node` and main.js. */
export const SPEAKER_NODE_FLAGS: string[] = (container.command ?? []).slice(1).filter((a) => a.startsWith('--'));

/** Environment variables the manifest sets to a literal value (e.g. MALLOC_ARENA_MAX). */
export const SPEAKER_ENV: Record<string, string> = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, String(e.value)]));
