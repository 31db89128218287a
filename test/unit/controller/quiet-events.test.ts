// QuietEvents: a state is said once per Service and slot; forgetting a Service forgets all its
// slots and nothing of any other Service (also one whose name starts with the same letters).
import type * as k8s from '@kubernetes/client-node';
import { QuietEvents } from '../../../src/controller/quiet-events';
import { nullLogger } from '../../../src/util/log';

const svc = (name: string): k8s.V1Service => ({ metadata: { namespace: 'ns', name } });

function recorder(): { said: string[]; events: QuietEvents } {
  const said: string[] = [];
  return { said, events: new QuietEvents({ emit: (s, type, reason, message) => said.push(`${s.metadata?.name} ${type} ${reason} ${message}`) }, nullLogger) };
}

test('a repeat in the same slot stays silent; another slot, or another message, is said', () => {
  const { said, events } = recorder();
  events.say(svc('a'), 'Normal', 'IPAllocated', 'one', 'state');
  events.say(svc('a'), 'Normal', 'IPAllocated', 'one', 'state');
  events.say(svc('a'), 'Normal', 'IPAllocated', 'one', 'clear');
  events.say(svc('a'), 'Warning', 'AllocationFailed', 'two', 'state');
  events.say(svc('a'), 'Normal', 'IPAllocated', 'one', 'state');
  expect(said).toEqual(['a Normal IPAllocated one', 'a Normal IPAllocated one', 'a Warning AllocationFailed two', 'a Normal IPAllocated one']);
});

test('forgetSlot makes the next repeat in that slot heard; the other slots stay quiet', () => {
  const { said, events } = recorder();
  events.say(svc('a'), 'Normal', 'R', 'm', 'state');
  events.say(svc('a'), 'Normal', 'R', 'm', 'clear');
  events.forgetSlot('ns/a', 'clear');
  events.say(svc('a'), 'Normal', 'R', 'm', 'state');
  events.say(svc('a'), 'Normal', 'R', 'm', 'clear');
  expect(said).toEqual(['a Normal R m', 'a Normal R m', 'a Normal R m']);
});

test("forget drops every slot of that Service and nothing of another, even one whose name it prefixes", () => {
  const { said, events } = recorder();
  for (const name of ['a', 'ab']) for (const slot of ['state', 'clear', 'fight']) events.say(svc(name), 'Normal', 'R', slot, slot);
  said.length = 0;
  events.forget('ns/a');
  for (const name of ['a', 'ab']) for (const slot of ['state', 'clear', 'fight']) events.say(svc(name), 'Normal', 'R', slot, slot);
  expect(said).toEqual(['a Normal R state', 'a Normal R clear', 'a Normal R fight']);
});
