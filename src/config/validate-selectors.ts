// node-selectors, shared by peers and (as an ironlb addition) pools.
import { labelKeyProblem, labelValueProblem } from './labels';
import type { NodeSelector, SelectorOperator, SelectorRequirement } from './types';
import type { At, YamlReader } from './yaml-walk';

const SELECTOR_KEYS = ['match-labels', 'match-expressions'] as const;
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

export function readNodeSelectors(r: YamlReader, at: At | undefined): NodeSelector[] {
  const selectors: NodeSelector[] = [];
  for (const item of r.items(at) ?? []) {
    const f = r.fields(item, SELECTOR_KEYS);
    if (!f) continue;
    const matchLabels = readMatchLabels(r, f['match-labels']);
    const matchExpressions: SelectorRequirement[] = [];
    for (const reqAt of r.items(f['match-expressions']) ?? []) {
      const req = readRequirement(r, reqAt);
      if (req) matchExpressions.push(req);
    }
    selectors.push({ matchLabels, matchExpressions });
  }
  return selectors;
}
