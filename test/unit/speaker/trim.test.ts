// The informer caches' field trimming (src/k8s/trim.ts): what each reader uses survives, the rest goes.
import type * as k8s from '@kubernetes/client-node';
import { LAST_APPLIED, trimEndpointSlice, trimEndpoints, trimNode, trimServiceForController, trimServiceForSpeaker, trimToLabels } from '../../../src/k8s/trim';
import { lastStatusWriter } from '../../../src/controller/service-request';
import { factsFromEndpoints, factsFromSlices, type SliceLike } from '../../../src/speaker/endpoints';
import { nodeFacts } from '../../../src/speaker/cluster-state';

function service(): k8s.V1Service {
  return {
    metadata: {
      name: 'web',
      namespace: 'prod',
      uid: 'u1',
      resourceVersion: '42',
      annotations: { 'ironlb.io/address-pool': 'blue', [LAST_APPLIED]: '{"huge":"copy"}' },
      managedFields: [
        { manager: 'kubectl', operation: 'Update', time: new Date(1000), fieldsV1: { 'f:spec': { 'f:ports': {} } } },
        { manager: 'other-lb', operation: 'Update', subresource: 'status', time: new Date(3000), fieldsV1: { 'f:status': { 'f:loadBalancer': { 'f:ingress': {} } } } },
        { manager: 'ironlb-controller', operation: 'Update', time: new Date(2000), fieldsV1: { 'f:status': { 'f:loadBalancer': {} } } },
      ],
    },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }], loadBalancerIP: '192.0.2.1' },
    status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
  };
}

describe('informer cache trimming', () => {
  it('speaker Services: spec, status, names and ironlb annotations stay; managedFields and last-applied go', () => {
    const svc = service();
    trimServiceForSpeaker(svc);
    expect(svc.metadata?.managedFields).toBeUndefined();
    expect(svc.metadata?.annotations).toEqual({ 'ironlb.io/address-pool': 'blue' });
    expect(svc.metadata).toMatchObject({ name: 'web', namespace: 'prod', uid: 'u1', resourceVersion: '42' });
    expect(svc.spec).toEqual(service().spec);
    expect(svc.status).toEqual(service().status);
  });

  it('controller Services: the last status writer is the same before and after', () => {
    const svc = service();
    const before = lastStatusWriter(svc, 'ironlb-controller');
    trimServiceForController(svc);
    expect(before).toBe('other-lb');
    expect(lastStatusWriter(svc, 'ironlb-controller')).toBe(before);
    expect(lastStatusWriter(svc)).toBe(lastStatusWriter(service()));
    expect(JSON.stringify(svc.metadata?.managedFields)).not.toContain('f:loadBalancer');
    expect(svc.metadata?.annotations?.[LAST_APPLIED]).toBeUndefined();
  });

  it('Nodes: the node facts are the same before and after', () => {
    const node: k8s.V1Node = {
      metadata: { name: 'n1', uid: 'u', resourceVersion: '7', labels: { a: 'b' }, annotations: { big: 'x'.repeat(1000) } },
      spec: { podCIDR: '10.0.0.0/24' },
      status: {
        conditions: [
          { type: 'Ready', status: 'True', message: 'kubelet is posting ready status', reason: 'KubeletReady' },
          { type: 'NetworkUnavailable', status: 'True', reason: 'NoRoute' },
        ],
        images: [{ names: ['registry/image:tag'], sizeBytes: 1 }],
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '192.0.2.11' },
          { type: 'ExternalIP', address: '203.0.113.11' },
        ],
      },
    };
    const facts = nodeFacts(node);
    trimNode(node);
    expect(nodeFacts(node)).toEqual(facts);
    expect(node.metadata).toEqual({ name: 'n1', uid: 'u', resourceVersion: '7', labels: { a: 'b' } });
    // The InternalIP stays: the per-Service data-path checks ask kube-proxy there.
    expect(node.status).toEqual({ conditions: [{ type: 'Ready', status: 'True' }, { type: 'NetworkUnavailable', status: 'True' }], addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] });
    const bare: k8s.V1Node = { metadata: { name: 'n2' }, status: { addresses: [{ type: 'Hostname', address: 'n2' }] } };
    trimNode(bare);
    expect(bare.status).toBeUndefined();
  });

  it('EndpointSlices: the endpoint facts are the same before and after', () => {
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      ports: [{ port: 80 }],
      metadata: { name: 's1', namespace: 'prod', uid: 'u', resourceVersion: '3', labels: { 'kubernetes.io/service-name': 'web' }, ownerReferences: [] },
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p1' } },
        { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true }, topology: { 'kubernetes.io/hostname': 'n2', zone: 'z' } },
        { addresses: ['10.0.0.3'], conditions: { ready: false }, nodeName: 'n3' },
        { addresses: ['10.0.0.4'] },
      ],
    } as unknown as k8s.KubernetesObject & SliceLike;
    const facts = factsFromSlices([slice]);
    trimEndpointSlice(slice);
    expect(factsFromSlices([slice])).toEqual(facts);
    expect(Object.keys(slice).sort()).toEqual(['apiVersion', 'endpoints', 'kind', 'metadata']);
    expect(JSON.stringify(slice)).not.toContain('10.0.0');
    expect(slice.metadata?.labels).toEqual({ 'kubernetes.io/service-name': 'web' });
  });

  it('core Endpoints: the endpoint facts are the same before and after', () => {
    const ep: k8s.V1Endpoints = {
      metadata: { name: 'web', namespace: 'prod', resourceVersion: '9' },
      subsets: [
        { addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod' } }, { ip: '10.0.0.5' }], notReadyAddresses: [{ ip: '10.0.0.2', nodeName: 'n2' }], ports: [{ port: 80 }] },
        { notReadyAddresses: [{ ip: '10.0.0.3', nodeName: 'n3' }] },
      ],
    };
    const facts = factsFromEndpoints(ep);
    trimEndpoints(ep);
    expect(factsFromEndpoints(ep)).toEqual(facts);
    expect(JSON.stringify(ep)).not.toContain('10.0.0');
  });

  it('Namespaces for serviceAllocation: name and labels stay, spec and status go', () => {
    const ns: k8s.V1Namespace = {
      metadata: { name: 'team-a', uid: 'n1', resourceVersion: '7', labels: { tier: 'gold' }, annotations: { note: 'x' }, managedFields: [{ manager: 'kubectl' }] },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    trimToLabels(ns);
    expect(ns).toEqual({ metadata: { name: 'team-a', namespace: undefined, uid: 'n1', resourceVersion: '7', labels: { tier: 'gold' } } });
  });
});
