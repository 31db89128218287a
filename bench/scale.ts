// `npm run bench:scale [-- --services N --nodes M]` (issue 18): one real speaker and the controller
// against a real API server, M Node objects (default 100) whose speaker Leases this bench keeps
// fresh (the simulated peers send no heartbeats; the real speaker runs Leases-only), N
// LoadBalancer Services (default 10,000) with a ready EndpointSlice each.
// Prints the controller's time to serve all and its ratio to a bare status-patch loop, the
// speaker's election passes (full resync, one-Service events, from its
// ironlb_speaker_election_pass_seconds summary), its event-loop lag p99, and both RSS figures.
// Both processes run with their manifests' node flags (bench/manifest-flags.ts), as shipped.
// The speaker announces on layer 2 through no interface (--interfaces names none that exists),
// so it never answers ARP on this host and needs no network namespace.
import * as os from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { destroyCluster, startCluster } from '../test/harness/kube-cluster';
import { startIronlb, waitForLog, type IronlbProcess } from '../test/harness/processes';
import { ServiceKit } from '../test/harness/services';
import { loadKubeConfig } from '../src/k8s/client';
import { microTime } from '../src/k8s/lease';
import { SPEAKER_LABELS, SPEAKER_LEASE_PREFIX } from '../src/speaker/membership/lease-membership';
import { bareStatusLoop, peakRssMiB, pool, rssMiB, watchServed } from './api-bench';
import { SPEAKER_ENV, SPEAKER_NODE_FLAGS, controllerNodeFlags } from './manifest-flags';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const N = flag('services', 10_000);
const NODES = flag('nodes', 100);
const CONCURRENCY = 32; // the controller's default write concurrency
const NS = 'ironlb-system';
const SELF = 'node-000';
/** Full resyncs forced after everything is served (a Node label change re-elects every Service). */
const RESYNCS = 5;
/** One-Service events measured after that: an EndpointSlice gains a ready endpoint, one at a time. */
const EVENTS = 300;

const nodeName = (i: number): string => `node-${String(i).padStart(3, '0')}`;
// 198.18.0.0/15 (benchmarking, RFC 2544): room for 131,072 Services; never put on an interface here.
const ipFor = (i: number): string => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The simulated speakers' Leases, renewed every 2 s (the speakers' default) until stopped. */
async function simulatedPeers(kc: k8s.KubeConfig, nodes: string[]): Promise<() => void> {
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  const body = (node: string, resourceVersion?: string): k8s.V1Lease => ({
    metadata: { name: `${SPEAKER_LEASE_PREFIX}${node}`, namespace: NS, labels: { ...SPEAKER_LABELS, 'ironlb.io/node': node }, resourceVersion },
    spec: { holderIdentity: node, leaseDurationSeconds: 6, renewTime: microTime() },
  });
  const versions = new Map<string, string | undefined>();
  await pool(nodes, 16, async (n) => versions.set(n, (await api.createNamespacedLease({ namespace: NS, body: body(n) })).metadata?.resourceVersion));
  let stopped = false;
  const renew = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      await pool(nodes, 8, async (n) => {
        const written = await api.replaceNamespacedLease({ name: `${SPEAKER_LEASE_PREFIX}${n}`, namespace: NS, body: body(n, versions.get(n)) }).catch(() => undefined);
        versions.set(n, written?.metadata?.resourceVersion);
      });
      await sleep(Math.max(0, 2000 - (Date.now() - started)));
    }
  };
  void renew();
  return () => {
    stopped = true;
  };
}

/** Samples of one Prometheus metric line, e.g. `name{scope="all",quantile="0.99"} 0.12`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return NaN;
}

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

async function main(): Promise<void> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-scale-'));
  const cluster = await startCluster({ dir, log: (s) => process.stderr.write(`[cluster] ${s}\n`) });
  const procs: IronlbProcess[] = [];
  let stopPeers = (): void => undefined;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void Promise.all(procs.map((p) => p.kill('SIGKILL'))).finally(() => void destroyCluster(dir).finally(() => process.exit(130))));
  }
  const step = (s: string): boolean => process.stderr.write(`[scale] ${new Date().toISOString().slice(11, 19)} ${s}\n`);
  try {
    const kc = loadKubeConfig(cluster.kubeconfig);
    const kit = new ServiceKit(kc);
    const core = kit.core;
    // This server (1.20) serves EndpointSlices as discovery.k8s.io/v1beta1: node in topology.
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const names = Array.from({ length: N }, (_, i) => `svc-${i}`);
    const nodes = Array.from({ length: NODES }, (_, i) => nodeName(i));
    await kit.ensureNamespace(NS);
    await kit.applyConfig(NS, 'config', 'address-pools:\n- name: bench\n  protocol: layer2\n  addresses:\n  - 198.18.0.0/15\n');
    step(`${NODES} Nodes and ${NODES - 1} simulated speaker Leases`);
    await pool(nodes, 16, (n) => core.createNode({ body: { metadata: { name: n, labels: { 'kubernetes.io/hostname': n } } } }));
    stopPeers = await simulatedPeers(kc, nodes.filter((n) => n !== SELF));

    step(`baseline: bare status-patch loop over ${N} Services`);
    const { ms: bareMs } = await bareStatusLoop(kit, kc, names, ipFor, CONCURRENCY);
    step('all seen');

    step(`${N} pending Services with a ready EndpointSlice each`);
    await kit.ensureNamespace('bench');
    type Slice = k8s.KubernetesObject & { addressType: string; endpoints: unknown[]; ports: unknown[] };
    const slice = (name: string, i: number, extra: string[] = []): Slice => ({
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-x`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: [nodes[i % NODES], nodes[(i * 7 + 3) % NODES], ...extra].map((n, k) => ({ addresses: [`10.244.${k}.${(i % 250) + 1}`], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': n } })),
      ports: [{ port: 80, protocol: 'TCP' }],
    });
    await pool(
      names.map((n, i) => [n, i] as const),
      16,
      async ([name, i]) => {
        await kit.createLB('bench', name, i % 4 === 0 ? { externalTrafficPolicy: 'Local' } : {});
        await objects.create(slice(name, i));
      },
    );

    step('speaker (Leases only, no interface) and controller');
    const port = await freePort();
    const speaker = startIronlb(
      ['speaker', '--kubeconfig', cluster.kubeconfig, '--node-name', SELF, '--node-address', '127.0.0.1', '--namespace', NS, '--metrics-addr', `127.0.0.1:${port}`, '--heartbeat=false', '--interfaces', 'ironlb-bench-none'],
      // The node flags and environment the speaker ships with (manifests/speaker.yaml), as bench:memory runs it.
      { compiled: true, nodeFlags: SPEAKER_NODE_FLAGS, env: SPEAKER_ENV },
    );
    procs.push(speaker);
    await waitForLog(speaker, 'speaker started', 120_000);
    const ctlWatch = await watchServed(kc, core, 'bench', N);
    const ctl = startIronlb(['controller', '--kubeconfig', cluster.kubeconfig, '--metrics-addr', '127.0.0.1:0', '--leader-elect=false'], { compiled: true, nodeFlags: controllerNodeFlags() });
    procs.push(ctl);
    let syncedAt = 0;
    while (!syncedAt) {
      if (ctl.output().includes('caches synced')) syncedAt = performance.now();
      else await sleep(5);
    }
    const ctlMs = (await ctlWatch.allServed) - syncedAt;
    ctlWatch.stop();
    const ctlRss = rssMiB(ctl.pid);
    const ctlPeak = peakRssMiB(ctl.pid);
    step(`served in ${(ctlMs / 1000).toFixed(2)} s; ${RESYNCS} full resyncs (a Node label change each)`);
    await sleep(3000);
    for (let k = 0; k < RESYNCS; k++) {
      await core.patchNode({ name: nodes[NODES - 1], body: { metadata: { labels: { 'bench.ironlb.io/round': String(k) } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await sleep(1500);
    }
    step(`${EVENTS} one-Service events (an EndpointSlice gains a ready endpoint)`);
    for (let k = 0; k < EVENTS; k++) {
      const i = (k * 7919) % N;
      await objects.replace(slice(names[i], i, [nodes[(k * 13) % NODES]]));
      await sleep(20);
    }
    await sleep(2000);
    const text = await metrics(port);
    const spRss = rssMiB(speaker.pid);
    const spPeak = peakRssMiB(speaker.pid);
    const q = (scope: string, quantile: string): number => sample(text, 'ironlb_speaker_election_pass_seconds', { scope, quantile }) * 1000;
    const lagP99 = sample(text, 'ironlb_speaker_nodejs_eventloop_lag_p99_seconds') * 1000;
    const passes = (scope: string): number => sample(text, 'ironlb_speaker_election_pass_seconds_count', { scope });
    const resyncMs = q('all', '1');
    // One-Service passes ('service'): the cost of one change. Passes that coalesced several touched
    // Services ('services', mostly the controller's burst of status writes) are printed apart.
    const eventP99 = q('service', '0.99');
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));

    const rate = (ms: number): string => ((N / ms) * 1000).toFixed(0);
    process.stdout.write(
      [
        `bench:scale  N=${N} Services, ${NODES} Nodes (1 real speaker, ${NODES - 1} simulated by Leases), kube-apiserver ${cluster.server}`,
        `  bare status-patch loop         ${(bareMs / 1000).toFixed(2)} s   ${rate(bareMs)} Services/s`,
        `  controller until all served    ${(ctlMs / 1000).toFixed(2)} s   ${rate(ctlMs)} Services/s`,
        `  ratio (controller / bare rate) ${(bareMs / ctlMs).toFixed(2)}x   (target >= 0.9x)`,
        `  speaker full resync            p50 ${q('all', '0.5').toFixed(1)} ms, max ${resyncMs.toFixed(1)} ms over ${passes('all')} passes, start-up included (target < 1000)`,
        `  speaker per-event pass         p50 ${q('service', '0.5').toFixed(2)} ms, p99 ${eventP99.toFixed(2)} ms, max ${q('service', '1').toFixed(2)} ms over ${passes('service')} one-Service passes (target < 5)`,
        `  speaker coalesced passes       p50 ${q('services', '0.5').toFixed(2)} ms, p99 ${q('services', '0.99').toFixed(2)} ms over ${passes('services')} passes of several Services each`,
        `  speaker event-loop lag p99     ${lagP99.toFixed(1)} ms`,
        `  RSS now / peak                 speaker ${spRss.toFixed(0)} / ${spPeak.toFixed(0)} MiB, controller ${ctlRss.toFixed(0)} / ${ctlPeak.toFixed(0)} MiB`,
        `speaker_rss_mib=${spRss.toFixed(0)} controller_rss_mib=${ctlRss.toFixed(0)} resync_ms=${resyncMs.toFixed(1)} event_p99_ms=${eventP99.toFixed(2)}`,
        '',
      ].join('\n'),
    );
  } finally {
    stopPeers();
    await Promise.all(procs.map((p) => p.kill('SIGKILL').catch(() => undefined)));
    await destroyCluster(dir);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:scale failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
