// Finding the config text in a file: a ConfigMap manifest (possibly one of several YAML
// documents, or inside a `kind: List`) whose data.config holds the config, or bare config text.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import { isNullNode } from './yaml-walk';

export const CONFIG_KEY = 'config';

export interface ConfigSource {
  readonly text: string;
  /** The ConfigMap the text came from; absent when the file is bare config text. */
  readonly configMap?: { readonly namespace?: string; readonly name?: string };
  /** Add to a line of `text` to get its line in the file; absent when lines do not map one to one. */
  readonly lineOffset?: number;
}

export type ExtractResult =
  | { readonly ok: true; readonly source: ConfigSource }
  | { readonly ok: false; readonly message: string; readonly line?: number };

function stringAt(node: unknown, key: string): string | undefined {
  if (!isMap(node)) return undefined;
  const value = node.get(key, true);
  return isScalar(value) && typeof value.value === 'string' ? value.value : undefined;
}

/** Kubernetes objects in a document: the object itself, or the items of a `kind: List`. */
function objectsOf(doc: Document): Node[] {
  const root = doc.contents;
  if (!isMap(root)) return [];
  if (stringAt(root, 'kind') === 'List') {
    const items = root.get('items', true);
    return isSeq(items) ? items.items.filter((i): i is Node => isMap(i)) : [];
  }
  return [root];
}

function isKubernetesObject(doc: Document): boolean {
  return isMap(doc.contents) && (doc.contents.has('kind') || doc.contents.has('apiVersion'));
}

/** Lines of the config map one to one onto the file only for `|` blocks and single-line strings. */
function lineOffsetOf(node: Node, value: string, lines: LineCounter): number | undefined {
  if (!isScalar(node) || !node.range) return undefined;
  const line = lines.linePos(node.range[0]).line;
  if (node.type === 'BLOCK_LITERAL') return line;
  if (!value.includes('\n') && node.type !== 'BLOCK_FOLDED') return line - 1;
  return undefined;
}

export function extractConfigText(fileText: string): ExtractResult {
  const lines = new LineCounter();
  const docs = parseAllDocuments(fileText, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const all: Document[] = Array.isArray(docs) ? docs : [];
  for (const doc of all) {
    const error = doc.errors[0];
    if (error) {
      const line = lines.linePos(error.pos[0]).line || undefined;
      return { ok: false, message: `not valid YAML: ${error.message}`, ...(line !== undefined && { line }) };
    }
  }
  const nonEmpty = all.filter((d) => !isNullNode(d.contents as Node | null));
  const manifests = nonEmpty.filter(isKubernetesObject);
  if (manifests.length === 0) {
    if (nonEmpty.length > 1) {
      return { ok: false, message: 'the file holds several YAML documents and none is a ConfigMap; bare config text must be a single document' };
    }
    return { ok: true, source: { text: fileText, lineOffset: 0 } };
  }
  for (const object of manifests.flatMap(objectsOf)) {
    if (stringAt(object, 'kind') !== 'ConfigMap' || !isMap(object)) continue;
    const data = object.get('data', true);
    const configNode = isMap(data) ? (data.get(CONFIG_KEY, true) as Node | undefined) : undefined;
    if (!configNode) continue;
    if (!isScalar(configNode) || typeof configNode.value !== 'string') {
      return { ok: false, message: `data.${CONFIG_KEY} of the ConfigMap must be a string holding the config YAML` };
    }
    const metadata = object.get('metadata', true);
    const text = configNode.value;
    const lineOffset = lineOffsetOf(configNode, text, lines);
    return {
      ok: true,
      source: {
        text,
        configMap: { namespace: stringAt(metadata, 'namespace'), name: stringAt(metadata, 'name') },
        ...(lineOffset !== undefined && { lineOffset }),
      },
    };
  }
  return { ok: false, message: `no ConfigMap with a data.${CONFIG_KEY} key found in the file` };
}
