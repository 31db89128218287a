// ironlb.io/AddressAllocated as decide() (with conditions on) asks for it: a table of Services and
// allocator states with the condition and the write expected, written by hand from the reasons
// listed in docs/configuration.md ("Service conditions").
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import type { Config } from '../../../src/config/types';
import { decide } from '../../../src/controller/decide';
import { holdQuarantined } from '../../../src/controller/quarantine';
import { restoredAllocator } from '../../../src/controller/restore';
import { lastStatusWriter } from '../../../src/controller/service-request';
import { stamped } from '../../../src/controller/status-write';
import { trimServiceForController, trimServiceForSpeaker } from '../../../src/k8s/trim';
import { FakeClock } from '../../support/fake-clock';
import { FakeServices, lbService } from './fakes';
import { Replica, settle } from './harness';

function config(text: string): Config {
  const r = parseConfigText(text);
  if (!r.ok) throw new Error('bad test config');
  return r.config;
}

const POOLS = config('address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.10-198.51.100.11]\n- name: b\n  protocol: layer2\n  auto-assign: false\n  addresses: [198.51.100.20/32]\n');
const T = 'ironlb.io/AddressAllocated';

function run(services: k8s.V1Service[], svc: k8s.V1Service, given: Config | null = POOLS) {
  const cfg = given ?? undefined;
  const { allocator } = restoredAllocator(cfg, services, undefined);
  return decide({ config: cfg, allowAddressChanges: false, conditions: true }, allocator, svc);
}

const withPool = (svc: k8s.V1Service, pool: string): k8s.V1Service => ({ ...svc, metadata: { ...svc.metadata, annotations: { ...svc.metadata?.annotations, 'ironlb.io/ip-allocated-from-pool': pool } } });
const withConditions = (svc: k8s.V1Service, conditions: k8s.V1Condition[]): k8s.V1Service => ({ ...svc, status: { ...svc.status, conditions } });
const cond = (status: string, reason: string, message: string, at = '2026-01-01T00:00:00Z', extra: Partial<k8s.V1Condition> = {}): k8s.V1Condition => ({ type: T, status, reason, message, lastTransitionTime: new Date(at), ...extra });
const lbIP = (svc: k8s.V1Service, ip: string): k8s.V1Service => ({ ...svc, spec: { ...svc.spec, loadBalancerIP: ip } });

describe('AddressAllocated, decided', () => {
  const holderA = withPool(lbService('ns', 'one', { ips: ['198.51.100.10'] }), 'a');
  const holderB = withPool(lbService('ns', 'two', { ips: ['198.51.100.11'] }), 'a');

  const table: Array<[string, k8s.V1Service[], k8s.V1Service, { status: string; reason: string; message: string }]> = [
    ['a new Service gets its address', [], lbService('ns', 'web'), { status: 'True', reason: 'Allocated', message: '198.51.100.10 from pool "a"' }],
    ['the auto-assign pool is full', [holderA, holderB], lbService('ns', 'web'), { status: 'False', reason: 'PoolExhausted', message: expect.stringContaining('"a"') as unknown as string }],
    ['the requested address is in no pool', [], lbIP(lbService('ns', 'web'), '203.0.113.9'), { status: 'False', reason: 'AddressNotInAnyPool', message: '"203.0.113.9" is not allowed in config' }],
    ['the requested address is taken', [holderA], lbIP(lbService('ns', 'web', { ports: [80] }), '198.51.100.10'), { status: 'False', reason: 'AddressInUse', message: expect.stringContaining('ns/one') as unknown as string }],
    ['the named pool does not exist', [], lbService('ns', 'web', { annotations: { 'ironlb.io/address-pool': 'zzz' } }), { status: 'False', reason: 'UnknownPool', message: 'pool "zzz" does not exist' }],
    ['the annotation does not parse', [], lbService('ns', 'web', { annotations: { 'ironlb.io/loadBalancerIPs': 'nope' } }), { status: 'False', reason: 'InvalidRequest', message: '"nope" is not a valid IP address' }],
    [
      'the annotation does not parse, the Service keeps its address',
      [],
      withPool(lbService('ns', 'web', { ips: ['198.51.100.11'], annotations: { 'ironlb.io/loadBalancerIPs': 'nope' } }), 'a'),
      { status: 'True', reason: 'InvalidRequest', message: 'keeps 198.51.100.11; "nope" is not a valid IP address' },
    ],
    ['an address outside every pool is kept', [], withPool(lbService('ns', 'old', { ips: ['203.0.113.5'] }), 'gone'), { status: 'False', reason: 'AddressOutsideConfig', message: expect.stringContaining('203.0.113.5') as unknown as string }],
  ];

  it.each(table)('%s', (_name, others, svc, want) => {
    const d = run([...others, svc].filter((s) => s.status), svc);
    expect(d.write?.condition).toEqual({ type: T, ...want, observedGeneration: undefined });
  });

  it('a requested address in quarantine (another host uses it): AddressQuarantined', () => {
    const { allocator } = restoredAllocator(POOLS, [], undefined);
    holdQuarantined(allocator, '198.51.100.11', () => undefined);
    const d = decide({ config: POOLS, allowAddressChanges: false, conditions: true }, allocator, lbIP(lbService('ns', 'web'), '198.51.100.11'));
    expect(d.write?.condition).toMatchObject({ status: 'False', reason: 'AddressQuarantined' });
  });

  it('a Service the pool is full for keeps waiting without a write once its condition says so', () => {
    const first = run([holderA, holderB], lbService('ns', 'web'));
    const want = first.write?.condition;
    if (!want || want === 'remove') throw new Error('no condition');
    expect(first.write).toMatchObject({ conditionOnly: true, ips: [] });
    const again = run([holderA, holderB], withConditions(lbService('ns', 'web'), [cond('False', 'PoolExhausted', want.message)]));
    expect(again.write).toBeUndefined();
    expect(again.waitsForAddress).toBe(true);
  });

  it('one write carries the address and the condition; nothing is written once both are shown', () => {
    const d = run([], lbService('ns', 'web'));
    expect(d.write).toEqual({ ips: ['198.51.100.10'], pool: 'a', condition: { type: T, status: 'True', reason: 'Allocated', message: '198.51.100.10 from pool "a"', observedGeneration: undefined } });
    const shown = withConditions(withPool(lbService('ns', 'web', { ips: ['198.51.100.10'] }), 'a'), [cond('True', 'Allocated', '198.51.100.10 from pool "a"')]);
    expect(run([shown], shown).write).toBeUndefined();
  });

  it('a Service showing its address without the condition gets a condition-only write', () => {
    const svc = withPool(lbService('ns', 'web', { ips: ['198.51.100.11'] }), 'a');
    expect(run([svc], svc).write).toEqual({ ips: ['198.51.100.11'], pool: 'a', conditionOnly: true, condition: { type: T, status: 'True', reason: 'Allocated', message: '198.51.100.11 from pool "a"', observedGeneration: undefined } });
  });

  it('a new generation of the Service is written into observedGeneration', () => {
    const svc = withConditions(withPool(lbService('ns', 'web', { ips: ['198.51.100.11'] }), 'a'), [cond('True', 'Allocated', '198.51.100.11 from pool "a"', undefined, { observedGeneration: 1 })]);
    svc.metadata = { ...svc.metadata, generation: 2 };
    expect(run([svc], svc).write?.condition).toMatchObject({ observedGeneration: 2 });
  });

  it('other writers\' conditions do not matter to the decision', () => {
    const foreign: k8s.V1Condition = { type: 'example.com/Ready', status: 'False', reason: 'X', message: 'y', lastTransitionTime: new Date(0) };
    const svc = withConditions(withPool(lbService('ns', 'web', { ips: ['198.51.100.11'] }), 'a'), [foreign, cond('True', 'Allocated', '198.51.100.11 from pool "a"')]);
    expect(run([svc], svc).write).toBeUndefined();
  });

  it('without a configuration the condition is left as it is; a Service no longer of type LoadBalancer loses it', () => {
    expect(run([], lbService('ns', 'web'), null).write).toBeUndefined();
    const gone = withConditions(lbService('ns', 'web', { type: 'ClusterIP' }), [cond('True', 'Allocated', 'x')]);
    expect(run([], gone).write).toEqual({ ips: [], pool: undefined, conditionOnly: true, condition: 'remove' });
    const otherClass = withConditions(lbService('ns', 'web'), [cond('True', 'Allocated', 'x')]);
    otherClass.spec = { ...otherClass.spec, loadBalancerClass: 'someone.else/lb' } as k8s.V1ServiceSpec;
    expect(run([], otherClass).write).toBeUndefined();
  });

  it('with conditions off (the default of DecideContext) nothing about them is written', () => {
    const svc = withPool(lbService('ns', 'web', { ips: ['198.51.100.11'] }), 'a');
    const { allocator } = restoredAllocator(POOLS, [svc], undefined);
    expect(decide({ config: POOLS, allowAddressChanges: false }, allocator, svc).write).toBeUndefined();
  });
});

describe('AddressAllocated, stamped for the write', () => {
  const want = { type: T, status: 'True' as const, reason: 'Allocated', message: '198.51.100.10 from pool "a"' };
  const now = new Date('2026-11-28T23:00:00Z');

  it('keeps lastTransitionTime while the status stays, takes now when it changes or is new', () => {
    const same = withConditions(lbService('ns', 'web'), [cond('True', 'InvalidRequest', 'keeps 198.51.100.10; ...', '2026-05-05T05:05:05Z')]);
    const flipped = withConditions(lbService('ns', 'web'), [cond('False', 'PoolExhausted', 'full', '2026-05-05T05:05:05Z')]);
    expect(stamped(same, { ips: [], condition: want }, now).condition).toEqual({ ...want, lastTransitionTime: new Date('2026-05-05T05:05:05Z') });
    expect(stamped(flipped, { ips: [], condition: want }, now).condition).toEqual({ ...want, lastTransitionTime: now });
    expect(stamped(lbService('ns', 'web'), { ips: [], condition: want }, now).condition).toEqual({ ...want, lastTransitionTime: now });
    expect(stamped(lbService('ns', 'web'), { ips: [], condition: 'remove' }, now).condition).toEqual({ remove: T });
  });
});

describe('conditions survive the informer caches\' trimming', () => {
  it('for the controller and the speaker', () => {
    const c = cond('True', 'Allocated', 'x');
    const a = withConditions(lbService('ns', 'web'), [c]);
    const b = withConditions(lbService('ns', 'web'), [c]);
    trimServiceForController(a);
    trimServiceForSpeaker(b);
    expect(a.status?.conditions).toEqual([c]);
    expect(b.status?.conditions).toEqual([c]);
  });
});

describe('the other status writer named in a StatusFight', () => {
  it('is never the speakers, whose only status field is their condition', () => {
    const svc = lbService('ns', 'web');
    const entry = (manager: string, time: string): k8s.V1ManagedFieldsEntry => ({ manager, operation: 'Update', time: new Date(time), fieldsV1: { 'f:status': {} } });
    svc.metadata = { ...svc.metadata, managedFields: [entry('metallb-controller', '2026-01-01T00:00:00Z'), entry('ironlb-speaker', '2026-01-02T00:00:00Z'), entry('ironlb-controller', '2026-01-03T00:00:00Z')] };
    expect(lastStatusWriter(svc, 'ironlb-controller')).toBe('metallb-controller');
  });
});

describe('AddressAllocated through the reconciler, on the fake API', () => {
  it('one write per Service, a condition-only write for one showing its address already, none after', async () => {
    const api = new FakeServices();
    const clock = new FakeClock();
    api.put(withPool(lbService('ns', 'old', { ips: ['198.51.100.11'] }), 'a'));
    const r = new Replica(api, clock, { conditions: true });
    r.offer({ text: 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.10-198.51.100.11]\n' });
    r.lead();
    await settle(api, clock, [r]);
    expect(api.writes).toBe(1); // "old": its condition only
    api.put(lbService('ns', 'web'));
    api.put(lbService('ns', 'full'));
    await settle(api, clock, [r]);
    expect(api.writes).toBe(3); // "web": address and condition; "full": the condition (PoolExhausted)
    expect(api.store.get('ns/old')?.status?.conditions?.map((c) => [c.reason, c.message])).toEqual([['Allocated', '198.51.100.11 from pool "a"']]);
    expect(api.store.get('ns/web')?.status?.conditions?.map((c) => [c.reason, c.message])).toEqual([['Allocated', '198.51.100.10 from pool "a"']]);
    expect(api.store.get('ns/full')?.status?.conditions?.map((c) => [c.status, c.reason])).toEqual([['False', 'PoolExhausted']]);
    clock.advance(60_000);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(3);
  });
});
