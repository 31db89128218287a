// When an elected node cannot announce (announce-failures.ts), pure: which addresses are stuck,
// the announceFailed text, and when it is said (grace 3000 ms in these tables). Expected values
// written by hand.
import { AnnounceFailures, announceFailedReason, stuckAddresses } from '../../../src/speaker/layer2/announce-failures';
import type { ResponderInterfaceConfig } from '../../../src/speaker/layer2/responder-messages';

const iface = (name: string, arp: boolean, ndp: boolean): ResponderInterfaceConfig => ({ name, ifindex: 2, mac: '02:00:00:00:00:01', arp, ndp });
const ETH0 = iface('eth0', true, true);
const ETH1_V4 = iface('eth1', true, false);
const BOND_NONE = iface('bond0', false, false);
const V4 = '198.51.100.90';
const V6 = '2001:db8::90';

describe('stuckAddresses', () => {
  it.each([
    { rule: 'any interface with ARP carries IPv4', ips: [V4], pool: [], usable: [ETH1_V4], stuck: [] },
    { rule: 'IPv6 needs NDP', ips: [V4, V6], pool: [], usable: [ETH1_V4], stuck: [V6] },
    { rule: 'no usable interface: every address', ips: [V4, V6], pool: [], usable: [], stuck: [V4, V6] },
    { rule: 'an interface with neither protocol carries nothing', ips: [V4], pool: [], usable: [BOND_NONE], stuck: [V4] },
    { rule: "the pool's interfaces only", ips: [V4], pool: ['eth0'], usable: [ETH1_V4], stuck: [V4] },
    { rule: "the pool's interface is up", ips: [V4, V6], pool: ['eth0', 'eth9'], usable: [ETH1_V4, ETH0], stuck: [] },
    { rule: 'nothing elected: nothing stuck', ips: [], pool: ['eth0'], usable: [], stuck: [] },
  ])('$rule', ({ ips, pool, usable, stuck }) => {
    expect(stuckAddresses(ips, pool, usable)).toEqual(stuck);
  });
});

describe('announceFailedReason', () => {
  it.each([
    { stuck: [V4], pool: [], usable: [ETH1_V4], text: `node "n1" was elected for ${V4} but cannot announce it on any interface: usable layer-2 interfaces here: eth1` },
    { stuck: [V4, V6], pool: ['eth0', 'eth2'], usable: [], text: `node "n1" was elected for ${V4}, ${V6} but cannot announce it on the pool's interfaces (eth0, eth2): usable layer-2 interfaces here: none` },
    { stuck: [V6], pool: [], usable: [ETH1_V4, BOND_NONE], text: `node "n1" was elected for ${V6} but cannot announce it on any interface: usable layer-2 interfaces here: eth1, bond0` },
  ])('$text', ({ stuck, pool, usable, text }) => {
    expect(announceFailedReason('n1', stuck, pool, usable)).toBe(text);
  });
});

describe('AnnounceFailures', () => {
  it('waits out the grace period, reports once per reason, and says whether a report was out when it clears', () => {
    const f = new AnnounceFailures(3000);
    const steps: Array<[string, unknown]> = [
      ['failing r1 @1000', f.failing('svc', 'r1', 1000)],
      ['failing r1 @2500', f.failing('svc', 'r1', 2500)],
      ['failing r1 @4000', f.failing('svc', 'r1', 4000)],
      ['failing r1 @4100', f.failing('svc', 'r1', 4100)],
      // A new reason is reported anew, at once: the grace runs from the first failure (1000).
      ['failing r2 @4200', f.failing('svc', 'r2', 4200)],
      ['failing r2 @4300', f.failing('svc', 'r2', 4300)],
      ['resolved', f.resolved('svc')],
      ['resolved again', f.resolved('svc')],
      // After it cleared, a new failure waits the whole grace again.
      ['failing r1 @5000', f.failing('svc', 'r1', 5000)],
      ['resolved before reported', f.resolved('svc')],
    ];
    expect(steps).toEqual([
      ['failing r1 @1000', { act: 'wait', ms: 3000 }],
      ['failing r1 @2500', { act: 'wait', ms: 1500 }],
      ['failing r1 @4000', { act: 'report' }],
      ['failing r1 @4100', { act: 'none' }],
      ['failing r2 @4200', { act: 'report' }],
      ['failing r2 @4300', { act: 'none' }],
      ['resolved', true],
      ['resolved again', false],
      ['failing r1 @5000', { act: 'wait', ms: 3000 }],
      ['resolved before reported', false],
    ]);
  });

  it('keeps each Service apart; forget drops one', () => {
    const f = new AnnounceFailures(3000);
    expect(f.failing('a', 'r', 0)).toEqual({ act: 'wait', ms: 3000 });
    expect(f.failing('b', 'r', 2000)).toEqual({ act: 'wait', ms: 3000 });
    expect(f.failing('a', 'r', 3000)).toEqual({ act: 'report' });
    expect(f.failing('b', 'r', 3000)).toEqual({ act: 'wait', ms: 2000 });
    f.forget('a');
    expect(f.failing('a', 'r', 3500)).toEqual({ act: 'wait', ms: 3000 });
  });
});
