// Label selectors: the ConfigMap's node-selectors (peers and, as an ironlb addition, pools) and
// the metav1.LabelSelector lists of the metallb.io objects, which differ only in key spelling.
import { labelKeyProblem, labelValueProblem } from './labels';
import type { NodeSelector, SelectorOperator, SelectorRequirement } from './types';
import type { At, YamlReader } from './yaml-walk';

/** `configmap`: match-labels / match-expressions; `object`: matchLabels / matchExpressions. */
export type KeyStyle = 'configmap' | 'object';

const SELECTOR_KEYS = {
  configmap: { labels: 'match-labels', expressions: 'match-expressions' },
  object: { labels: 'matchLabels', expressions: 'matchExpressions' },
} as const;
const REQUIREMENT_KEYS = ['key', 'operator', 'values'] as const;
const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function readMatchLabels(r: YamlReader, at: At | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, keyAt, value } of r.entries(at) ?? []) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) r.report(keyAt, keyProblem);
    const text = r.string(value);
    if (text === undefined) continue;
    const valueProblem = labelValueProblem(text);
    if (valueProblem) r.report(value, valueProblem);
    out[key] = text;
  }
  return out;
}

function readRequirement(r: YamlReader, at: At): SelectorRequirement | undefined {
  const f = r.fields(at, REQUIREMENT_KEYS);
  if (!f) return undefined;
  const keyAt = r.require(f, 'key', at);
  const key = r.string(keyAt);
  const keyProblem = key === undefined ? undefined : labelKeyProblem(key);
  if (keyAt && keyProblem) r.report(keyAt, keyProblem);
  const operatorAt = r.require(f, 'operator', at, `is required (one of ${OPERATORS.join(', ')})`);
  const operatorText = r.string(operatorAt);
  const operator = OPERATORS.find((op) => op === operatorText);
  if (operatorAt && operatorText !== undefined && !operator) {
    r.report(operatorAt, `unknown operator "${operatorText}"; use one of ${OPERATORS.join(', ')}`);
  }
  const values = (r.stringList(f.values) ?? []).map((v) => {
    const problem = labelValueProblem(v.value);
    if (problem) r.report(v.at, problem);
    return v.value;
  });
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
    const message = `operator ${operator} needs at least one value`;
    if (f.values) r.report(f.values, message);
    else r.reportMissing(at, 'values', message);
  }
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0 && f.values) {
    r.report(f.values, `operator ${operator} takes no values`);
  }
  if (key === undefined || !operator) return undefined;
  return { key, operator, values };
}

/** One selector; undefined when it is not a map (already reported). */
export function readSelector(r: YamlReader, at: At, style: KeyStyle = 'configmap'): NodeSelector | undefined {
  const keys = SELECTOR_KEYS[style];
  const f = r.fields(at, [keys.labels, keys.expressions]);
  if (!f) return undefined;
  const matchLabels = readMatchLabels(r, f[keys.labels]);
  const matchExpressions: SelectorRequirement[] = [];
  for (const reqAt of r.items(f[keys.expressions]) ?? []) {
    const req = readRequirement(r, reqAt);
    if (req) matchExpressions.push(req);
  }
  return { matchLabels, matchExpressions };
}

export function readNodeSelectors(r: YamlReader, at: At | undefined, style: KeyStyle = 'configmap'): NodeSelector[] {
  const selectors: NodeSelector[] = [];
  for (const item of r.items(at) ?? []) {
    const selector = readSelector(r, item, style);
    if (selector) selectors.push(selector);
  }
  return selectors;
}
