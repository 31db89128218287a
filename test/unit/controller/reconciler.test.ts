// The controller's whole decision sequence on fakes (no API server): restarts, conflicts, another
// status writer, the end of a leadership term, configuration changes. Expected addresses are
// written by hand from the pool definitions.
import { FakeClock } from '../../support/fake-clock';
import { FakeServices, ipsOf, lbService } from './fakes';
import { Replica, settle } from './harness';

const CONFIG = 'address-pools:\n- name: one\n  protocol: layer2\n  addresses: [198.51.100.90-198.51.100.99]\n';
const TWO_POOLS = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.40/30]\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.50/31]\n';
const NARROWED = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.44/30]\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.50/31]\n';

// Each case twice: with caches that only follow the watch, and with caches that adopt the
// controller's own write's answer (RawInformer.adopt, as the controller's Service informer does).
describe.each([false, true])('reconciler on fakes (adopting caches: %s)', (adopting) => {
  let api: FakeServices;
  let clock: FakeClock;
  const ips = (key: string): string[] => ipsOf(api.store.get(key));

  beforeEach(() => {
    api = new FakeServices({ adopting });
    clock = new FakeClock();
  });

  async function leader(text = CONFIG): Promise<Replica> {
    const r = new Replica(api, clock);
    r.offer({ text });
    r.lead();
    await settle(api, clock, [r]);
    return r;
  }

  it('serves a new Service with the first address of the pool and reports it', async () => {
    const r = await leader();
    api.put(lbService('ns', 'web'));
    await settle(api, clock, [r]);
    expect(ips('ns/web')).toEqual(['198.51.100.90']);
    expect(api.store.get('ns/web')?.metadata?.annotations?.['ironlb.io/ip-allocated-from-pool']).toBe('one');
    expect(r.events.of('ns/web', 'IPAllocated')).toHaveLength(1);
  });

  it('defect 1: after a restart the address of a Service whose annotation does not parse stays reserved', async () => {
    const first = await leader();
    api.put(lbService('a', 'svc'));
    await settle(api, clock, [first]);
    api.put(lbService('a', 'svc', { annotations: { 'ironlb.io/loadBalancerIPs': 'not-an-ip' } }));
    await settle(api, clock, [first]);
    expect(first.events.of('a/svc', 'LoadBalancerFailed').map((e) => e.message)).toEqual(['"not-an-ip" is not a valid IP address; the Service keeps 198.51.100.90']);
    first.kill();
    const second = await leader();
    api.put(lbService('b', 'svc'));
    await settle(api, clock, [second]);
    expect(ips('b/svc')).toEqual(['198.51.100.91']);
    expect(ips('a/svc')).toEqual(['198.51.100.90']);
    expect(second.events.of('a/svc', 'LoadBalancerFailed')).toHaveLength(1);
  });

  it('without leader election (sole writer) rebuilds from the synced cache: no second list, the same reservations', async () => {
    const first = await leader();
    api.put(lbService('a', 'svc'));
    await settle(api, clock, [first]);
    api.put(lbService('a', 'svc', { annotations: { 'ironlb.io/loadBalancerIPs': 'not-an-ip' } }));
    await settle(api, clock, [first]);
    first.kill();
    const lists = api.lists;
    const second = new Replica(api, clock, { soleWriter: true });
    second.offer({ text: CONFIG });
    second.lead();
    await settle(api, clock, [second]);
    api.put(lbService('b', 'svc'));
    await settle(api, clock, [second]);
    expect(api.lists).toBe(lists);
    expect(ips('b/svc')).toEqual(['198.51.100.91']);
    expect(ips('a/svc')).toEqual(['198.51.100.90']);
  });

  it('retries a conflict three times with backoff, then requeues with a growing delay', async () => {
    const r = await leader();
    api.failNext = { status: 409, count: 1000 };
    api.put(lbService('ns', 'web'));
    await settle(api, clock, [r]);
    expect(api.writes).toBe(4); // the write and three re-decided retries
    clock.advance(150); // the first requeue waits 200 ms ± 20 %
    await settle(api, clock, [r]);
    expect(api.writes).toBe(4);
    clock.advance(100);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(8);
    api.failNext = undefined;
    clock.advance(500);
    await settle(api, clock, [r]);
    expect(ips('ns/web')).toEqual(['198.51.100.90']);
  });

  it('answers another writer at once the first time, then with exponential backoff and a Warning', async () => {
    const r = await leader();
    api.put(lbService('ns', 'web'));
    await settle(api, clock, [r]);
    const base = api.writes;
    api.foreignStatus('ns', 'web', ['203.0.113.1']);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(base + 1);
    expect(ips('ns/web')).toEqual(['198.51.100.90']);
    expect(r.events.of('ns/web', 'StatusFight')).toEqual([]);

    api.foreignStatus('ns', 'web', ['203.0.113.1']);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(base + 1); // held off for 1 s
    expect(r.events.of('ns/web', 'StatusFight')[0].message).toContain('field manager "rival-lb"');
    expect(r.metrics.foreign).toBe(2);
    clock.advance(1000);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(base + 2);

    api.foreignStatus('ns', 'web', ['203.0.113.1']);
    await settle(api, clock, [r]);
    clock.advance(1900);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(base + 2); // now 2 s
    clock.advance(100);
    await settle(api, clock, [r]);
    expect(api.writes).toBe(base + 3);
    expect(r.events.of('ns/web', 'StatusFight')).toHaveLength(1); // said once
  });

  it('does not decide again on the watch echo of its own write, but does on any newer version', async () => {
    const r = await leader();
    api.put(lbService('ns', 'web'));
    await settle(api, clock, [r]);
    expect(ips('ns/web')).toEqual(['198.51.100.90']);
    // One decision (on the add); the update carrying the resourceVersion our write returned is
    // what we wrote, decided on the version before it under the resourceVersion guard.
    expect(api.cacheReads.get('ns/web')).toBe(1);
    // A newer version that still shows the status we wrote (the request changed, not the status)
    // is decided: an echo is told by its resourceVersion, not by the status it shows.
    api.put(lbService('ns', 'web', { annotations: { 'ironlb.io/loadBalancerIPs': '198.51.100.95' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/web')).toEqual(['198.51.100.95']);
    expect(api.cacheReads.get('ns/web')).toBe(2);
    // Another writer puts back exactly what we wrote last time: a newer version, not our echo.
    api.foreignStatus('ns', 'web', ['198.51.100.90']);
    await settle(api, clock, [r]);
    expect(ips('ns/web')).toEqual(['198.51.100.95']);
  });

  it('writes nothing once its term ends: a write in flight is abandoned', async () => {
    const r = await leader();
    let release = (): void => undefined;
    api.hang = new Promise<void>((resolve) => (release = resolve));
    api.put(lbService('ns', 'web'));
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    expect(api.writes).toBe(1);
    r.stepDown();
    api.hang = undefined;
    release();
    await settle(api, clock, [r]);
    expect(ips('ns/web')).toEqual([]);
    api.put(lbService('ns', 'other'));
    await settle(api, clock, [r]);
    expect(api.writes).toBe(1);
  });

  it('defect 4: refuses a configuration that takes a live address away; the opt-in lets it move', async () => {
    const r = await leader(TWO_POOLS);
    api.put(lbService('ns', 'stay', { annotations: { 'ironlb.io/address-pool': 'b' } }));
    api.put(lbService('ns', 'move', { annotations: { 'ironlb.io/address-pool': 'a' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/move')).toEqual(['198.51.100.40']);

    r.offer({ text: NARROWED });
    await settle(api, clock, [r]);
    expect(r.stale).toBe(true);
    expect(r.configWarnings).toEqual([{ reason: 'IncompatibleConfig', message: expect.stringContaining('ns/move: 198.51.100.40 would be in no pool') }]);
    expect(r.configWarnings[0].message).not.toContain('ns/stay');
    api.put(lbService('ns', 'fresh', { annotations: { 'ironlb.io/address-pool': 'a' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/fresh')).toEqual(['198.51.100.41']); // the last good config is in force
    expect(ips('ns/move')).toEqual(['198.51.100.40']);

    r.offer({ text: NARROWED, annotations: { 'ironlb.io/allow-address-changes': 'true' } });
    await settle(api, clock, [r]);
    expect(r.stale).toBe(false);
    expect(new Set([...ips('ns/move'), ...ips('ns/fresh')])).toEqual(new Set(['198.51.100.44', '198.51.100.45']));
    expect(r.events.of('ns/move', 'ClearAssignment')[0]).toMatchObject({ type: 'Warning', message: expect.stringContaining('198.51.100.40') });
    expect(ips('ns/stay')).toEqual(['198.51.100.50']);
  });

  it('applies a refused configuration once the Services it would renumber are gone', async () => {
    const r = await leader(TWO_POOLS);
    api.put(lbService('ns', 'move', { annotations: { 'ironlb.io/address-pool': 'a' } }));
    await settle(api, clock, [r]);
    r.offer({ text: NARROWED });
    await settle(api, clock, [r]);
    expect(r.stale).toBe(true);
    api.remove('ns', 'move');
    await settle(api, clock, [r]);
    expect(r.stale).toBe(false);
    api.put(lbService('ns', 'next', { annotations: { 'ironlb.io/address-pool': 'a' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/next')).toEqual(['198.51.100.44']);
  });

  it('applies a refused configuration once the Service it would renumber is moved by its own request', async () => {
    const r = await leader(TWO_POOLS);
    api.put(lbService('ns', 'move', { annotations: { 'ironlb.io/address-pool': 'a' } }));
    await settle(api, clock, [r]);
    r.offer({ text: NARROWED });
    await settle(api, clock, [r]);
    expect(r.stale).toBe(true);
    // The blocker asks for pool b: written there, it no longer keeps NARROWED out.
    api.put(lbService('ns', 'move', { annotations: { 'ironlb.io/address-pool': 'b' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/move')).toEqual(['198.51.100.50']);
    expect(r.stale).toBe(false);
    api.put(lbService('ns', 'next', { annotations: { 'ironlb.io/address-pool': 'a' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/next')).toEqual(['198.51.100.44']);
  });

  it('keeps the address of a Service whose new request names a taken address or an unknown pool', async () => {
    const r = await leader(TWO_POOLS);
    api.put(lbService('ns', 'x'));
    api.put(lbService('ns', 'y', { annotations: { 'ironlb.io/address-pool': 'b' } }));
    await settle(api, clock, [r]);
    const [x, y] = [ips('ns/x'), ips('ns/y')];
    api.put(lbService('ns', 'x', { annotations: { 'ironlb.io/loadBalancerIPs': y[0] } }));
    await settle(api, clock, [r]);
    expect(ips('ns/x')).toEqual(x);
    expect(r.events.of('ns/x', 'AllocationFailed').pop()?.message).toContain(`keeps ${x[0]}`);
    api.put(lbService('ns', 'x', { annotations: { 'ironlb.io/address-pool': 'nope' } }));
    await settle(api, clock, [r]);
    expect(ips('ns/x')).toEqual(x);
    expect(r.events.of('ns/x', 'AllocationFailed').pop()?.message).toMatch(/"nope".*keeps/);
    // The taken address freed: the Service that waited for it gets it.
    api.put(lbService('ns', 'x', { annotations: { 'ironlb.io/loadBalancerIPs': y[0] } }));
    await settle(api, clock, [r]);
    api.remove('ns', 'y');
    await settle(api, clock, [r]);
    expect(ips('ns/x')).toEqual(y);
  });

  it('at a start on a configuration that does not contain a live address, leaves that Service alone', async () => {
    api.put(lbService('ns', 'old', { ips: ['203.0.113.9'] }));
    const r = await leader();
    api.put(lbService('ns', 'new'));
    await settle(api, clock, [r]);
    expect(ips('ns/old')).toEqual(['203.0.113.9']);
    expect(r.events.of('ns/old', 'AddressOutsideConfig')).toHaveLength(1);
    expect(ips('ns/new')).toEqual(['198.51.100.90']);
  });

  it('of two Services showing one address without a sharing relation, moves the younger', async () => {
    api.put(lbService('ns', 'older', { ips: ['198.51.100.90'] }));
    api.put(lbService('ns', 'younger', { ips: ['198.51.100.90'] }));
    const r = await leader();
    expect(ips('ns/older')).toEqual(['198.51.100.90']);
    expect(ips('ns/younger')).toEqual(['198.51.100.91']);
    expect(r.events.of('ns/younger', 'ClearAssignment')[0].type).toBe('Warning');
  });

  it('adopts addresses another controller wrote before it ran (a migration) instead of renumbering', async () => {
    api.put(lbService('ns', 'migrated', { ips: ['198.51.100.95'] }));
    const r = await leader();
    api.put(lbService('ns', 'new'));
    await settle(api, clock, [r]);
    expect(ips('ns/migrated')).toEqual(['198.51.100.95']);
    expect(ips('ns/new')).toEqual(['198.51.100.90']);
  });

  it('counts the Services per pool for the metrics: by the pool each holds from, none for a pending one', async () => {
    const r = await leader(TWO_POOLS);
    api.put(lbService('ns', 'a1'));
    api.put(lbService('ns', 'a2'));
    api.put(lbService('ns', 'b1', { annotations: { 'metallb.universe.tf/address-pool': 'b' } }));
    api.put(lbService('ns', 'nowhere', { annotations: { 'metallb.universe.tf/address-pool': 'missing' } }));
    api.put(lbService('ns', 'plain', { type: 'ClusterIP' }));
    await settle(api, clock, [r]);
    const usage = r.reconciler.poolUsage();
    expect(usage && Object.fromEntries(usage.servicesPerPool)).toEqual({ a: 2, b: 1 });
    r.stepDown();
    expect(r.reconciler.poolUsage()).toBeUndefined(); // a standby publishes nothing
  });
});

describe('caches that adopt the write answers (RawInformer.adopt)', () => {
  it("take each write's answer in place of the version decided on; neither it nor its watch copy is decided again", async () => {
    const api = new FakeServices({ adopting: true });
    const clock = new FakeClock();
    const r = new Replica(api, clock);
    r.offer({ text: CONFIG });
    r.lead();
    await settle(api, clock, [r]);
    api.put(lbService('ns', 'a'));
    api.put(lbService('ns', 'b'));
    await settle(api, clock, [r]);
    expect([ipsOf(api.store.get('ns/a')), ipsOf(api.store.get('ns/b'))]).toEqual([['198.51.100.90'], ['198.51.100.91']]);
    expect(api.writes).toBe(2);
    expect(api.adopted).toBe(2);
    expect([api.cacheReads.get('ns/a'), api.cacheReads.get('ns/b')]).toEqual([1, 1]);
  });
});
