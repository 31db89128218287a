// `npm run bench:memory [-- N]`: the memory footprint of the speaker and the controller as shipped
// (compiled dist/), on a real kube-apiserver, three speakers on a namespace LAN (scripts/lib/l2-lab.ts).
// Measures each process idle (config loaded, no Services), then with N LoadBalancer Services whose
// EndpointSlices have a ready endpoint on every node, once all N are announced. Prints RSS (VmRSS),
// peak RSS (VmHWM), the main isolate's heap and `external` (prom-client's default metrics), and the
// Worker isolates' heap (ironlb_speaker_worker_heap_size_bytes, reported by the workers themselves).
//
// Creates network namespaces; its lab takes the host-wide lab lock (scripts/lib/root-lan-lock.ts).
// The speakers run with the node flags and environment of manifests/speaker.yaml (bench/manifest-flags.ts),
// so that this measures what ships; IRONLB_SPEAKER_FLAGS="..." replaces those flags ("" for none).
// IRONLB_NODE_FLAGS="--max-semi-space-size=1" etc. adds node flags to the controller.
// BENCH_NO_BUILD=1 skips the `tsc` build (dist/ is already current).
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { L2Lab } from '../scripts/lib/l2-lab';
import { startIronlb, waitForLog, type IronlbProcess } from '../scripts/lib/processes';
import { SPEAKER_ENV, SPEAKER_NODE_FLAGS, controllerNodeFlags } from './manifest-flags';

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 1000);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 15_000);
const MiB = 1024 * 1024;
const SPEAKER_FLAGS = process.env.IRONLB_SPEAKER_FLAGS !== undefined ? process.env.IRONLB_SPEAKER_FLAGS.split(' ').filter((f) => f !== '') : SPEAKER_NODE_FLAGS;
/** The benchmarking range (RFC 2544), outside the lab LAN's own prefix: 4,096 addresses. */
const POOL = '198.19.0.0-198.19.15.255';

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

function procStatus(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Prometheus text → metric name (with labels) → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function sumOf(m: Map<string, number>, prefix: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === prefix || k.startsWith(`${prefix}{`)) s += v;
  return s;
}

interface Measured {
  who: string;
  proc: IronlbProcess;
  metricsUrl: string;
  prefix: string;
}

interface Sample {
  who: string;
  rss: number;
  hwm: number;
  anon: number;
  file: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  workers: number;
}

async function sample(m: Measured): Promise<Sample> {
  const metrics = await scrape(m.metricsUrl);
  const { rss, hwm, anon, file } = procStatus(m.proc.pid);
  return {
    who: m.who,
    rss,
    hwm,
    anon,
    file,
    heapUsed: sumOf(metrics, `${m.prefix}nodejs_heap_size_used_bytes`) / MiB,
    heapTotal: sumOf(metrics, `${m.prefix}nodejs_heap_size_total_bytes`) / MiB,
    external: sumOf(metrics, `${m.prefix}nodejs_external_memory_bytes`) / MiB,
    workers: sumOf(metrics, 'ironlb_speaker_worker_heap_size_bytes') / MiB,
  };
}

function table(title: string, rows: Sample[]): string {
  const f = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-').padStart(8);
  return [
    title,
    `  ${'process'.padEnd(12)}${'RSS'.padStart(8)}${'anon'.padStart(8)}${'file'.padStart(8)}${'peak'.padStart(8)}${'heapUsd'.padStart(8)}${'heapTot'.padStart(8)}${'extern'.padStart(8)}${'workers'.padStart(8)}   (MiB; RSS = VmRSS = anon + file; workers = V8 heap size of the Worker isolates)`,
    ...rows.map((r) => `  ${r.who.padEnd(12)}${f(r.rss)}${f(r.anon)}${f(r.file)}${f(r.hwm)}${f(r.heapUsed)}${f(r.heapTotal)}${f(r.external)}${f(r.workers)}`),
  ].join('\n');
}

// BENCH_HEAP_SNAPSHOT=1 (with `--heapsnapshot-signal=SIGUSR2` in IRONLB_SPEAKER_FLAGS): each loaded
// speaker writes a heap snapshot of its main isolate into its working directory, to see what the
// Services cost; taken after the sample, so it does not change the figures.
async function heapSnapshots(speakers: Measured[]): Promise<void> {
  if (!process.env.BENCH_HEAP_SNAPSHOT) return;
  for (const m of speakers) {
    const threads = [...(await scrape(m.metricsUrl))].filter(([k]) => k.startsWith('ironlb_speaker_worker_heap_size_bytes'));
    process.stdout.write(`${m.who} pid ${m.proc.pid}: ${threads.map(([k, v]) => `${k.replace(/^[^{]*/, '')} ${(v / MiB).toFixed(1)} MiB`).join(', ')}\n`);
    process.kill(m.proc.pid, 'SIGUSR2');
  }
  await new Promise((r) => setTimeout(r, 20_000));
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<void> {
  if (!process.env.BENCH_NO_BUILD) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  const lab = await L2Lab.create({ nodes: 3, backends: false });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void lab.destroy().finally(() => process.exit(130)));
  try {
    const kit = lab.kit;
    await kit.applyConfig('ironlb-system', 'config', `address-pools:\n- name: bench\n  protocol: layer2\n  addresses:\n  - ${POOL}\n`);
    const measured: Measured[] = [];
    const ctl = startIronlb(['controller', '--kubeconfig', lab.cluster.kubeconfig, '--metrics-addr', '127.0.0.1:0', '--leader-elect=false'], { compiled: true, nodeFlags: controllerNodeFlags() });
    lab.controller = ctl;
    const bound = await waitForLog(ctl, 'metrics and health endpoints listening');
    measured.push({ who: 'controller', proc: ctl, metricsUrl: `http://${String(bound.address)}/metrics`, prefix: 'ironlb_controller_' });
    for (const node of lab.nodes) {
      const proc = startIronlb(
        ['speaker', '--kubeconfig', lab.cluster.kubeconfig, '--node-name', node.nodeName, '--node-address', node.ipv4 ?? '', '--metrics-addr', `${node.ipv4}:7472`, '--exclude-interfaces', '^lo$'],
        { netns: node.ns, compiled: true, nodeFlags: SPEAKER_FLAGS, env: SPEAKER_ENV },
      );
      node.speaker = proc;
      measured.push({ who: `speaker ${node.nodeName}`, proc, metricsUrl: `http://${node.ipv4}:7472/metrics`, prefix: 'ironlb_speaker_' });
    }
    await waitForLog(ctl, 'caches synced');
    for (const node of lab.nodes) if (node.speaker) await waitForLog(node.speaker, 'speaker started');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const idle = await Promise.all(measured.map(sample));
    const idleLoad = os.loadavg()[0].toFixed(1);

    const names = Array.from({ length: N }, (_, i) => `svc-${i}`);
    const objects = k8s.KubernetesObjectApi.makeApiClient(lab.kc);
    await kit.ensureNamespace('bench');
    const t0 = Date.now();
    await pool(names, 16, async (name) => {
      await kit.createLB('bench', name);
      await objects.create({
        apiVersion: 'discovery.k8s.io/v1beta1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-bench`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: '', port: 80, protocol: 'TCP' }],
        endpoints: lab.nodes.map((n) => ({ addresses: [n.ipv4 ?? ''], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': n.nodeName } })),
      } as k8s.KubernetesObject);
    });
    const speakers = measured.filter((m) => m.who.startsWith('speaker'));
    await until(`${N} Services announced`, 30 * 60_000, async () => {
      const counts = await Promise.all(speakers.map(async (m) => sumOf(await scrape(m.metricsUrl), 'ironlb_speaker_announced')));
      return counts.reduce((a, b) => a + b, 0) >= N;
    });
    const servedMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const loaded = await Promise.all(measured.map(sample));
    await heapSnapshots(speakers);
    const loadedLoad = os.loadavg()[0].toFixed(1);
    const flags = process.env.IRONLB_NODE_FLAGS ?? '';
    const maxSpeaker = (rows: Sample[]): number => Math.max(...rows.filter((r) => r.who.startsWith('speaker')).map((r) => r.rss));
    const ctlRow = (rows: Sample[]): Sample => rows.find((r) => r.who === 'controller') ?? rows[0];
    process.stdout.write(
      [
        `bench:memory  N=${N} Services, 3 speakers, node ${process.version}, speaker flags "${SPEAKER_FLAGS.join(' ')}" env "${Object.entries(SPEAKER_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}"${flags ? `, controller IRONLB_NODE_FLAGS="${flags}"` : ''}`,
        table(`idle (config loaded, no Services), after ${SETTLE_MS / 1000} s, load average ${idleLoad}`, idle),
        table(`${N} Services announced (${(servedMs / 1000).toFixed(1)} s after the first create), after ${SETTLE_MS / 1000} s, load average ${loadedLoad}`, loaded),
        `speaker_idle_rss_mib=${maxSpeaker(idle).toFixed(1)} speaker_loaded_rss_mib=${maxSpeaker(loaded).toFixed(1)} controller_rss_mib=${ctlRow(loaded).rss.toFixed(1)} controller_peak_rss_mib=${ctlRow(loaded).hwm.toFixed(1)}`,
        '',
      ].join('\n'),
    );
    await Promise.all(measured.map((m) => m.proc.kill('SIGTERM')));
  } finally {
    await lab.destroy();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:memory failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
