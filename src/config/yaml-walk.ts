// Typed reads over a parsed YAML document. Every read either returns a value or records a
// ConfigIssue at the node's path and line and returns undefined, so validators can keep going
// and report every problem in one pass instead of stopping at the first.
import { isAlias, isMap, isScalar, isSeq, visit } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';
import type { ConfigIssue } from './types';

/** A YAML value together with the config path that leads to it. */
export interface At {
  readonly path: string;
  readonly node: Node | null;
  readonly line?: number;
}

export type Fields<K extends string> = Partial<Record<K, At>>;

export interface IntegerBounds {
  readonly min: number;
  readonly max: number;
}

/** YAML 1.1 spellings of booleans: MetalLB reads its config with Go's yaml.v2, which accepts them. */
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

export function childPath(parent: string, key: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (parent === '') return part.startsWith('[') ? part : key;
  return part.startsWith('[') ? `${parent}${part}` : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

export function isNullNode(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

function describe(node: Node | null): string {
  if (isNullNode(node)) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'boolean') return `the boolean ${String(v)}`;
    if (typeof v === 'number') return `the number ${scalarText(node)}`;
    return `"${String(v)}"`;
  }
  return 'an unsupported value';
}

/** The text of a scalar as written, so that `name: 2024` reads as the string "2024" (as yaml.v2 does). */
function scalarText(node: Node): string {
  if (!isScalar(node)) return '';
  if (typeof node.value === 'string') return node.value;
  return node.source ?? String(node.value);
}

/** Plain-text edit distance, used only to suggest the key someone probably meant. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  const squash = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const exact = allowed.find((k) => squash(k) === squash(key));
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of allowed) {
    const d = editDistance(key, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/**
 * Aliases the yaml library accepts but Go's yaml.v2 (and so MetalLB and kubectl) refuses: one
 * whose anchor is not defined before it, and one inside the node it refers to. Returns the first
 * problem with its offset in the text, or undefined.
 */
export function aliasProblem(doc: Document): { message: string; offset?: number } | undefined {
  let problem: { message: string; offset?: number } | undefined;
  visit(doc, {
    Alias(_key, node, path) {
      const target = node.resolve(doc);
      const offset = node.range?.[0];
      if (!target) problem = { message: `unknown anchor "${node.source}" referenced`, offset };
      else if (path.includes(target)) problem = { message: `anchor "${node.source}" value contains itself`, offset };
      return problem ? visit.BREAK : undefined;
    },
  });
  return problem;
}

/** Readers take `At | undefined` so optional fields read as `reader.bool(fields.x) ?? default`. */
export class YamlReader {
  readonly issues: ConfigIssue[] = [];
  /** Accepted but worth telling (fields that have no effect); never make a config invalid. */
  readonly warnings: ConfigIssue[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  root(): At {
    return this.at('', this.doc.contents, 1);
  }

  report(at: At, message: string): void {
    this.issues.push(at.line === undefined ? { path: at.path, message } : { path: at.path, message, line: at.line });
  }

  warn(at: At, message: string): void {
    this.warnings.push(at.line === undefined ? { path: at.path, message } : { path: at.path, message, line: at.line });
  }

  /** The field `key`, reporting it as missing when absent. Readers given undefined stay silent. */
  require<K extends string>(fields: Fields<K>, key: K, parent: At, message?: string): At | undefined {
    const at = fields[key];
    if (!at) this.reportMissing(parent, key, message);
    return at;
  }

  /** Reports that `key` is missing from the map at `parent` (the line is the map's own line). */
  reportMissing(parent: At, key: string, message = 'is required'): void {
    this.report({ path: childPath(parent.path, key), node: null, line: parent.line }, message);
  }

  /**
   * Reads a map whose keys must all be in `allowed` (strict, like yaml.v2's UnmarshalStrict).
   * Keys whose value is null are treated as absent, as Go leaves such fields at their zero value.
   * With `unknown: 'warn'` (Kubernetes objects, whose API server drops unknown fields anyway) an
   * unknown key is a warning that it is ignored, not an error.
   */
  fields<K extends string>(at: At | undefined, allowed: readonly K[], opts: { unknown?: 'error' | 'warn' } = {}): Fields<K> | undefined {
    const entries = this.entries(at);
    if (!entries) return undefined;
    const out: Fields<K> = {};
    for (const { key, keyAt, value } of entries) {
      if (!(allowed as readonly string[]).includes(key)) {
        const hint = suggestKey(key, allowed);
        const didYouMean = hint ? ` (did you mean "${hint}"?)` : '';
        if (opts.unknown === 'warn') this.warn(keyAt, `unknown field "${key}" is ignored${didYouMean}; known fields: ${allowed.join(', ')}`);
        else this.report(keyAt, `unknown key "${key}"${didYouMean}; allowed keys: ${allowed.join(', ')}`);
        continue;
      }
      if (!isNullNode(value.node)) out[key as K] = value;
    }
    return out;
  }

  /** Reads a map with arbitrary keys (label maps, community aliases); repeated keys are reported. */
  entries(at: At | undefined): { key: string; keyAt: At; value: At }[] | undefined {
    if (!at) return undefined;
    const node = at.node;
    // A list entry with no value (a bare `-`) is Go's zero value: an empty map, defaults apply.
    if (isNullNode(node)) return [];
    if (!isMap(node)) {
      this.report(at, `expected a map, got ${describe(node)}`);
      return undefined;
    }
    const seen = new Map<string, number | undefined>();
    const out: { key: string; keyAt: At; value: At }[] = [];
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key as Node | null);
      const key = isScalar(keyNode) ? scalarText(keyNode) : '';
      const keyAt = this.at(childPath(at.path, key), keyNode, at.line);
      if (!isScalar(keyNode) || keyNode.value === null) {
        this.report(keyAt, 'map keys must be plain strings');
        continue;
      }
      if (seen.has(key)) {
        const first = seen.get(key);
        this.report(keyAt, `key "${key}" is repeated${first === undefined ? '' : ` (first set on line ${first})`}`);
        continue;
      }
      seen.set(key, keyAt.line);
      const valueAt = this.at(keyAt.path, pair.value as Node | null, keyAt.line);
      out.push({ key, keyAt, value: valueAt });
    }
    return out;
  }

  items(at: At | undefined): At[] | undefined {
    if (!at) return undefined;
    const node = at.node;
    if (!isSeq(node)) {
      this.report(at, `expected a list, got ${describe(node)}`);
      return undefined;
    }
    return node.items.map((item, i) => this.at(indexPath(at.path, i), item as Node | null, at.line));
  }

  string(at: At | undefined): string | undefined {
    if (!at) return undefined;
    const node = at.node;
    if (!isScalar(node) || node.value === null) {
      this.report(at, `expected a string, got ${describe(node)}`);
      return undefined;
    }
    return scalarText(node);
  }

  bool(at: At | undefined): boolean | undefined {
    if (!at) return undefined;
    const node = at.node;
    if (isScalar(node)) {
      if (typeof node.value === 'boolean') return node.value;
      if (typeof node.value === 'string' && node.type === 'PLAIN') {
        if (YAML11_TRUE.has(node.value)) return true;
        if (YAML11_FALSE.has(node.value)) return false;
      }
    }
    this.report(at, `expected a boolean (true or false), got ${describe(node)}`);
    return undefined;
  }

  /** A whole number within bounds; `1_000` is accepted because yaml.v2 accepts it. */
  integer(at: At | undefined, bounds: IntegerBounds): number | undefined {
    if (!at) return undefined;
    const node = at.node;
    let value: number | undefined;
    if (isScalar(node)) {
      if (typeof node.value === 'number') value = node.value;
      else if (typeof node.value === 'string' && node.type === 'PLAIN' && /^[-+]?\d[\d_]*$/.test(node.value)) {
        value = Number(node.value.replace(/_/g, ''));
      }
    }
    if (value === undefined || !Number.isInteger(value)) {
      this.report(at, `expected a whole number, got ${describe(node)}`);
      return undefined;
    }
    if (value < bounds.min || value > bounds.max) {
      this.report(at, `must be between ${bounds.min} and ${bounds.max}, got ${value}`);
      return undefined;
    }
    return value;
  }

  /** A list of strings; entries that are not strings are reported and left out. */
  stringList(at: At | undefined): { value: string; at: At }[] | undefined {
    const items = this.items(at);
    if (!items) return undefined;
    const out: { value: string; at: At }[] = [];
    for (const item of items) {
      const value = this.string(item);
      if (value !== undefined) out.push({ value, at: item });
    }
    return out;
  }

  /** A numeric scalar as written, for fields that accept either a number or a string. */
  numberValue(at: At | undefined): number | undefined {
    return at !== undefined && isScalar(at.node) && typeof at.node.value === 'number' ? at.node.value : undefined;
  }

  private resolve(node: Node | null): Node | null {
    if (node && isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node;
  }

  private at(path: string, raw: Node | null, fallbackLine: number | undefined): At {
    const node = this.resolve(raw);
    const offset = raw?.range?.[0];
    const line = offset === undefined ? fallbackLine : this.lines.linePos(offset).line || 1;
    return line === undefined ? { path, node } : { path, node, line };
  }
}
