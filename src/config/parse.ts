// Entry points: the `config` text of the ConfigMap (MetalLB v0.12 language plus ironlb's
// additions) into a typed Config, collecting every problem rather than stopping at the first.
import { LineCounter, parseDocument, type Document } from 'yaml';
import { blockYamlDocument } from './block-yaml';
import { extractConfigText, type ConfigSource } from './configmap';
import type { ConfigIssue, ParseResult } from './types';
import { readBfdProfiles } from './validate-bfd';
import { readCommunityAliases } from './validate-communities';
import { readPeers } from './validate-peers';
import { readPools } from './validate-pools';
import { aliasProblem, isNullNode, YamlReader } from './yaml-walk';

export { extractConfigText, type ConfigSource, type ExtractResult } from './configmap';

export const TOP_LEVEL_KEYS = ['peers', 'address-pools', 'bgp-communities', 'bfd-profiles'] as const;

/** Document order; issues without a line (none today) go last. */
function byLine(a: ConfigIssue, b: ConfigIssue): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER);
}

export function parseConfigText(text: string): ParseResult {
  const blockLines = new LineCounter();
  const block = blockYamlDocument(text, blockLines);
  return block ? readConfigDocument(block, blockLines) : parseConfigTextFully(text);
}

/** The same as parseConfigText, always through the `yaml` package (the fast path's oracle in tests). */
export function parseConfigTextFully(text: string): ParseResult {
  const lines = new LineCounter();
  // Repeated keys are left to YamlReader, which reports them with their config path.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => ({ path: '', message: `not valid YAML: ${e.message}`, line: lines.linePos(e.pos[0]).line || 1 }));
    return { ok: false, syntax: true, errors };
  }
  const alias = aliasProblem(doc);
  if (alias) return { ok: false, syntax: true, errors: [{ path: '', message: `not valid YAML: ${alias.message}`, line: lines.linePos(alias.offset ?? 0).line || 1 }] };
  return readConfigDocument(doc, lines);
}

function readConfigDocument(doc: Document, lines: LineCounter): ParseResult {
  const r = new YamlReader(doc, lines);
  const root = r.root();
  const f = isNullNode(root.node) ? {} : (r.fields(root, TOP_LEVEL_KEYS) ?? {});
  // Profiles and aliases first: pools and peers refer to them wherever they are written.
  const bfdProfiles = readBfdProfiles(r, f['bfd-profiles']);
  const aliases = readCommunityAliases(r, f['bgp-communities']);
  const pools = readPools(r, f['address-pools'], aliases);
  const peers = readPeers(r, f.peers, new Set(bfdProfiles.map((p) => p.name)));
  if (r.issues.length > 0) return { ok: false, errors: [...r.issues].sort(byLine) };
  return { ok: true, config: { pools, peers, bgpCommunities: Object.fromEntries(aliases), bfdProfiles } };
}

/** Shifts issue lines from the config text to the file it was extracted from, where they map. */
export function toFileLines(result: ParseResult, source: ConfigSource): ParseResult {
  const offset = source.lineOffset;
  if (result.ok || offset === undefined || offset === 0) return result;
  const errors = result.errors.map((e) => (e.line === undefined ? e : { ...e, line: e.line + offset }));
  return { ...result, errors };
}

/**
 * Parses a file holding a ConfigMap manifest (or bare config text). Issue lines are lines of
 * the file when the config is a `|` block, and lines of the config text otherwise.
 */
export function parseConfigMapManifest(fileText: string): ParseResult {
  const extracted = extractConfigText(fileText);
  if (!extracted.ok) {
    const issue = extracted.line === undefined ? { path: '', message: extracted.message } : { path: '', message: extracted.message, line: extracted.line };
    return { ok: false, syntax: true, errors: [issue] };
  }
  return toFileLines(parseConfigText(extracted.source.text), extracted.source);
}

/** `line 7: address-pools[0].addresses[1]: range start ... is after end ...` */
export function formatIssue(issue: ConfigIssue): string {
  const parts = [issue.line === undefined ? '' : `line ${issue.line}`, issue.path, issue.message];
  return parts.filter((p) => p !== '').join(': ');
}
