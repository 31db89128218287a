// What a speaker does to MetalLB's per-Service status objects (ServiceL2Status/ServiceBGPStatus):
// hand-written cases of MetalLB's behaviour (reference §"ServiceL2Status": the announcing speaker
// writes one, non-announcers delete their own copy) plus ironlb's cleanup of a dead node's copy.
import { bgpStatusWants, planStatusObjects, type StatusHave, type StatusWant } from '../../../src/speaker/status-objects';

const labels = (node: string, ns: string, name: string) => ({ 'metallb.io/node': node, 'metallb.io/service-name': name, 'metallb.io/service-namespace': ns });
const want = (node: string, ns: string, name: string, interfaces: string[]): StatusWant => ({
  key: `${ns}/${name}`,
  labels: labels(node, ns, name),
  status: { node, serviceName: name, serviceNamespace: ns, interfaces: interfaces.map((n) => ({ name: n })) },
});
const have = (name: string, node: string, ns: string, svc: string, interfaces: string[]): StatusHave => ({ name, labels: labels(node, ns, svc), status: want(node, ns, svc, interfaces).status });

describe('planStatusObjects', () => {
  it('creates what is missing, updates what differs, leaves what matches', () => {
    const plan = planStatusObjects(
      [want('a', 'default', 'web', ['eth0']), want('a', 'default', 'db', ['eth1']), want('a', 'default', 'new', ['eth0'])],
      [have('l2-1', 'a', 'default', 'web', ['eth0']), have('l2-2', 'a', 'default', 'db', ['eth0'])],
      'a',
      new Set(['a']),
    );
    expect(plan).toEqual({
      create: [want('a', 'default', 'new', ['eth0'])],
      update: [{ name: 'l2-2', status: { node: 'a', serviceName: 'db', serviceNamespace: 'default', interfaces: [{ name: 'eth1' }] } }],
      delete: [],
    });
  });

  it('deletes its own objects for Services it no longer announces, and duplicates', () => {
    const plan = planStatusObjects([want('a', 'default', 'web', ['eth0'])], [have('l2-1', 'a', 'default', 'web', ['eth0']), have('l2-2', 'a', 'default', 'web', ['eth0']), have('l2-3', 'a', 'default', 'gone', ['eth0'])], 'a', new Set(['a']));
    expect(plan).toEqual({ create: [], update: [], delete: ['l2-2', 'l2-3'] });
  });

  it("another node's copy: deleted when that node is dead and this one took the Service over; a live node's is its own business", () => {
    const objects = [have('l2-b', 'b', 'default', 'web', ['eth0']), have('l2-c', 'c', 'default', 'web', ['eth0']), have('l2-d', 'd', 'default', 'other', ['eth0'])];
    const plan = planStatusObjects([want('a', 'default', 'web', ['eth0'])], objects, 'a', new Set(['a', 'c']));
    expect(plan).toEqual({ create: [want('a', 'default', 'web', ['eth0'])], update: [], delete: ['l2-b'] });
  });

  it('ServiceBGPStatus: peers sorted, MetalLB labels', () => {
    expect(bgpStatusWants([{ service: 'ns/web', peers: ['r2', 'r1'] }], 'a')).toEqual([
      { key: 'ns/web', labels: labels('a', 'ns', 'web'), status: { node: 'a', serviceName: 'web', serviceNamespace: 'ns', peers: ['r1', 'r2'] } },
    ]);
  });
});
