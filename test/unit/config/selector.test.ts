import { selectorMatches } from '../../../src/config/selector';
import type { NodeSelector, SelectorRequirement } from '../../../src/config/types';

const labels = { rack: 'a', zone: 'eu-1', 'node-role.kubernetes.io/edge': '' };
const expr = (key: string, operator: SelectorRequirement['operator'], values: string[] = []): NodeSelector => ({
  matchLabels: {},
  matchExpressions: [{ key, operator, values }],
});

describe('selectorMatches', () => {
  test.each<[string, NodeSelector[], boolean]>([
    ['an empty list matches every node', [], true],
    ['an empty selector matches every node', [{ matchLabels: {}, matchExpressions: [] }], true],
    ['match-labels equal', [{ matchLabels: { rack: 'a' }, matchExpressions: [] }], true],
    ['match-labels different value', [{ matchLabels: { rack: 'b' }, matchExpressions: [] }], false],
    ['match-labels missing label', [{ matchLabels: { row: '1' }, matchExpressions: [] }], false],
    ['match-labels with an empty value', [{ matchLabels: { 'node-role.kubernetes.io/edge': '' }, matchExpressions: [] }], true],
    ['In with the value', [expr('rack', 'In', ['b', 'a'])], true],
    ['In without the value', [expr('rack', 'In', ['b'])], false],
    ['In on a missing label', [expr('row', 'In', ['1'])], false],
    ['NotIn with the value', [expr('rack', 'NotIn', ['a'])], false],
    ['NotIn without the value', [expr('rack', 'NotIn', ['b'])], true],
    ['NotIn on a missing label', [expr('row', 'NotIn', ['1'])], true],
    ['Exists', [expr('zone', 'Exists')], true],
    ['Exists on a missing label', [expr('row', 'Exists')], false],
    ['DoesNotExist', [expr('zone', 'DoesNotExist')], false],
    ['DoesNotExist on a missing label', [expr('row', 'DoesNotExist')], true],
    [
      'conditions in one selector are ANDed',
      [{ matchLabels: { rack: 'a' }, matchExpressions: [{ key: 'zone', operator: 'In', values: ['us-1'] }] }],
      false,
    ],
    ['selectors in a list are ORed', [expr('row', 'Exists'), expr('zone', 'In', ['eu-1'])], true],
    ['a label named like an Object method is not inherited', [expr('constructor', 'Exists')], false],
  ])('%s', (_desc, selectors, want) => {
    expect(selectorMatches(selectors, labels)).toBe(want);
  });
});
