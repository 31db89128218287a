// Pure parts of the operator commands and the lab script: the replayed decisions on a hand-made
// snapshot (including what the 1.20 test server cannot store, spec.loadBalancerClass) and formatting.
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import { decideAddress, expandShortFlags, table, toJson, type LiveState } from '../../../src/cli/live-state';
import { compareIPs } from '../../../src/cli/status-command';
import { explain, formatExplanation } from '../../../src/cli/explain-command';
import { labConfig, withFlag } from '../../../scripts/lib/lab-config';

function state(services: k8s.V1Service[], lbClass?: string): LiveState {
  const parsed = parseConfigText('address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 192.0.2.10-192.0.2.11\n');
  if (!parsed.ok) throw new Error('bad test config');
  return {
    configSource: 'configmap',
    configWhere: 'ConfigMap ironlb-system/config',
    configFound: true,
    config: parsed.config,
    configErrors: [],
    lbClass,
    services,
    nodes: new Map([['n1', { name: 'n1', labels: {}, networkUnavailable: false }]]),
    speakers: [
      {
        node: 'n1',
        durationSeconds: 6,
        alive: true,
        state: 'acting',
        detail: 'alive',
        flags: [],
        view: { starting: false, noLayer2: false, alive: ['n1'], layer2Unready: [], ignoreExcludeLabel: false },
      },
    ],
    endpointSource: 'discovery.k8s.io/v1',
    endpointFacts: () => ({ anyReady: true, readyNodes: new Set(['n1']) }),
    nodeAssigned: new Map(),
    now: Date.now(),
  };
}

function lb(name: string, extra: Partial<k8s.V1ServiceSpec> & { loadBalancerClass?: string } = {}, ips: string[] = []): k8s.V1Service {
  return {
    metadata: { name, namespace: 'ns', creationTimestamp: new Date(0) },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.5', ports: [{ port: 80, protocol: 'TCP' }], ...extra },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  };
}

describe('decideAddress / explain on a snapshot', () => {
  it('reports a Service of another load balancer class as classFiltered, both ways', () => {
    const svc = lb('other', { loadBalancerClass: 'example.com/lb' } as Partial<k8s.V1ServiceSpec>);
    const d = decideAddress(state([svc]), svc);
    expect(d.reason).toBe('classFiltered');
    expect(d.message).toContain('"example.com/lb"');
    const plain = lb('plain');
    expect(decideAddress(state([plain], 'example.com/lb'), plain).reason).toBe('classFiltered');
  });

  it('replays status oldest first: the older Service keeps a contested address', () => {
    const old = lb('old', {}, ['192.0.2.10']);
    const young = { ...lb('young', {}, ['192.0.2.10']), metadata: { name: 'young', namespace: 'ns', creationTimestamp: new Date(1000) } };
    const s = state([young, old]);
    expect(decideAddress(s, old).reason).toBe('assigned');
    const y = decideAddress(s, young);
    expect(y.reason).toBe('wouldMove');
    expect(y.wouldGet).toEqual(['192.0.2.11']);
  });

  it('explains an announced Service in text', () => {
    const svc = lb('web', {}, ['192.0.2.10']);
    const text = formatExplanation(explain(state([svc]), svc));
    expect(text).toContain('address: 192.0.2.10');
    expect(text).toContain('announcement: n1');
    expect(text).toContain('latest nodeAssigned Event: none');
  });
});

describe('formatting helpers', () => {
  it('pads table columns and trims trailing blanks', () => {
    expect(table(['A', 'BB'], [['xxx', 'y'], ['z', '']])).toBe('A     BB\nxxx   y\nz\n');
  });

  it('orders IPv4 before IPv6, numerically', () => {
    expect(['2001:db8::1', '10.0.0.10', '10.0.0.9', '::1'].sort(compareIPs)).toEqual(['10.0.0.9', '10.0.0.10', '::1', '2001:db8::1']);
  });

  it('writes bigints as JSON numbers', () => {
    expect(JSON.parse(toJson({ n: 3n, huge: 2n ** 64n }))).toEqual({ n: 3, huge: '18446744073709551616' });
  });

  it('spells out -o and -h', () => {
    expect(expandShortFlags(['-o', 'json', '-ojson', '-h', 'x'])).toEqual(['--output', 'json', '--output=json', '--help', 'x']);
  });
});

describe('lab helpers', () => {
  it("maps the example's pool into the lab range and keeps its name", () => {
    const c = labConfig('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: ironlb-system\n  name: config\ndata:\n  config: |\n    address-pools:\n    - name: default\n      protocol: layer2\n      addresses:\n      - 192.168.10.90-192.168.10.100\n');
    expect(c).toEqual(expect.objectContaining({ namespace: 'ironlb-system', name: 'config', pool: 'default', originalRanges: ['192.168.10.90-192.168.10.100'], size: 11n }));
    expect(c.text).toContain('198.51.100.90-198.51.100.100');
  });

  it('replaces a flag in either spelling', () => {
    expect(withFlag(['--metrics-addr=:7472', '--log-level=info'], 'metrics-addr', '127.0.0.1:0')).toEqual(['--log-level=info', '--metrics-addr=127.0.0.1:0']);
    expect(withFlag(['--metrics-addr', ':7472', '--x'], 'metrics-addr', 'a')).toEqual(['--x', '--metrics-addr=a']);
  });
});
