// Issue 13 additions to the allocator, as sequential scenario tables: sharing across namespaces,
// keeping an address when a new request cannot be met, holding status addresses outside every
// pool, and what a new pool set would take away. Expected values written by hand.
import { Allocator, OUTSIDE } from '../../../src/ipam/allocator';
import { pool, svc, tcp } from './helpers';
import { no, ok, runScenario } from './scenario';

const shared = (key: string, port: number, over = {}) => svc(key, { sharingKey: 'web', requestedIPs: ['198.51.100.10'], ports: tcp(port), ...over });

describe('sharing across namespaces', () => {
  it('lets Cluster Services of two namespaces share, but not Local ones, even with the same selector', () => {
    runScenario([pool('p', ['198.51.100.10-198.51.100.12'])], [
      { desc: 'a/x takes .10', allocate: shared('a/x', 80), want: ok('p', '198.51.100.10') },
      { desc: 'b/y Cluster shares it', allocate: shared('b/y', 443), want: ok('p', '198.51.100.10') },
      { desc: 'a/l Local', allocate: shared('a/l', 8080, { sharingKey: 'loc', requestedIPs: ['198.51.100.11'], backendKey: 'Local:app=web' }), want: ok('p', '198.51.100.11') },
      { desc: 'a/m Local, same namespace and selector: shares', allocate: shared('a/m', 8081, { sharingKey: 'loc', requestedIPs: ['198.51.100.11'], backendKey: 'Local:app=web' }), want: ok('p', '198.51.100.11') },
      {
        desc: 'b/n Local, same selector in another namespace: refused',
        allocate: shared('b/n', 8082, { sharingKey: 'loc', requestedIPs: ['198.51.100.11'], backendKey: 'Local:app=web' }),
        want: no('SharingConflict', '198.51.100.11 is used by a/l in another namespace: Services with externalTrafficPolicy Local share an address only within one namespace'),
      },
    ]);
  });

  it('keeps shares inside one namespace in a pool with cross-namespace-sharing: false, and leaves existing shares alone', () => {
    const closed = { ...pool('p', ['198.51.100.10-198.51.100.12']), crossNamespaceSharing: false };
    const alloc = runScenario([pool('p', ['198.51.100.10-198.51.100.12'])], [
      { desc: 'a/x takes .10', allocate: shared('a/x', 80), want: ok('p', '198.51.100.10') },
      { desc: 'b/y shares it while the pool allows it', allocate: shared('b/y', 443), want: ok('p', '198.51.100.10') },
      { desc: 'the pool closes: nothing is invalidated', setPools: [closed], invalidated: [] },
      { desc: 'both keep it on every resync', allocate: shared('b/y', 443), want: ok('p', '198.51.100.10') },
      { desc: 'a new Service of another namespace may not join', allocate: shared('c/z', 8080), want: no('SharingConflict', '198.51.100.10 is used by a/x in another namespace, and pool "p" has cross-namespace-sharing: false') },
      { desc: 'nor one of a/x\'s namespace while b/y is on it', allocate: shared('a/w', 8080), want: no('SharingConflict', '198.51.100.10 is used by b/y in another namespace, and pool "p" has cross-namespace-sharing: false') },
      { desc: 'b/y leaves', release: 'b/y' },
      { desc: 'now a/w may join', allocate: shared('a/w', 8080), want: ok('p', '198.51.100.10') },
    ]);
    expect(alloc.servicesOn('198.51.100.10')).toEqual(['a/w', 'a/x']);
  });
});

describe('allocateOrKeep', () => {
  it('keeps the held address when the new request cannot be met, and moves once it can', () => {
    const alloc = new Allocator();
    alloc.setPools([pool('p', ['198.51.100.10-198.51.100.11'])]);
    expect(alloc.allocateOrKeep(svc('ns/a'))).toEqual(ok('p', '198.51.100.10'));
    expect(alloc.allocateOrKeep(svc('ns/b'))).toEqual(ok('p', '198.51.100.11'));
    expect(alloc.allocateOrKeep(svc('ns/a', { requestedIPs: ['198.51.100.11'] }))).toMatchObject({ ok: false, reason: 'SharingConflict', kept: ['198.51.100.10'] });
    expect(alloc.allocateOrKeep(svc('ns/a', { poolName: 'nope' }))).toMatchObject({ ok: false, reason: 'UnknownPool', kept: ['198.51.100.10'] });
    expect(alloc.servicesOn('198.51.100.10')).toEqual(['ns/a']);
    alloc.release('ns/b');
    expect(alloc.allocateOrKeep(svc('ns/a', { requestedIPs: ['198.51.100.11'] }))).toEqual(ok('p', '198.51.100.11'));
    expect(alloc.servicesOn('198.51.100.10')).toEqual([]);
  });

  it('gives the address up when the new request may no longer share it', () => {
    const alloc = new Allocator();
    alloc.setPools([pool('p', ['198.51.100.10'])]);
    expect(alloc.allocateOrKeep(shared('ns/a', 80))).toEqual(ok('p', '198.51.100.10'));
    expect(alloc.allocateOrKeep(shared('ns/b', 443))).toEqual(ok('p', '198.51.100.10'));
    // b now wants port 80 too: the pool has nothing else, and keeping would put two Services on one port.
    const r = alloc.allocateOrKeep(shared('ns/b', 80));
    expect(r).toMatchObject({ ok: false, reason: 'SharingConflict' });
    expect('kept' in r).toBe(false);
    expect(alloc.servicesOn('198.51.100.10')).toEqual(['ns/a']);
  });
});

describe('reserve and addresses outside every pool', () => {
  it('holds status addresses no pool contains, under the sharing rules, and never hands them out', () => {
    const alloc = new Allocator();
    alloc.setPools([pool('p', ['198.51.100.10'])]);
    expect(alloc.reserve(svc('ns/old'), ['203.0.113.9'])).toEqual(ok(OUTSIDE, '203.0.113.9'));
    expect(alloc.reserve(svc('ns/dup'), ['203.0.113.9'])).toMatchObject({ ok: false, reason: 'SharingConflict' });
    expect(alloc.assign(svc('ns/new'), ['203.0.113.9'])).toMatchObject({ ok: false, reason: 'NotInAnyPool' });
    expect(alloc.allocate(svc('ns/new'))).toEqual(ok('p', '198.51.100.10'));
    expect(alloc.invalidatedBy([pool('q', ['198.51.100.20'])])).toEqual([{ key: 'ns/new', ips: ['198.51.100.10'], why: '198.51.100.10 would be in no pool' }]);
    // A pool that takes the address in makes it an ordinary holding.
    expect(alloc.setPools([pool('p', ['198.51.100.10']), pool('w', ['203.0.113.0/24'])])).toEqual({ invalidated: [] });
    expect(alloc.assignmentOf('ns/old')?.pool).toBe('w');
    expect(alloc.stats().find((s) => s.pool === 'w')?.inUseV4).toBe(1n);
  });
});
