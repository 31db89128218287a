// IPAddressPool serviceAllocation in the allocator (issue 15): a Service outside a pool's
// restriction never gets an address from it, automatically, by pool annotation or by IP; the
// refusal names the restriction; priority orders the pools that serve a Service. Expected answers
// are hand-written from MetalLB's documented rules (_advanced_ipaddresspool_configuration.md).
import type { AddressPool, ServiceAllocation } from '../../../src/config/types';
import type { ServiceRequest } from '../../../src/ipam/types';
import { pool, svc } from './helpers';
import { no, ok, runScenario, type Step } from './scenario';

const restricted = (name: string, addresses: string[], sa: Partial<ServiceAllocation>): AddressPool => {
  const allocation: ServiceAllocation = { priority: 0, namespaces: [], namespaceSelectors: [], serviceSelectors: [], ...sa };
  return { ...pool(name, addresses), priority: allocation.priority, serviceAllocation: allocation };
};

const teamA = restricted('team-a', ['10.0.0.0/30'], { namespaces: ['team-a'] });
const gold = restricted('gold', ['10.0.1.0/30'], { priority: 10, namespaceSelectors: [{ matchLabels: { tier: 'gold' }, matchExpressions: [] }] });
const web = restricted('web', ['10.0.2.0/30'], { priority: 5, serviceSelectors: [{ matchLabels: { app: 'web' }, matchExpressions: [] }] });
const open = pool('open', ['10.0.9.0/30']);

/** A Service in `namespace` with these namespace and Service labels. */
const in_ = (key: string, nsLabels: Record<string, string> = {}, labels: Record<string, string> = {}, over: Partial<ServiceRequest> = {}): ServiceRequest =>
  svc(key, { tenant: { namespace: key.split('/')[0], namespaceLabels: nsLabels, serviceLabels: labels }, ...over });

describe('serviceAllocation in the allocator', () => {
  const cases: { desc: string; pools: AddressPool[]; steps: Step[] }[] = [
    {
      desc: 'automatic: a restricted pool serves its namespace first, others go to the open pool',
      pools: [open, teamA],
      steps: [
        { desc: 'team-a Service', allocate: in_('team-a/x'), want: ok('team-a', '10.0.0.0') },
        { desc: 'other namespace', allocate: in_('team-b/y'), want: ok('open', '10.0.9.0') },
      ],
    },
    {
      desc: 'priority: non-zero priorities lowest first, then restricted pools without one, then open pools',
      pools: [open, teamA, gold, web],
      steps: [
        // serves: gold (priority 10, namespace labelled tier=gold), web (priority 5, app=web), team-a (0), open
        { desc: 'all four serve it: web (5) beats gold (10)', allocate: in_('team-a/a', { tier: 'gold' }, { app: 'web' }), want: ok('web', '10.0.2.0') },
        { desc: 'gold and team-a and open serve it: gold (10) beats team-a (0 = unset)', allocate: in_('team-a/b', { tier: 'gold' }), want: ok('gold', '10.0.1.0') },
        { desc: 'team-a and open: team-a', allocate: in_('team-a/c'), want: ok('team-a', '10.0.0.0') },
        { desc: 'only open', allocate: in_('elsewhere/d'), want: ok('open', '10.0.9.0') },
      ],
    },
    {
      desc: 'by pool annotation: a restricted pool refuses a Service outside it, naming the restriction',
      pools: [open, teamA],
      steps: [
        {
          desc: 'team-b names team-a',
          allocate: in_('team-b/y', {}, { app: 'x' }, { poolName: 'team-a' }),
          want: no('PoolRestricted', 'pool "team-a" only serves namespaces team-a; the Service is in namespace "team-b", labelled app=x'),
        },
        { desc: 'holds nothing', holds: { 'team-b/y': undefined } },
        { desc: 'team-a names team-a', allocate: in_('team-a/x', {}, {}, { poolName: 'team-a' }), want: ok('team-a', '10.0.0.0') },
      ],
    },
    {
      desc: 'by IP: an address of a restricted pool is refused to a Service outside it',
      pools: [open, gold],
      steps: [
        {
          desc: 'plain namespace asks for a gold address',
          allocate: in_('plain/y', {}, {}, { requestedIPs: ['10.0.1.2'] }),
          want: no('PoolRestricted', '10.0.1.2 is in pool "gold", and pool "gold" only serves namespaces labelled tier=gold; the Service is in namespace "plain", without labels'),
        },
        { desc: 'the address stays free for a gold Service', allocate: in_('rich/z', { tier: 'gold' }, {}, { requestedIPs: ['10.0.1.2'] }), want: ok('gold', '10.0.1.2') },
      ],
    },
    {
      desc: 'no auto-assign pool serves the Service: refused with every restriction',
      pools: [teamA, web],
      steps: [
        {
          desc: 'elsewhere',
          allocate: in_('elsewhere/q'),
          want: no(
            'PoolRestricted',
            'no auto-assign pool serves this Service (the Service is in namespace "elsewhere", without labels): pool "team-a" only serves namespaces team-a; pool "web" only serves Services labelled app=web',
          ),
        },
      ],
    },
    {
      desc: 'a restriction added later does not move a Service that holds an address (no renumbering); new ones follow it',
      pools: [pool('p', ['10.0.5.0/30'])],
      steps: [
        { desc: 'x gets .0', allocate: in_('ns/x'), want: ok('p', '10.0.5.0') },
        { desc: 'p becomes team-a only', setPools: [restricted('p', ['10.0.5.0/30'], { namespaces: ['team-a'] })], invalidated: [] },
        { desc: 'x keeps it', allocate: in_('ns/x'), want: ok('p', '10.0.5.0') },
        { desc: 'a new ns Service is refused', allocate: in_('ns/y'), want: no('PoolRestricted') },
      ],
    },
    {
      desc: 'without tenant facts the namespace comes from the key (ConfigMap pools are open to everyone)',
      pools: [teamA, open],
      steps: [
        { desc: 'team-a from the key', allocate: svc('team-a/x'), want: ok('team-a', '10.0.0.0') },
        { desc: 'others', allocate: svc('other/x'), want: ok('open', '10.0.9.0') },
      ],
    },
  ];
  it.each(cases.map((c) => [c.desc, c] as const))('%s', (_, c) => {
    runScenario(c.pools, c.steps);
  });
});
