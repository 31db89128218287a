import type { AddressPool } from '../../../src/config/types';
import { Allocator } from '../../../src/ipam/allocator';
import { pool, svc, tcp } from './helpers';
import { no, ok, runScenario, type Step } from './scenario';

const v4 = pool('v4', ['10.0.0.0/29']);
const dual = pool('dual', ['10.1.0.0/30', '2001:db8:1::/126']);

interface Scenario {
  desc: string;
  pools: AddressPool[];
  steps: Step[];
}

function table(scenarios: Scenario[]): void {
  it.each(scenarios.map((s) => [s.desc, s] as const))('%s', (_, s) => {
    runScenario(s.pools, s.steps);
  });
}

describe('requested IPs', () => {
  table([
    {
      desc: 'a requested address inside a pool is given exactly',
      pools: [v4],
      steps: [{ desc: 'take .5', allocate: svc('ns/a', { requestedIPs: ['10.0.0.5'] }), want: ok('v4', '10.0.0.5') }],
    },
    {
      desc: 'an address outside every pool is refused',
      pools: [v4],
      steps: [
        {
          desc: 'outside',
          allocate: svc('ns/a', { requestedIPs: ['203.0.113.7'] }),
          want: no('NotInAnyPool', '"203.0.113.7" is not allowed in config'),
        },
        { desc: 'holds nothing', holds: { 'ns/a': undefined } },
      ],
    },
    {
      desc: 'avoid-buggy-ips makes .0 and .255 unavailable even when requested',
      pools: [pool('p', ['10.0.0.0/24'], { avoidBuggyIPs: true })],
      steps: [
        { desc: '.0', allocate: svc('ns/a', { requestedIPs: ['10.0.0.0'] }), want: no('NotInAnyPool') },
        { desc: '.255', allocate: svc('ns/a', { requestedIPs: ['10.0.0.255'] }), want: no('NotInAnyPool') },
        { desc: '.254', allocate: svc('ns/a', { requestedIPs: ['10.0.0.254'] }), want: ok('p', '10.0.0.254') },
      ],
    },
    {
      desc: 'a pool with auto-assign off still serves requested addresses',
      pools: [pool('manual', ['10.9.0.0/30'], { autoAssign: false })],
      steps: [{ desc: 'take', allocate: svc('ns/a', { requestedIPs: ['10.9.0.2'] }), want: ok('manual', '10.9.0.2') }],
    },
    {
      desc: 'requested address and address-pool annotation must agree',
      pools: [v4, pool('other', ['10.2.0.0/30'])],
      steps: [
        {
          desc: 'disagree',
          allocate: svc('ns/a', { requestedIPs: ['10.0.0.1'], poolName: 'other' }),
          want: no('PoolMismatch', '10.0.0.1 is in pool "v4", not in pool "other" named by the address-pool annotation'),
        },
        { desc: 'agree', allocate: svc('ns/a', { requestedIPs: ['10.2.0.1'], poolName: 'other' }), want: ok('other', '10.2.0.1') },
        { desc: 'unknown pool', allocate: svc('ns/b', { requestedIPs: ['10.2.0.2'], poolName: 'nope' }), want: no('UnknownPool') },
      ],
    },
    {
      desc: 'malformed requests are refused',
      pools: [v4, dual],
      steps: [
        { desc: 'not an address', allocate: svc('ns/a', { requestedIPs: ['10.0.0.300'] }), want: no('InvalidRequest', '"10.0.0.300" is not a valid IP address') },
        { desc: 'three addresses', allocate: svc('ns/a', { requestedIPs: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] }), want: no('InvalidRequest') },
        {
          desc: 'two of one family',
          allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'PreferDualStack', requestedIPs: ['10.1.0.1', '10.1.0.2'] }),
          want: no('InvalidRequest'),
        },
        { desc: 'IPv6 for an IPv4 service', allocate: svc('ns/a', { requestedIPs: ['2001:db8:1::1'] }), want: no('InvalidRequest') },
        {
          desc: 'RequireDualStack with one address',
          allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'RequireDualStack', requestedIPs: ['10.1.0.1'] }),
          want: no('InvalidRequest'),
        },
        { desc: 'RequireDualStack with one family', allocate: svc('ns/a', { families: [4], familyPolicy: 'RequireDualStack' }), want: no('InvalidRequest') },
        { desc: 'no families', allocate: svc('ns/a', { families: [] }), want: no('InvalidRequest') },
      ],
    },
    {
      desc: 'addresses are returned in canonical form, primary family first',
      pools: [dual],
      steps: [
        {
          desc: 'IPv6 primary, written loosely',
          allocate: svc('ns/a', { families: [6, 4], familyPolicy: 'RequireDualStack', requestedIPs: ['10.1.0.2', '2001:DB8:1:0::3'] }),
          want: ok('dual', '2001:db8:1::3', '10.1.0.2'),
        },
        { desc: 'same request in another spelling is the same', allocate: svc('ns/a', { families: [6, 4], familyPolicy: 'RequireDualStack', requestedIPs: ['2001:db8:1::3', '10.1.0.2'] }), want: ok('dual', '2001:db8:1::3', '10.1.0.2') },
      ],
    },
    {
      desc: 'dual-stack requested addresses must come from one pool',
      pools: [v4, pool('v6', ['2001:db8:9::/126'])],
      steps: [
        {
          desc: 'split',
          allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'RequireDualStack', requestedIPs: ['10.0.0.1', '2001:db8:9::1'] }),
          want: no('PoolMismatch', '10.0.0.1 is in pool "v4" and 2001:db8:9::1 is in pool "v6"; both addresses of a service must come from one pool'),
        },
      ],
    },
    {
      desc: 'changing the requested address moves the service',
      pools: [v4],
      steps: [
        { desc: 'take .5', allocate: svc('ns/a', { requestedIPs: ['10.0.0.5'] }), want: ok('v4', '10.0.0.5') },
        { desc: 'now .6', allocate: svc('ns/a', { requestedIPs: ['10.0.0.6'] }), want: ok('v4', '10.0.0.6') },
        { desc: '.5 is free again', allocate: svc('ns/b', { requestedIPs: ['10.0.0.5'] }), want: ok('v4', '10.0.0.5') },
        { desc: 'dropping the request keeps the address', allocate: svc('ns/a'), want: ok('v4', '10.0.0.6') },
      ],
    },
  ]);
});

describe('pool choice', () => {
  table([
    {
      desc: 'the address-pool annotation uses that pool only, even with auto-assign off',
      pools: [v4, pool('manual', ['10.9.0.0/31'], { autoAssign: false })],
      steps: [
        { desc: 'first', allocate: svc('ns/a', { poolName: 'manual' }), want: ok('manual', '10.9.0.0') },
        { desc: 'second', allocate: svc('ns/b', { poolName: 'manual' }), want: ok('manual', '10.9.0.1') },
        {
          desc: 'exhausted, no fallback',
          allocate: svc('ns/c', { poolName: 'manual' }),
          want: no('PoolExhausted', 'pool "manual" is exhausted (2 of 2 addresses in use)'),
        },
        { desc: 'unknown pool', allocate: svc('ns/d', { poolName: 'ghost' }), want: no('UnknownPool', 'pool "ghost" does not exist') },
        { desc: 'auto-assign never uses it', allocate: svc('ns/e'), want: ok('v4', '10.0.0.0') },
      ],
    },
    {
      desc: 'changing the annotation moves the service to the new pool',
      pools: [v4, pool('w', ['10.2.0.0/30'])],
      steps: [
        { desc: 'auto', allocate: svc('ns/a'), want: ok('v4', '10.0.0.0') },
        { desc: 'annotate w', allocate: svc('ns/a', { poolName: 'w' }), want: ok('w', '10.2.0.0') },
        { desc: 'annotate a pool that does not exist: released', allocate: svc('ns/a', { poolName: 'ghost' }), want: no('UnknownPool') },
        { desc: 'holds nothing', holds: { 'ns/a': undefined } },
      ],
    },
    {
      desc: 'auto-assign goes by priority, then name, whatever the input order',
      pools: [pool('b', ['10.0.2.0/31']), pool('z', ['10.0.9.0/31'], { priority: -1 }), pool('a', ['10.0.1.0/31']), pool('off', ['10.0.0.0/24'], { autoAssign: false, priority: -5 })],
      steps: [
        { desc: '1', allocate: svc('ns/1'), want: ok('z', '10.0.9.0') },
        { desc: '2', allocate: svc('ns/2'), want: ok('z', '10.0.9.1') },
        { desc: '3', allocate: svc('ns/3'), want: ok('a', '10.0.1.0') },
        { desc: '4', allocate: svc('ns/4'), want: ok('a', '10.0.1.1') },
        { desc: '5', allocate: svc('ns/5'), want: ok('b', '10.0.2.0') },
        { desc: '6', allocate: svc('ns/6'), want: ok('b', '10.0.2.1') },
        { desc: 'all full', allocate: svc('ns/7'), want: no('PoolExhausted', 'all candidate pools are exhausted: pool "z" is exhausted (2 of 2 addresses in use); pool "a" is exhausted (2 of 2 addresses in use); pool "b" is exhausted (2 of 2 addresses in use)') },
      ],
    },
    {
      desc: 'inside a pool, entries are used in declaration order',
      pools: [pool('p', ['10.0.0.100/31', '10.0.0.10/31'])],
      steps: [
        { desc: '1', allocate: svc('ns/1'), want: ok('p', '10.0.0.100') },
        { desc: '2', allocate: svc('ns/2'), want: ok('p', '10.0.0.101') },
        { desc: '3', allocate: svc('ns/3'), want: ok('p', '10.0.0.10') },
      ],
    },
    {
      desc: 'no pools at all, or none with auto-assign',
      pools: [],
      steps: [
        { desc: 'empty config', allocate: svc('ns/a'), want: no('NoPools', 'no address pools are configured') },
        { desc: 'only manual pools', setPools: [pool('m', ['10.0.0.0/30'], { autoAssign: false })], invalidated: [] },
        { desc: 'still none', allocate: svc('ns/a'), want: no('NoPools') },
      ],
    },
  ]);
});

describe('avoid-buggy-ips, exhaustion and release', () => {
  table([
    {
      desc: 'avoid-buggy-ips skips .0 and .255 when allocating across /24s',
      pools: [pool('p', ['10.0.0.254-10.0.1.1'], { avoidBuggyIPs: true })],
      steps: [
        { desc: '1', allocate: svc('ns/1'), want: ok('p', '10.0.0.254') },
        { desc: '2', allocate: svc('ns/2'), want: ok('p', '10.0.1.1') },
        { desc: 'full', allocate: svc('ns/3'), want: no('PoolExhausted', 'pool "p" is exhausted (2 of 2 addresses in use)') },
      ],
    },
    {
      desc: 'an exhausted pool serves again after a release, lowest address first',
      pools: [pool('default', ['10.0.0.0/30'])],
      steps: [
        { desc: '1', allocate: svc('ns/1'), want: ok('default', '10.0.0.0') },
        { desc: '2', allocate: svc('ns/2'), want: ok('default', '10.0.0.1') },
        { desc: '3', allocate: svc('ns/3'), want: ok('default', '10.0.0.2') },
        { desc: '4', allocate: svc('ns/4'), want: ok('default', '10.0.0.3') },
        { desc: 'full', allocate: svc('ns/5'), want: no('PoolExhausted', 'pool "default" is exhausted (4 of 4 addresses in use)') },
        { desc: 'release 2', release: 'ns/2' },
        { desc: 'release 3', release: 'ns/3' },
        { desc: '5 gets .1', allocate: svc('ns/5'), want: ok('default', '10.0.0.1') },
        { desc: '6 gets .2', allocate: svc('ns/6'), want: ok('default', '10.0.0.2') },
      ],
    },
    {
      desc: 'allocating again is idempotent',
      pools: [v4],
      steps: [
        { desc: 'first', allocate: svc('ns/a'), want: ok('v4', '10.0.0.0') },
        { desc: 'again', allocate: svc('ns/a'), want: ok('v4', '10.0.0.0') },
        { desc: 'other', allocate: svc('ns/b'), want: ok('v4', '10.0.0.1') },
        { desc: 'first again', allocate: svc('ns/a'), want: ok('v4', '10.0.0.0') },
      ],
    },
  ]);

  it('counts avoid-buggy-ips exactly in stats', () => {
    const a = new Allocator();
    a.setPools([
      pool('buggy', ['10.0.0.0/16', '10.1.0.0/30', '10.1.0.252/30'], { avoidBuggyIPs: true }),
      pool('plain', ['10.2.0.0/24', '2001:db8::/64']),
    ]);
    a.allocate(svc('ns/a', { poolName: 'buggy' }));
    a.allocate(svc('ns/b', { poolName: 'plain', families: [6] }));
    expect(a.stats()).toEqual([
      { pool: 'buggy', totalV4: 256n * 254n + 3n + 3n, totalV6: 0n, inUseV4: 1n, inUseV6: 0n },
      { pool: 'plain', totalV4: 256n, totalV6: 1n << 64n, inUseV4: 0n, inUseV6: 1n },
    ]);
  });
});

describe('sharing', () => {
  const share = (key: string, over: Parameters<typeof svc>[1] = {}) => svc(key, { sharingKey: 'k', ...over });
  table([
    {
      desc: 'same key, same backend, different ports: the lower shared address is reused',
      pools: [v4],
      steps: [
        { desc: 'web on 80', allocate: share('default/web'), want: ok('v4', '10.0.0.0') },
        { desc: 'dns on 53', allocate: share('default/dns', { ports: [{ protocol: 'UDP', port: 53 }] }), want: ok('v4', '10.0.0.0') },
        { desc: 'both listed', holds: { 'default/web': ['10.0.0.0'], 'default/dns': ['10.0.0.0'] } },
      ],
    },
    {
      desc: 'a shared address is only taken when it comes before the first free one',
      pools: [v4],
      steps: [
        { desc: 'web asks for .5', allocate: share('default/web', { requestedIPs: ['10.0.0.5'] }), want: ok('v4', '10.0.0.5') },
        { desc: 'dns gets the free .0, not .5', allocate: share('default/dns', { ports: tcp(53) }), want: ok('v4', '10.0.0.0') },
      ],
    },
    {
      desc: 'requesting an address held under another key, with a port clash, or another backend is refused',
      pools: [pool('p', ['198.51.100.88/29'])],
      steps: [
        { desc: 'web', allocate: share('default/web', { requestedIPs: ['198.51.100.90'] }), want: ok('p', '198.51.100.90') },
        {
          desc: 'port clash',
          allocate: share('default/api', { requestedIPs: ['198.51.100.90'] }),
          want: no('SharingConflict', '198.51.100.90: port TCP/80 is already used by default/web'),
        },
        {
          desc: 'other key',
          allocate: share('default/api', { requestedIPs: ['198.51.100.90'], sharingKey: 'z', ports: tcp(81) }),
          want: no('SharingConflict', '198.51.100.90 is shared by default/web with allow-shared-ip key "k", not "z"'),
        },
        {
          desc: 'no key',
          allocate: svc('default/api', { requestedIPs: ['198.51.100.90'], ports: tcp(81) }),
          want: no('SharingConflict'),
        },
        {
          desc: 'Local vs Cluster',
          allocate: share('default/api', { requestedIPs: ['198.51.100.90'], ports: tcp(81), backendKey: 'app=api' }),
          want: no('SharingConflict', '198.51.100.90 is used by default/web, whose externalTrafficPolicy or selector differs, so it cannot be shared'),
        },
        { desc: 'compatible', allocate: share('default/api', { requestedIPs: ['198.51.100.90'], ports: tcp(81) }), want: ok('p', '198.51.100.90') },
      ],
    },
    {
      desc: 'allocation skips addresses it may not share',
      pools: [v4],
      steps: [
        { desc: 'web', allocate: share('ns/web'), want: ok('v4', '10.0.0.0') },
        { desc: 'other key', allocate: share('ns/x', { sharingKey: 'other', ports: tcp(1) }), want: ok('v4', '10.0.0.1') },
        { desc: 'port clash', allocate: share('ns/y'), want: ok('v4', '10.0.0.2') },
        { desc: 'Local backend', allocate: share('ns/z', { backendKey: 'app=z', ports: tcp(2) }), want: ok('v4', '10.0.0.3') },
        { desc: 'Local, same selector: shares with z', allocate: share('ns/z2', { backendKey: 'app=z', ports: tcp(3) }), want: ok('v4', '10.0.0.3') },
      ],
    },
    {
      desc: 'the only holder of an address may change its key in place; a co-holder may not',
      pools: [v4],
      steps: [
        { desc: 'a alone', allocate: share('ns/a'), want: ok('v4', '10.0.0.0') },
        { desc: 'a changes key', allocate: share('ns/a', { sharingKey: 'k2' }), want: ok('v4', '10.0.0.0') },
        { desc: 'b joins under k2', allocate: share('ns/b', { sharingKey: 'k2', ports: tcp(443) }), want: ok('v4', '10.0.0.0') },
        { desc: 'a changes key again: moves', allocate: share('ns/a', { sharingKey: 'k3' }), want: ok('v4', '10.0.0.1') },
        { desc: 'b stays', holds: { 'ns/b': ['10.0.0.0'] } },
        { desc: 'b changes ports in place', allocate: share('ns/b', { sharingKey: 'k2', ports: tcp(80) }), want: ok('v4', '10.0.0.0') },
      ],
    },
    {
      desc: 'a shared address stays in use until its last holder leaves',
      pools: [pool('p', ['10.0.0.0/31'])],
      steps: [
        { desc: 'a', allocate: share('ns/a'), want: ok('p', '10.0.0.0') },
        { desc: 'b', allocate: share('ns/b', { ports: tcp(81) }), want: ok('p', '10.0.0.0') },
        { desc: 'release a', release: 'ns/a' },
        { desc: 'c (unshared) gets .1', allocate: svc('ns/c'), want: ok('p', '10.0.0.1') },
        { desc: 'release b', release: 'ns/b' },
        { desc: 'd (unshared) gets .0', allocate: svc('ns/d'), want: ok('p', '10.0.0.0') },
      ],
    },
  ]);

  it('lists the services on an address, sorted, for any spelling', () => {
    const a = runScenario([dual], [
      { desc: 'b', allocate: svc('ns/b', { families: [6], sharingKey: 'k' }), want: ok('dual', '2001:db8:1::') },
      { desc: 'a', allocate: svc('ns/a', { families: [6], sharingKey: 'k', ports: tcp(81) }), want: ok('dual', '2001:db8:1::') },
    ]);
    expect(a.servicesOn('2001:DB8:1:0:0:0:0:0')).toEqual(['ns/a', 'ns/b']);
    expect(a.servicesOn('not an ip')).toEqual([]);
    expect(a.servicesOn('10.1.0.3')).toEqual([]);
  });
});

describe('dual-stack', () => {
  const v4only = pool('a-v4', ['10.0.0.0/30']);
  const v6only = pool('b-v6', ['2001:db8:2::/126']);
  table([
    {
      desc: 'RequireDualStack takes one address of each family from one pool, primary first',
      pools: [v4only, dual],
      steps: [
        { desc: 'v4 primary', allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'RequireDualStack' }), want: ok('dual', '10.1.0.0', '2001:db8:1::') },
        { desc: 'v6 primary', allocate: svc('ns/b', { families: [6, 4], familyPolicy: 'RequireDualStack' }), want: ok('dual', '2001:db8:1::1', '10.1.0.1') },
      ],
    },
    {
      desc: 'RequireDualStack fails without a pool holding both families',
      pools: [v4only, v6only],
      steps: [
        {
          desc: 'split pools',
          allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'RequireDualStack' }),
          want: no('FamilyUnavailable', 'no auto-assign pool has both IPv4 and IPv6 addresses'),
        },
      ],
    },
    {
      desc: 'RequireDualStack reports which family ran out',
      pools: [pool('d', ['10.1.0.0/30', '2001:db8:1::/127'])],
      steps: [
        { desc: '1', allocate: svc('ns/1', { families: [4, 6], familyPolicy: 'RequireDualStack' }), want: ok('d', '10.1.0.0', '2001:db8:1::') },
        { desc: '2', allocate: svc('ns/2', { families: [4, 6], familyPolicy: 'RequireDualStack' }), want: ok('d', '10.1.0.1', '2001:db8:1::1') },
        {
          desc: 'v6 gone',
          allocate: svc('ns/3', { families: [4, 6], familyPolicy: 'RequireDualStack' }),
          want: no('PoolExhausted', 'pool "d" is exhausted (2 of 2 IPv6 addresses in use)'),
        },
        { desc: 'single-stack v4 still fits', allocate: svc('ns/3'), want: ok('d', '10.1.0.2') },
      ],
    },
    {
      desc: 'PreferDualStack prefers a dual pool, falls back to the primary family, and later adds the missing one',
      pools: [v4only],
      steps: [
        { desc: 'only v4 exists', allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'PreferDualStack' }), want: ok('a-v4', '10.0.0.0') },
        { desc: 'pool gains IPv6', setPools: [pool('a-v4', ['10.0.0.0/30', '2001:db8:2::/126'])], invalidated: [] },
        { desc: 'top-up from the same pool', allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'PreferDualStack' }), want: ok('a-v4', '10.0.0.0', '2001:db8:2::') },
      ],
    },
    {
      desc: 'PreferDualStack takes a dual pool later in the order over a single-family pool earlier in it',
      pools: [v4only, dual],
      steps: [{ desc: 'dual wins', allocate: svc('ns/a', { families: [4, 6], familyPolicy: 'PreferDualStack' }), want: ok('dual', '10.1.0.0', '2001:db8:1::') }],
    },
    {
      desc: 'PreferDualStack falls back to the primary family only',
      pools: [v4only],
      steps: [
        {
          desc: 'v6 primary, only v4 pools',
          allocate: svc('ns/a', { families: [6, 4], familyPolicy: 'PreferDualStack' }),
          want: no('FamilyUnavailable', 'no auto-assign pool has IPv6 addresses'),
        },
      ],
    },
    {
      desc: 'SingleStack uses the first family only, and moves when the family changes',
      pools: [dual],
      steps: [
        { desc: 'v6', allocate: svc('ns/a', { families: [6, 4], familyPolicy: 'SingleStack' }), want: ok('dual', '2001:db8:1::') },
        { desc: 'now v4', allocate: svc('ns/a', { families: [4] }), want: ok('dual', '10.1.0.0') },
        { desc: 'named pool without the family', allocate: svc('ns/b', { families: [6], poolName: 'dual' }), want: ok('dual', '2001:db8:1::') },
      ],
    },
    {
      desc: 'a named single-family pool cannot serve the other family',
      pools: [v4only],
      steps: [{ desc: 'v6 from v4 pool', allocate: svc('ns/a', { families: [6], poolName: 'a-v4' }), want: no('FamilyUnavailable', 'pool "a-v4" does not have IPv6 addresses') }],
    },
  ]);
});

describe('setPools', () => {
  table([
    {
      desc: 'services whose addresses left every pool are released and reported; others stay',
      pools: [pool('a', ['10.0.0.0/30']), pool('b', ['10.0.1.0/30'])],
      steps: [
        { desc: 'x in a', allocate: svc('ns/x', { poolName: 'a' }), want: ok('a', '10.0.0.0') },
        { desc: 'y in a', allocate: svc('ns/y', { poolName: 'a' }), want: ok('a', '10.0.0.1') },
        { desc: 'z in b', allocate: svc('ns/z', { poolName: 'b' }), want: ok('b', '10.0.1.0') },
        { desc: 'shrink a, drop b', setPools: [pool('a', ['10.0.0.1/32', '10.0.0.2/31'])], invalidated: ['ns/x', 'ns/z'] },
        { desc: 'y kept', holds: { 'ns/x': undefined, 'ns/y': ['10.0.0.1'], 'ns/z': undefined } },
        { desc: 'new service skips y', allocate: svc('ns/w'), want: ok('a', '10.0.0.2') },
      ],
    },
    {
      desc: 'a renamed pool or an address moved to another pool keeps the service, with the new pool name',
      pools: [pool('old', ['10.0.0.0/30'])],
      steps: [
        { desc: 'x', allocate: svc('ns/x'), want: ok('old', '10.0.0.0') },
        { desc: 'y', allocate: svc('ns/y'), want: ok('old', '10.0.0.1') },
        { desc: 'rename and split', setPools: [pool('new', ['10.0.0.0/32', '10.0.0.3/32']), pool('other', ['10.0.0.1/32', '10.0.0.2/32'])], invalidated: [] },
        { desc: 'x in new', allocate: svc('ns/x'), want: ok('new', '10.0.0.0') },
        { desc: 'y in other', allocate: svc('ns/y'), want: ok('other', '10.0.0.1') },
        { desc: 'next free in new', allocate: svc('ns/z'), want: ok('new', '10.0.0.3') },
      ],
    },
    {
      desc: 'turning avoid-buggy-ips on invalidates a service on .0',
      pools: [pool('p', ['10.0.0.0/24'])],
      steps: [
        { desc: 'x on .0', allocate: svc('ns/x'), want: ok('p', '10.0.0.0') },
        { desc: 'y on .1', allocate: svc('ns/y'), want: ok('p', '10.0.0.1') },
        { desc: 'avoid', setPools: [pool('p', ['10.0.0.0/24'], { avoidBuggyIPs: true })], invalidated: ['ns/x'] },
        { desc: 'x again', allocate: svc('ns/x'), want: ok('p', '10.0.0.2') },
      ],
    },
    {
      desc: 'a dual-stack service whose addresses end up in two pools is invalidated',
      pools: [dual],
      steps: [
        { desc: 'x', allocate: svc('ns/x', { families: [4, 6], familyPolicy: 'RequireDualStack' }), want: ok('dual', '10.1.0.0', '2001:db8:1::') },
        { desc: 'split', setPools: [pool('d4', ['10.1.0.0/30']), pool('d6', ['2001:db8:1::/126'])], invalidated: ['ns/x'] },
      ],
    },
    {
      desc: 'removing every pool releases everyone',
      pools: [v4],
      steps: [
        { desc: 'x', allocate: svc('ns/x'), want: ok('v4', '10.0.0.0') },
        { desc: 'none', setPools: [], invalidated: ['ns/x'] },
        { desc: 'x again', allocate: svc('ns/x'), want: no('NoPools') },
      ],
    },
  ]);

  it('rejects duplicate pool names', () => {
    expect(() => new Allocator().setPools([pool('p', ['10.0.0.0/30']), pool('p', ['10.0.1.0/30'])])).toThrow('duplicate address pool name "p"');
  });
});

describe('restore (assign at start-up)', () => {
  table([
    {
      desc: 'restored addresses are reserved before anything is allocated, and never move',
      pools: [v4],
      steps: [
        { desc: 'restore a on .3', assign: svc('ns/a'), ips: ['10.0.0.3'], want: ok('v4', '10.0.0.3') },
        { desc: 'restore b on .0', assign: svc('ns/b'), ips: ['10.0.0.0'], want: ok('v4', '10.0.0.0') },
        { desc: 'new c gets .1', allocate: svc('ns/c'), want: ok('v4', '10.0.0.1') },
        { desc: 'a keeps .3 although .2 is free', allocate: svc('ns/a'), want: ok('v4', '10.0.0.3') },
      ],
    },
    {
      desc: 'restore is idempotent',
      pools: [v4],
      steps: [
        { desc: 'once', assign: svc('ns/a', { sharingKey: 'k' }), ips: ['10.0.0.3'], want: ok('v4', '10.0.0.3') },
        { desc: 'twice', assign: svc('ns/a', { sharingKey: 'k' }), ips: ['10.0.0.3'], want: ok('v4', '10.0.0.3') },
        { desc: 'one holder', holds: { 'ns/a': ['10.0.0.3'] } },
      ],
    },
    {
      desc: 'two services restored onto one address without a sharing key: the second is refused and holds nothing',
      pools: [v4],
      steps: [
        { desc: 'a', assign: svc('ns/a'), ips: ['10.0.0.3'], want: ok('v4', '10.0.0.3') },
        { desc: 'b', assign: svc('ns/b', { ports: tcp(81) }), ips: ['10.0.0.3'], want: no('SharingConflict', '10.0.0.3 is already used by ns/a; to share it both services need the same allow-shared-ip key') },
        { desc: 'b empty', holds: { 'ns/a': ['10.0.0.3'], 'ns/b': undefined } },
        { desc: 'b allocated afterwards', allocate: svc('ns/b'), want: ok('v4', '10.0.0.0') },
      ],
    },
    {
      desc: 'a restored address no pool contains any more is refused',
      pools: [v4],
      steps: [{ desc: 'outside', assign: svc('ns/a'), ips: ['10.0.9.9'], want: no('NotInAnyPool', '"10.0.9.9" is not allowed in config') }],
    },
    {
      desc: 'a failed assign releases what the service held',
      pools: [v4],
      steps: [
        { desc: 'a', allocate: svc('ns/a'), want: ok('v4', '10.0.0.0') },
        { desc: 'a asks for an outside address', assign: svc('ns/a'), ips: ['192.0.2.1'], want: no('NotInAnyPool') },
        { desc: 'nothing left', holds: { 'ns/a': undefined } },
      ],
    },
  ]);
});
