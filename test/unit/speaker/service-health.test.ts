// Per-Service data-path checks (issue 16.3): which healthCheckNodePorts a node checks, how the
// answers are damped, and the prober's rounds over a fake check. The candidate order is an input
// of the plan; the tests give it as a hand-written list, not the election's hash.
import type * as k8s from '@kubernetes/client-node';
import type { AddressPool } from '../../../src/config/types';
import { planServiceChecks, ServiceHealthTable, type ServiceCheckCandidate, type ServiceCheckPlanInput } from '../../../src/speaker/datapath/service-health';
import { ServiceHealthProber } from '../../../src/speaker/datapath/service-probe';
import { nullLogger } from '../../../src/util/log';

const GATED = { name: 'gated', protocol: 'layer2', dataPathCheck: 'kube-proxy' } as unknown as AddressPool;
const PLAIN = { name: 'plain', protocol: 'layer2' } as unknown as AddressPool;
const ADDRESSES: Record<string, string> = { node1: '198.51.100.11', node2: '198.51.100.12', node3: '198.51.100.13', node6: '2001:db8::16' };

function svc(name: string, opts: { local?: boolean; port?: number; pool?: AddressPool } = {}): ServiceCheckCandidate {
  const spec: k8s.V1ServiceSpec = { type: 'LoadBalancer', externalTrafficPolicy: opts.local === false ? 'Cluster' : 'Local' };
  if (opts.port !== 0) spec.healthCheckNodePort = opts.port ?? 30100;
  return { service: `ns/${name}`, object: { metadata: { name, namespace: 'ns' }, spec }, ips: ['198.51.100.90'], pool: opts.pool ?? GATED };
}

function plan(self: string, elections: ServiceCheckCandidate[], over: Partial<ServiceCheckPlanInput> = {}): string[] {
  return planServiceChecks({
    self,
    elections,
    endpointNodes: () => new Set(['node1', 'node2', 'node3']),
    nodeAddress: (n) => ADDRESSES[n],
    // The candidate order, by hand: node3, node1, node2.
    order: (candidates) => ['node3', 'node1', 'node2', 'node6'].filter((n) => candidates.includes(n)),
    allPools: false,
    ...over,
  }).map((t) => `${t.service}@${t.node} ${t.url}`);
}

describe('planServiceChecks', () => {
  it('a node checks itself and the endpoint nodes ranked before it', () => {
    expect(plan('node3', [svc('a')])).toEqual(['ns/a@node3 http://198.51.100.13:30100/']);
    expect(plan('node1', [svc('a')])).toEqual(['ns/a@node3 http://198.51.100.13:30100/', 'ns/a@node1 http://198.51.100.11:30100/']);
    expect(plan('node2', [svc('a', { port: 31999 })])).toEqual([
      'ns/a@node3 http://198.51.100.13:31999/',
      'ns/a@node1 http://198.51.100.11:31999/',
      'ns/a@node2 http://198.51.100.12:31999/',
    ]);
  });

  it('a node without a local endpoint checks nothing (it cannot be elected for a Local Service)', () => {
    expect(plan('node4', [svc('a')])).toEqual([]);
  });

  it('only Local Services with a healthCheckNodePort, in pools with datapath-check (every pool under the node-wide flag)', () => {
    expect(plan('node3', [svc('cluster', { local: false }), svc('noport', { port: 0 }), svc('plain', { pool: PLAIN })])).toEqual([]);
    expect(plan('node3', [svc('plain', { pool: PLAIN })], { allPools: true })).toEqual(['ns/plain@node3 http://198.51.100.13:30100/']);
  });

  it('skips nodes without an InternalIP and brackets IPv6 ones', () => {
    const endpointNodes = (): ReadonlySet<string> => new Set(['node6', 'node5', 'node2']);
    expect(plan('node2', [svc('a')], { endpointNodes, order: () => ['node6', 'node5', 'node2'] })).toEqual(['ns/a@node6 http://[2001:db8::16]:30100/', 'ns/a@node2 http://198.51.100.12:30100/']);
  });
});

describe('ServiceHealthTable', () => {
  const gate = { failuresToDown: 2, holdMs: 1000, maxHoldMs: 8000, flapWindowMs: 60_000 };

  it('two failures in a row mark the node failing for that Service only; it passes again after the hold', () => {
    const t = new ServiceHealthTable(gate);
    expect(t.observe('ns/a', 'node1', false, 0)).toBe(false);
    expect(t.failing('ns/a').size).toBe(0);
    expect(t.observe('ns/a', 'node1', false, 250)).toBe(true);
    expect([...t.failing('ns/a')]).toEqual(['node1']);
    expect(t.failing('ns/b').size).toBe(0);
    expect(t.observe('ns/a', 'node1', true, 500)).toBe(false);
    expect(t.observe('ns/a', 'node1', true, 1400)).toBe(false);
    expect(t.observe('ns/a', 'node1', true, 1500)).toBe(true);
    expect(t.failing('ns/a').size).toBe(0);
  });

  it('retain forgets pairs no longer checked and names the Services that stop failing', () => {
    const t = new ServiceHealthTable(gate);
    for (const now of [0, 1]) {
      t.observe('ns/a', 'node1', false, now);
      t.observe('ns/b', 'node2', false, now);
    }
    expect(t.retain([{ service: 'ns/b', node: 'node2', url: '' }])).toEqual(['ns/a']);
    expect(t.failing('ns/a').size).toBe(0);
    expect([...t.failing('ns/b')]).toEqual(['node2']);
    expect(t.retain([])).toEqual(['ns/b']);
    expect(t.allFailing().size).toBe(0);
  });
});

describe('ServiceHealthProber', () => {
  it('reports a Service when a node starts and stops failing, and forgets everything on stop', async () => {
    const down = new Set<string>();
    const changes: string[][] = [];
    let now = 0;
    const prober = new ServiceHealthProber({
      intervalMs: 250,
      timeoutMs: 200,
      gate: { failuresToDown: 2, holdMs: 500, maxHoldMs: 4000, flapWindowMs: 60_000 },
      plan: () => [
        { service: 'ns/a', node: 'node3', url: 'http://198.51.100.13:30100/' },
        { service: 'ns/a', node: 'node1', url: 'http://198.51.100.11:30100/' },
      ],
      check: async (url) => (down.has(url) ? 'HTTP 503' : undefined),
      onChange: (s) => changes.push([...s]),
      log: nullLogger,
      now: () => now,
    });
    await prober.round();
    expect(changes).toEqual([]);
    down.add('http://198.51.100.13:30100/');
    for (let i = 0; i < 2; i++) {
      now += 250;
      await prober.round();
    }
    expect(changes).toEqual([['ns/a']]);
    expect([...prober.table.failing('ns/a')]).toEqual(['node3']);
    down.clear();
    for (let i = 0; i < 4; i++) {
      now += 250;
      await prober.round();
    }
    expect(changes).toEqual([['ns/a'], ['ns/a']]);
    down.add('http://198.51.100.11:30100/');
    for (let i = 0; i < 2; i++) {
      now += 250;
      await prober.round();
    }
    expect([...prober.table.failing('ns/a')]).toEqual(['node1']);
    prober.stop();
    expect(prober.table.failing('ns/a').size).toBe(0);
    expect(changes.at(-1)).toEqual(['ns/a']);
  });
});
