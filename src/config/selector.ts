// Kubernetes label-selector semantics for node selectors: requirements inside one selector are
// ANDed, a list of selectors is ORed, and an empty list selects every node.
import type { NodeSelector, SelectorRequirement } from './types';

export function requirementMatches(req: SelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(labels[req.key]);
    case 'NotIn':
      return !has || !req.values.includes(labels[req.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

export function nodeSelectorMatches(selector: NodeSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (!Object.prototype.hasOwnProperty.call(labels, key) || labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((req) => requirementMatches(req, labels));
}

export function selectorMatches(selectors: readonly NodeSelector[], labels: Readonly<Record<string, string>>): boolean {
  return selectors.length === 0 || selectors.some((s) => nodeSelectorMatches(s, labels));
}
