// Data-path-gated ownership per pool (issue 16.3, pool key `datapath-check`) through
// desiredOwnership, the function every speaker and the CLI run. Expected owners written by hand
// from the candidate orders, computed once with coreutils (see election.test.ts):
//   198.51.100.90   node3 5bfa2e43… < node4 a658d8fc… < node2 ca7a4721… < node1 cdaa8cce…
//   198.51.100.100  node3 3915aa97… < node2 3b298c7b… < node1 4ba21f6b… < node4 9a4e04c9…
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import type { NodeFacts } from '../../../src/speaker/election/election';
import { desiredOwnership, type OwnershipInput } from '../../../src/speaker/layer2/desired';

const CONFIG = `address-pools:
- name: plain
  protocol: layer2
  addresses:
  - 198.51.100.90-198.51.100.99
- name: gated
  protocol: layer2
  datapath-check: kube-proxy
  addresses:
  - 198.51.100.100-198.51.100.109
`;

const ALL = ['node1', 'node2', 'node3', 'node4'];

function service(name: string, ip: string, local = false): k8s.V1Service {
  return {
    metadata: { name, namespace: 'ns' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: local ? 'Local' : 'Cluster' },
    status: { loadBalancer: { ingress: [{ ip }] } },
  };
}

function input(members: { dataPathDown?: string[]; layer2Unready?: string[] }, readyOn: Record<string, string[]> = {}, serviceFailing: Record<string, string[]> = {}): OwnershipInput {
  const parsed = parseConfigText(CONFIG);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return {
    config: parsed.config,
    services: [service('p', '198.51.100.90'), service('g', '198.51.100.100'), service('gl', '198.51.100.100', true)],
    endpoints: (key) => ({ anyReady: true, readyNodes: new Set(readyOn[key] ?? ALL) }),
    nodes: new Map<string, NodeFacts>(ALL.map((n) => [n, { name: n, labels: {}, networkUnavailable: false }])),
    members: { alive: new Set(ALL), layer2Unready: new Set(members.layer2Unready ?? []), ...(members.dataPathDown ? { dataPathDown: new Set(members.dataPathDown) } : {}) },
    self: 'node1',
    serviceHealthFailing: (key) => new Set(serviceFailing[key] ?? []),
  };
}

function owners(i: OwnershipInput): Record<string, string | undefined> {
  return Object.fromEntries(desiredOwnership(i).services.map((e) => [e.object.metadata?.name ?? '', e.result.announcer]));
}

describe('per-pool data-path gating (datapath-check)', () => {
  it('with every data path up, both pools elect by the hash order alone', () => {
    expect(owners(input({}))).toEqual({ p: 'node3', g: 'node3', gl: 'node3' });
    expect(owners(input({ dataPathDown: [] }))).toEqual({ p: 'node3', g: 'node3', gl: 'node3' });
  });

  it('a node whose data path is down is passed over in the gated pool only', () => {
    expect(owners(input({ dataPathDown: ['node3'] }))).toEqual({ p: 'node3', g: 'node2', gl: 'node2' });
    expect(owners(input({ dataPathDown: ['node3', 'node2'] }))).toEqual({ p: 'node3', g: 'node1', gl: 'node1' });
  });

  it('NO_LAYER2 still applies to every pool, gated or not', () => {
    expect(owners(input({ layer2Unready: ['node3'], dataPathDown: ['node2'] }))).toEqual({ p: 'node4', g: 'node1', gl: 'node1' });
  });

  it('when no candidate has a healthy data path, one is still elected and marked as the fallback', () => {
    const i = input({ dataPathDown: ALL }, { 'ns/gl': ['node2', 'node4'] });
    const byName = new Map(desiredOwnership(i).services.map((e) => [e.object.metadata?.name, e]));
    expect(byName.get('g')?.result.announcer).toBe('node3');
    expect(byName.get('g')?.fallback).toBe(true);
    // Local: the candidates are the nodes with a ready endpoint, node2 before node4.
    expect(byName.get('gl')?.result.announcer).toBe('node2');
    expect(byName.get('gl')?.fallback).toBe(true);
    expect(byName.get('p')?.fallback).toBe(false);
  });

  it('a Local Service of the gated pool with endpoints only on down nodes and one healthy one goes to the healthy one', () => {
    expect(owners(input({ dataPathDown: ['node2'] }, { 'ns/gl': ['node2', 'node4'] }))).toMatchObject({ gl: 'node4' });
  });
});

describe("per-Service gating: a Local Service's healthCheckNodePort failing on a node", () => {
  it('passes that node over for that Service only', () => {
    expect(owners(input({}, {}, { 'ns/gl': ['node3'] }))).toEqual({ p: 'node3', g: 'node3', gl: 'node2' });
    expect(owners(input({}, {}, { 'ns/gl': ['node3', 'node2'] }))).toEqual({ p: 'node3', g: 'node3', gl: 'node1' });
  });

  it('adds to the node-wide DATAPATH_DOWN and NO_LAYER2 standings', () => {
    expect(owners(input({ dataPathDown: ['node3'] }, {}, { 'ns/gl': ['node2'] }))).toMatchObject({ g: 'node2', gl: 'node1' });
    expect(owners(input({ layer2Unready: ['node1'] }, {}, { 'ns/gl': ['node3', 'node2'] }))).toMatchObject({ gl: 'node4' });
  });

  it('with every endpoint node failing, one is still elected and marked as the fallback', () => {
    const i = input({}, { 'ns/gl': ['node1', 'node4'] }, { 'ns/gl': ['node1', 'node4'] });
    const gl = desiredOwnership(i).services.find((e) => e.object.metadata?.name === 'gl');
    expect(gl?.result.announcer).toBe('node1');
    expect(gl?.fallback).toBe(true);
  });
});
