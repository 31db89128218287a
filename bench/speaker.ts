// Speaker decision cost (npm run bench:speaker), in process: the layer-2 elections of 10,000
// LoadBalancer Services over 100 nodes, as the speaker runs them on a watch event. Compared in
// the same run: recomputing every election from scratch (desiredOwnership, what every event cost
// before issue 18) against the OwnershipTracker's full resync and its one-Service update.
// Issue 18 targets: full resync < 1 s, one Service change < 5 ms. Flags: --services N --nodes N.
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../src/config/parse';
import type { EndpointFacts, NodeFacts } from '../src/speaker/election/election';
import { desiredOwnership } from '../src/speaker/layer2/desired';
import { OwnershipTracker, type TrackerInput } from '../src/speaker/layer2/ownership-tracker';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const SERVICES = flag('services', 10_000);
const NODES = flag('nodes', 100);
const ONE_CHANGES = 2_000;
const RESYNCS = 5;

const parsed = parseConfigText('address-pools:\n- name: lan\n  protocol: layer2\n  addresses:\n  - 10.200.0.0/16\n');
if (!parsed.ok) throw new Error('bad bench config');
const config = parsed.config;

const nodeNames = Array.from({ length: NODES }, (_, i) => `node-${String(i).padStart(3, '0')}`);
const nodes = new Map<string, NodeFacts>(nodeNames.map((n) => [n, { name: n, labels: { 'kubernetes.io/hostname': n }, networkUnavailable: false }]));
const ipOf = (i: number): string => `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const services = new Map<string, k8s.V1Service>();
const endpoints = new Map<string, EndpointFacts>();
for (let i = 0; i < SERVICES; i++) {
  const name = `svc-${i}`;
  const local = i % 4 === 0; // a quarter with externalTrafficPolicy: Local
  services.set(`bench/${name}`, {
    metadata: { name, namespace: 'bench' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: local ? 'Local' : 'Cluster', ports: [{ port: 80, protocol: 'TCP' }] },
    status: { loadBalancer: { ingress: [{ ip: ipOf(i) }] } },
  });
  endpoints.set(`bench/${name}`, { anyReady: true, readyNodes: new Set([nodeNames[i % NODES], nodeNames[(i * 7 + 3) % NODES]]) });
}
const input: TrackerInput = {
  config,
  services: () => [...services.values()],
  service: (key) => services.get(key),
  endpoints: (key) => endpoints.get(key) ?? { anyReady: false, readyNodes: new Set() },
  nodes,
  members: { alive: new Set(nodeNames), layer2Unready: new Set() },
  self: nodeNames[0],
};

/** CPU ms of the process over every ms() call (the machine is shared: wall time includes waiting). */
let cpuMs = 0;
function ms(run: () => void): number {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  run();
  const used = process.cpuUsage(cpu);
  cpuMs = (used.user + used.system) / 1000;
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

function main(): void {
  const scratch = () => desiredOwnership({ ...input, services: input.services() });
  scratch(); // warm-up
  const scratchMs = Math.min(...Array.from({ length: 2 }, () => ms(scratch)));
  const scratchCpu = cpuMs;

  const tracker = new OwnershipTracker();
  const coldMs = ms(() => tracker.update(input, 'all'));
  const coldCpu = cpuMs;
  const resyncCpu: number[] = [];
  const resync = Array.from({ length: RESYNCS }, () => {
    const wall = ms(() => tracker.update(input, 'all'));
    resyncCpu.push(cpuMs);
    return wall;
  });
  // One Service's endpoints change: a node gains an endpoint, then the event re-elects it alone.
  const one: number[] = [];
  for (let k = 0; k < ONE_CHANGES; k++) {
    const key = `bench/svc-${(k * 7919) % SERVICES}`;
    const facts = endpoints.get(key);
    endpoints.set(key, { anyReady: true, readyNodes: new Set([...(facts?.readyNodes ?? []), nodeNames[k % NODES]]) });
    one.push(ms(() => tracker.update(input, new Set([key]))));
  }
  const owned = tracker.owned().size;
  const check = scratch();
  if (check.owned.size !== owned) throw new Error(`tracker owns ${owned} addresses, from scratch ${check.owned.size}`);

  console.log(`ironlb speaker elections, node ${process.version}: ${SERVICES.toLocaleString('en-US')} layer-2 Services x ${NODES} nodes, self owns ${owned}`);
  console.log(`from scratch (desiredOwnership, every event before issue 18): ${scratchMs.toFixed(1)} ms per event (cpu ${scratchCpu.toFixed(1)})`);
  console.log(`tracker full resync: first (hashes every order) ${coldMs.toFixed(1)} ms (cpu ${coldCpu.toFixed(1)}), warm best ${Math.min(...resync).toFixed(1)} ms, worst ${Math.max(...resync).toFixed(1)} ms (cpu ${Math.min(...resyncCpu).toFixed(1)}-${Math.max(...resyncCpu).toFixed(1)}) (target < 1000)`);
  console.log(`tracker one-Service change over ${ONE_CHANGES}: p50 ${pct(one, 50).toFixed(3)} ms, p99 ${pct(one, 99).toFixed(3)} ms, max ${Math.max(...one).toFixed(3)} ms (target < 5)`);
  console.log(`ratio from-scratch / one-Service p50: ${(scratchMs / pct(one, 50)).toFixed(0)}x`);
  console.log(`resync_ms=${Math.max(...resync).toFixed(1)} cold_resync_ms=${coldMs.toFixed(1)} event_p99_ms=${pct(one, 99).toFixed(3)} scratch_ms=${scratchMs.toFixed(1)}`);
}

main();
