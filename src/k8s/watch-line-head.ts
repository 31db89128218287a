// The object version a watch line carries, read without parsing the line (raw-informer.ts). Pure.

/**
 * Which object version an ADDED or MODIFIED watch line carries, read off its start without parsing
 * it: kube-apiserver writes `{"type":…,"object":{"kind":…,"apiVersion":…,"metadata":{"name":…,
 * "namespace":…,"uid":…,"resourceVersion":…` with the metadata's string fields before the
 * resourceVersion. Only string pairs without escapes are read up to it; any other shape is
 * undefined (the caller parses the line).
 */
const WATCH_LINE_HEAD = /^\{"type":"(?:ADDED|MODIFIED)","object":\{(?:"(?:kind|apiVersion)":"[^"\\]*",)*"metadata":\{((?:"[A-Za-z]+":"[^"\\]*",)*?)"resourceVersion":"([^"\\]+)"/;
const META_PAIR = /"([A-Za-z]+)":"([^"\\]*)"/g;

export function watchLineHead(line: string): { name: string; namespace: string; resourceVersion: string } | undefined {
  const m = WATCH_LINE_HEAD.exec(line);
  if (!m) return undefined;
  let name: string | undefined;
  let namespace = '';
  for (const [, key, value] of m[1].matchAll(META_PAIR)) {
    if (key === 'name') name = value;
    else if (key === 'namespace') namespace = value;
  }
  return name === undefined ? undefined : { name, namespace, resourceVersion: m[2] };
}
