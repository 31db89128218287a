// `npm run bench:memory-side [-- N]`: speakers side by side on one kube-apiserver on 127.0.0.1, one
// per variant, first idle and then with N LoadBalancer Services (addresses assigned by the compiled
// controller, each with an EndpointSlice naming every probe node). All variants see the same API
// server and the same watch bursts in the same minutes, which is what makes a before/after
// comparison hold on a busy machine. No netns and no lock: the speakers run in this namespace with
// `--interfaces nonexistent0` (no packet socket; the responder worker still runs) and heartbeat
// ports 41000+. For the shipped figures on a real LAN use bench:memory (docs/footprint.md).
//
// VARIANTS: '|'-separated `label=root;flags;ENV=v ENV2=v`, root a checkout with dist/ built
// ('.' this one), flags node flags, then environment. Default: this checkout with the shipped flags.
import { execFileSync, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs, readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { destroyCluster, startCluster } from '../scripts/lib/kube-cluster';
import { startIronlb, waitForLog, type IronlbProcess } from '../scripts/lib/processes';
import { ServiceKit } from '../scripts/lib/services';
import { loadKubeConfig } from '../src/k8s/client';
import { ensureHeartbeatSecret } from '../src/speaker/membership/heartbeat-store';
import { SPEAKER_ENV, SPEAKER_NODE_FLAGS, controllerNodeFlags } from './manifest-flags';

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 1000);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 15_000);
const REPO = path.join(__dirname, '..');

interface Variant {
  label: string;
  root: string;
  flags: string[];
  env: Record<string, string>;
}

function parseVariants(spec: string): Variant[] {
  return spec.split('|').map((v) => {
    const [label, rest] = v.includes('=') && v.indexOf('=') < v.indexOf(';') ? [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)] : [v, v];
    const [root = '.', flags = '', env = ''] = rest.split(';');
    const envs = Object.fromEntries(env.split(' ').filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return { label, root: path.resolve(REPO, root), flags: flags.split(' ').filter((f) => f !== ''), env: envs };
  });
}

function status(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) / 1024;
  const threads = Number(/Threads:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM'), threads };
}

async function metrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const sum = (name: string): number => {
    let s = 0;
    for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) s += Number(line.slice(line.lastIndexOf(' ') + 1));
    return s / 1024 / 1024;
  };
  return { heapUsd: sum('ironlb_speaker_nodejs_heap_size_used_bytes'), heapTot: sum('ironlb_speaker_nodejs_heap_size_total_bytes'), workers: sum('ironlb_speaker_worker_heap_size_bytes') };
}

function spawnSpeaker(v: Variant, i: number, kubeconfig: string): IronlbProcess {
  const args = ['speaker', '--kubeconfig', kubeconfig, '--node-name', `probe${i}`, '--node-address', '127.0.0.1', '--metrics-addr', `127.0.0.1:${42000 + i}`, '--interfaces', 'nonexistent0', '--heartbeat-port', String(41000 + i)];
  if (v.root === REPO) {
    process.env.IRONLB_NODE_FLAGS = v.flags.join(' ');
    return startIronlb(args, { compiled: true, env: v.env });
  }
  // Another checkout: its own dist/ (built by the caller).
  process.env.IRONLB_NODE_FLAGS = '';
  const child = spawn(process.execPath, [...v.flags, path.join(v.root, 'dist', 'src', 'cli', 'main.js'), ...args], { cwd: v.root, env: { ...process.env, ...v.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-1_000_000)));
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-1_000_000)));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const logs = (): Array<Record<string, unknown>> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } });
  return { child, pid: child.pid ?? -1, output: () => out, logs, exited, kill: async (s = 'SIGTERM') => { if (child.exitCode === null) { child.kill(s); await exited; } } };
}

function row(label: string, s: Record<string, number>, m: Record<string, number>): string {
  const f = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(1)).padStart(8);
  return `  ${label.padEnd(28)}${f(s.rss)}${f(s.anon)}${f(s.file)}${f(s.hwm)}${f(m.heapUsd)}${f(m.heapTot)}${f(m.workers)}${String(s.threads).padStart(8)}`;
}

async function report(title: string, variants: Variant[], procs: IronlbProcess[]): Promise<void> {
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  const lines = [`${title} (load average ${load})`, `  ${'variant'.padEnd(28)}${['VmRSS', 'RssAnon', 'RssFile', 'VmHWM', 'heapUsd', 'heapTot', 'workers', 'threads'].map((h) => h.padStart(8)).join('')}`];
  for (const [i, p] of procs.entries()) lines.push(row(variants[i].label, status(p.pid), await metrics(`http://127.0.0.1:${42000 + i}/metrics`).catch(() => ({}))));
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < items.length) await fn(items[next++]); }));
}

async function main(): Promise<void> {
  const variants = process.env.VARIANTS ? parseVariants(process.env.VARIANTS) : [{ label: 'shipped', root: REPO, flags: SPEAKER_NODE_FLAGS, env: SPEAKER_ENV }];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-memside-'));
  if (!process.env.BENCH_NO_BUILD) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO, stdio: 'inherit' });
  const cluster = await startCluster({ dir });
  const procs: IronlbProcess[] = [];
  try {
    const kc = loadKubeConfig(cluster.kubeconfig);
    const kit = new ServiceKit(kc);
    await kit.ensureNamespace('ironlb-system');
    await ensureHeartbeatSecret(kit.core, 'ironlb-system');
    await kit.applyConfig('ironlb-system', 'config', `address-pools:\n- name: bench\n  protocol: layer2\n  addresses:\n  - 198.19.0.0-198.19.15.255\n`);
    for (const i of variants.keys()) await kit.core.createNode({ body: { metadata: { name: `probe${i}`, labels: { 'kubernetes.io/hostname': `probe${i}` } } } });
    process.env.IRONLB_NODE_FLAGS = '';
    const ctl = startIronlb(['controller', '--kubeconfig', cluster.kubeconfig, '--metrics-addr', '127.0.0.1:0', '--leader-elect=false'], { compiled: true, nodeFlags: controllerNodeFlags() });
    procs.push(...variants.map((v, i) => spawnSpeaker(v, i, cluster.kubeconfig)));
    for (const p of procs) await waitForLog(p, 'speaker started', 180_000);
    await waitForLog(ctl, 'caches synced', 180_000);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await report(`idle, ${SETTLE_MS / 1000} s after start`, variants, procs);
    await kit.ensureNamespace('bench');
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const t0 = Date.now();
    await pool(Array.from({ length: N }, (_, i) => `svc-${i}`), 16, async (name) => {
      await kit.createLB('bench', name);
      await objects.create({
        apiVersion: 'discovery.k8s.io/v1beta1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-bench`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: '', port: 80, protocol: 'TCP' }],
        endpoints: variants.map((_, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': `probe${i}` } })),
      } as k8s.KubernetesObject);
    });
    process.stdout.write(`created ${N} Services and EndpointSlices in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await report(`${N} Services, ${SETTLE_MS / 1000} s after the last create`, variants, procs);
    await new Promise((r) => setTimeout(r, SETTLE_MS * 2));
    await report(`${N} Services, ${(SETTLE_MS * 3) / 1000} s after the last create`, variants, procs);
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      // The speakers must run with --heapsnapshot-signal=SIGUSR2; each writes Heap.*.heapsnapshot into its cwd.
      for (const p of procs) p.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 30_000));
    }
    await ctl.kill('SIGTERM');
  } finally {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await destroyCluster(dir);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:memory-side failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
