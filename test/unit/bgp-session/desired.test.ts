import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import { desiredRoutes } from '../../../src/speaker/bgp/bgp-speaker';

const CONFIG = `peers:
- peer-address: 198.51.100.254
  peer-asn: 64512
  my-asn: 64600
address-pools:
- name: bgp
  protocol: bgp
  addresses: [203.0.113.0/24]
  bgp-advertisements:
  - communities: ["64512:1", "large:1:2:3"]
    localpref: 200
  - aggregation-length: 24
- name: l2
  protocol: layer2
  addresses: [192.0.2.0/24]
`;

function svc(name: string, ip: string, local = false): k8s.V1Service {
  return {
    metadata: { name, namespace: 'default' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: local ? 'Local' : 'Cluster' },
    status: { loadBalancer: { ingress: [{ ip }] } },
  };
}

describe('desiredRoutes', () => {
  const parsed = parseConfigText(CONFIG);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const config = parsed.config;
  const node = { name: 'node1', labels: {}, networkUnavailable: false };
  const ready = { anyReady: true, readyNodes: new Set(['node2']) };

  it('announces each advertisement of a bgp pool; ignores layer2 pools', () => {
    const { routes, view } = desiredRoutes({ config, services: [svc('a', '203.0.113.7'), svc('b', '192.0.2.7')], node, endpoints: () => ready });
    expect([...routes.keys()].sort()).toEqual(['203.0.113.0/24', '203.0.113.7/32']);
    expect(routes.get('203.0.113.7/32')).toMatchObject({ localPref: 200, communities: [64512 * 65536 + 1], largeCommunities: [{ global: 1, local1: 2, local2: 3 }] });
    expect(view.map((v) => v.service)).toEqual(['default/a']);
  });

  it('Local policy needs a ready endpoint on this node; Cluster any', () => {
    expect(desiredRoutes({ config, services: [svc('a', '203.0.113.7', true)], node, endpoints: () => ready }).view[0].reason).toBe('noLocalEndpoint');
    expect(desiredRoutes({ config, services: [svc('a', '203.0.113.7')], node, endpoints: () => ({ anyReady: false, readyNodes: new Set() }) }).view[0].reason).toBe('noReadyEndpoint');
  });

  it('excluded or NetworkUnavailable nodes announce nothing', () => {
    const excluded = { ...node, labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } };
    expect(desiredRoutes({ config, services: [svc('a', '203.0.113.7')], node: excluded, endpoints: () => ready }).routes.size).toBe(0);
    expect(desiredRoutes({ config, services: [svc('a', '203.0.113.7')], node: { ...node, networkUnavailable: true }, endpoints: () => ready }).routes.size).toBe(0);
  });
});
