// The election-pass metric's scope: one touched Service is the cost of one change; a coalesced
// burst of several is reported apart (bench:scale's per-event p99 reads the first).
import { passScope } from '../../../src/speaker/speaker';

test.each([
  ['all', 'all', 'all'],
  ['all', ['ns/a'], 'all'], // a full pass owed from earlier, whatever the event touched
  ['services', ['ns/a'], 'service'],
  ['services', ['ns/a', 'ns/b'], 'services'],
  ['services', [], 'services'],
] as const)('reconcile scope %s with touched %j is observed as %s', (scope, touched, want) => {
  expect(passScope(scope, touched === 'all' ? 'all' : new Set(touched))).toBe(want);
});
