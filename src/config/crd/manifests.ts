// Kubernetes objects from a file: one or more YAML documents, each an object or a `kind: List`.
import { isMap, parseAllDocuments } from 'yaml';
import { aliasProblem } from '../yaml-walk';

export type ManifestsResult = { readonly ok: true; readonly objects: readonly unknown[] } | { readonly ok: false; readonly message: string };

export function parseObjectManifests(text: string): ManifestsResult {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: false });
  const all = Array.isArray(docs) ? docs : [];
  const objects: unknown[] = [];
  for (const doc of all) {
    const error = doc.errors[0];
    if (error) return { ok: false, message: `not valid YAML: ${error.message}` };
    if (doc.contents === null) continue;
    const alias = aliasProblem(doc);
    if (alias) return { ok: false, message: `not valid YAML: ${alias.message}` };
    let value: unknown;
    try {
      value = doc.toJSON();
    } catch (e) {
      // The yaml library's guard against alias expansion bombs ("Excessive alias count").
      return { ok: false, message: `not valid YAML: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (value === null || value === undefined) continue;
    const isList = isMap(doc.contents) && (value as { kind?: unknown }).kind === 'List';
    const list = isList ? (value as { items?: unknown }).items : undefined;
    if (Array.isArray(list)) objects.push(...list);
    else objects.push(value);
  }
  return { ok: true, objects };
}
