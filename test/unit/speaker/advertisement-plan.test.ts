// The speakers' announcement plan from metallb.io objects (issue 15): L2Advertisement
// nodeSelectors decide who may be elected and interfaces where the elected node answers;
// BGPAdvertisement nodeSelectors decide which nodes announce and peers which sessions get the
// route. Expected answers are written by hand from MetalLB's documented rules
// (_advanced_l2_configuration.md, _advanced_bgp_configuration.md), not computed.
import type * as k8s from '@kubernetes/client-node';
import { translateObjects } from '../../../src/config/crd/translate';
import type { Config, Peer } from '../../../src/config/types';
import { desiredRoutes } from '../../../src/speaker/bgp/bgp-speaker';
import type { NodeFacts } from '../../../src/speaker/election/election';
import { desiredOwnership } from '../../../src/speaker/layer2/desired';
import { bgpAdv, bgpPeer, ipPool, l2Adv, NS } from '../config/crd/objects';

function config(objects: unknown[]): Config {
  const r = translateObjects(objects, { namespace: NS });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const svc = (name: string, ip: string, labels: Record<string, string> = {}): k8s.V1Service => ({
  metadata: { name, namespace: 'default', labels },
  spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: 'Cluster' },
  status: { loadBalancer: { ingress: [{ ip }] } },
});

const node = (name: string, labels: Record<string, string> = {}): NodeFacts => ({ name, labels: { 'kubernetes.io/hostname': name, ...labels }, networkUnavailable: false });
const NODES = new Map([node('a', { zone: 'x' }), node('b', { zone: 'y' }), node('c')].map((n) => [n.name, n]));
const ready = { anyReady: true, readyNodes: new Set(['a', 'b', 'c']) };

function layer2(cfg: Config, services: k8s.V1Service[], self: string) {
  return desiredOwnership({ config: cfg, services, endpoints: () => ready, nodes: NODES, members: { alive: new Set(['a', 'b', 'c']), layer2Unready: new Set() }, self });
}

describe('L2Advertisement in the speaker', () => {
  const pool = ipPool('p', { addresses: ['192.0.2.0/24'] });

  it('nodeSelectors: only zone=x nodes may be elected; the only one, a, is elected from every node\'s view', () => {
    const cfg = config([pool, l2Adv('x', { nodeSelectors: [{ matchLabels: { zone: 'x' } }] })]);
    for (const self of ['a', 'b', 'c']) expect(layer2(cfg, [svc('s', '192.0.2.10')], self).addresses.get('192.0.2.10')?.owner).toBe('a');
    expect([...layer2(cfg, [svc('s', '192.0.2.10')], 'a').owned.values()]).toEqual([{ address: '192.0.2.10' }]);
    expect(layer2(cfg, [svc('s', '192.0.2.10')], 'b').owned.size).toBe(0);
  });

  it('interfaces: the elected node answers only on the named interfaces; union over the advertisements selecting it', () => {
    const cfg = config([
      pool,
      l2Adv('everywhere', { nodeSelectors: [{ matchLabels: { zone: 'x' } }], interfaces: ['eth1'] }),
      l2Adv('extra-on-a', { nodeSelectors: [{ matchLabels: { 'kubernetes.io/hostname': 'a' } }], interfaces: ['eth2'] }),
    ]);
    expect([...layer2(cfg, [svc('s', '192.0.2.10')], 'a').owned.values()]).toEqual([{ address: '192.0.2.10', interfaces: ['eth1', 'eth2'] }]);
  });

  it('serviceSelectors: a Service no advertisement applies to is not announced over layer 2', () => {
    const cfg = config([pool, l2Adv('web', { serviceSelectors: [{ matchLabels: { app: 'web' } }] })]);
    expect(layer2(cfg, [svc('other', '192.0.2.11')], 'a').services).toEqual([]);
    expect(layer2(cfg, [svc('web', '192.0.2.12', { app: 'web' })], 'a').addresses.get('192.0.2.12')?.owner).toBeDefined();
  });

  it('a pool selected only by a BGPAdvertisement is not announced over layer 2', () => {
    const cfg = config([pool, bgpPeer('r', { myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1' }), bgpAdv('bgp')]);
    expect(layer2(cfg, [svc('s', '192.0.2.10')], 'a').services).toEqual([]);
  });
});

describe('BGPAdvertisement in the speaker', () => {
  const pool = ipPool('p', { addresses: ['198.51.100.0/24'] });
  const r1 = bgpPeer('r1', { myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1' });
  const r2 = bgpPeer('r2', { myASN: 64500, peerASN: 64502, peerAddress: '203.0.113.2' });
  const routes = (cfg: Config, self: string, peer?: Peer) =>
    [...desiredRoutes({ config: cfg, services: [svc('s', '198.51.100.7')], node: NODES.get(self) as NodeFacts, endpoints: () => ready, peer }).routes.keys()].sort();

  it('nodeSelectors: only zone=y nodes announce; the others say why', () => {
    const cfg = config([pool, r1, bgpAdv('y-only', { nodeSelectors: [{ matchLabels: { zone: 'y' } }] })]);
    expect(routes(cfg, 'b')).toEqual(['198.51.100.7/32']);
    expect(routes(cfg, 'a')).toEqual([]);
    const view = desiredRoutes({ config: cfg, services: [svc('s', '198.51.100.7')], node: NODES.get('a') as NodeFacts, endpoints: () => ready }).view;
    expect(view[0]).toMatchObject({ reason: 'nodeNotEligible', detail: 'no BGPAdvertisement of pool "p" selects this node and this Service' });
  });

  it('peers: the /32 goes to r1 only, the /24 aggregate to every peer', () => {
    const cfg = config([pool, r1, r2, bgpAdv('host', { peers: ['r1'] }), bgpAdv('aggregate', { aggregationLength: 24 })]);
    const [p1, p2] = cfg.peers;
    expect([p1.name, p2.name]).toEqual(['r1', 'r2']);
    expect(routes(cfg, 'a', p1)).toEqual(['198.51.100.0/24', '198.51.100.7/32']);
    expect(routes(cfg, 'a', p2)).toEqual(['198.51.100.0/24']);
  });

  it('a pool with both kinds of advertisement is announced over layer 2 and BGP', () => {
    const cfg = config([pool, r1, bgpAdv('bgp'), l2Adv('l2')]);
    expect(routes(cfg, 'c')).toEqual(['198.51.100.7/32']);
    expect(layer2(cfg, [svc('s', '198.51.100.7')], 'c').addresses.get('198.51.100.7')?.owner).toBeDefined();
  });
});
