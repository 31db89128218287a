// `npm run bench:controller [-- N]`: N LoadBalancer Services on a real API server; time from the
// controller's caches being synced until all have an EXTERNAL-IP, against a bare loop that makes the
// controller's own status writes (same writer, patch and concurrency) for the same number of
// Services, and against two loops of a minimal merge patch. Also the controller's peak RSS.
import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { destroyCluster, startCluster } from '../test/harness/kube-cluster';
import { startIronlb } from '../test/harness/processes';
import { loadKubeConfig } from '../src/k8s/client';
import { ServiceKit } from '../test/harness/services';
import { bareStatusLoop, cpuSeconds, peakRssMiB, phaseCpu, pool, watchServed, type PhaseCpu } from './api-bench';
import { controllerNodeFlags } from './manifest-flags';
import { report, type ControllerRun, type Round } from './controller-report';

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 2000);
const CONCURRENCY = 32; // the controller's default write concurrency
// Compiled by the tsc run at the start of main().
const WATCH_ONLY = path.join(__dirname, '..', 'dist', 'bench', 'watch-only.js');

function ipFor(i: number): string {
  return `198.51.${100 + (i >> 8)}.${i & 255}`;
}

async function main(): Promise<void> {
  // Measure the controller as shipped: compiled JavaScript, not ts-node.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-bench-'));
  // 8 GiB of etcd: the rounds create and delete N Services many times (see etcdQuotaBytes).
  const cluster = await startCluster({ dir, etcdQuotaBytes: 8 * 2 ** 30, log: (s) => process.stderr.write(`[cluster] ${s}\n`) });
  // Interrupted (Ctrl-C, a timeout): still stop exactly the servers this run started.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void destroyCluster(dir).finally(() => process.exit(130)));
  }
  try {
    // The test side (creating Services, the watch) uses client-node; the bare loop patches with the
    // controller's own raw client (api-bench.ts), the controller loads its kubeconfig as in production.
    const kc = loadKubeConfig(cluster.kubeconfig);
    const kit = new ServiceKit(kc);
    const core = kit.core;
    const names = Array.from({ length: N }, (_, i) => `svc-${i}`);
    const octets = Math.ceil(N / 256);
    await kit.applyConfig('ironlb-system', 'config', `address-pools:\n- name: bench\n  protocol: layer2\n  addresses:\n  - 198.51.100.0-198.51.${100 + octets - 1}.255\n`);

    /** One controller (this build's, or `main`) on N pending Services in `ns`, deleted afterwards. */
    async function timeController(ns: string, main?: string): Promise<ControllerRun> {
      await kit.ensureNamespace(ns);
      await pool(names, 16, (name) => kit.createLB(ns, name));
      // Watch (not poll) for completion, so that measuring does not load the API server.
      const ctlWatch = await watchServed(kc, core, ns, N);
      const args = ['controller', '--kubeconfig', cluster.kubeconfig, '--metrics-addr', '127.0.0.1:0', '--leader-elect=false', ...(main ? [] : ctlArgs)];
      const ctl = startIronlb(args, { compiled: true, nodeFlags: controllerNodeFlags(), ...(main && { main }) });
      // The clock starts when the controller has listed everything, not at process start-up.
      let syncedAt = 0;
      let cpu0: PhaseCpu | undefined;
      let ctlCpu0 = 0;
      while (!syncedAt) {
        if (ctl.output().includes('caches synced')) [syncedAt, cpu0, ctlCpu0] = [performance.now(), phaseCpu(servers), cpuSeconds(ctl.pid)];
        else await new Promise((r) => setTimeout(r, 5));
      }
      const ms = (await ctlWatch.allServed) - syncedAt;
      const phase = { ...phaseCpu(servers, cpu0), controller: cpuSeconds(ctl.pid) - ctlCpu0 };
      ctlWatch.stop();
      // Events are API writes too: how many the controller wrote while its status writes ran.
      const events = (await core.listNamespacedEvent({ namespace: ns })).items.length;
      const result = { ms, window: phase, events, rss: peakRssMiB(ctl.pid), cpu: cpuSeconds(ctl.pid), late: ctlWatch.late() };
      // BENCH_LOG=file: the controller's own log of the run, to see where a slow Service waited.
      if (process.env.BENCH_LOG) await fs.writeFile(main ? `${process.env.BENCH_LOG}.before` : process.env.BENCH_LOG, ctl.output());
      await ctl.kill('SIGTERM');
      // The next controller needs the pool's addresses.
      await pool(names, 16, (name) => core.deleteNamespacedService({ name, namespace: ns }));
      return result;
    }

    // Baselines: the same client patching N statuses, CONCURRENCY at a time.
    const servers = [cluster.pids.apiserver, cluster.pids.etcd];
    const { ms: bareMs, cpu: bareCpu } = await bareStatusLoop(kit, kc, names, ipFor, CONCURRENCY, servers);
    // The same loop on client-node's API classes: the baseline of the ratio issue 13 quotes.
    const { ms: cnBareMs } = await bareStatusLoop(kit, kc, names, ipFor, CONCURRENCY, servers, 'client-node');
    // Like for like: the controller's own writer making the controller's own patch (with the
    // AddressAllocated condition unless the controller runs with --service-conditions=false), so
    // the ratio is what the controller adds to its writes, not what a larger object costs the API
    // server and etcd (printed by the two minimal baselines above).
    const ctlArgs = (process.env.BENCH_CONTROLLER_ARGS ?? '').split(' ').filter((a) => a !== '');
    const conditions = !ctlArgs.includes('--service-conditions=false');
    const likeForLike = (): Promise<Round['bare']> => bareStatusLoop(kit, kc, names, ipFor, CONCURRENCY, servers, conditions ? 'writer' : 'writer-no-condition');
    /**
     * The floor: the like-for-like loop again, while a process that only watches Services as the
     * controller does (bench/watch-only.ts) runs; its CPU in the window is the third "server".
     */
    async function likeForLikeWatched(): Promise<NonNullable<Round['floor']>> {
      const watcher = startIronlb([cluster.kubeconfig], { main: WATCH_ONLY, nodeFlags: controllerNodeFlags() });
      while (!watcher.output().includes('caches synced')) await new Promise((r) => setTimeout(r, 5));
      const run = await bareStatusLoop(kit, kc, names, ipFor, CONCURRENCY, [...servers, watcher.pid], conditions ? 'writer' : 'writer-no-condition');
      await watcher.kill('SIGTERM');
      return { ms: run.ms, cpu: { servers: run.cpu.servers.slice(0, 2), bench: run.cpu.bench }, watcher: run.cpu.servers[2], late: run.late };
    }
    // BENCH_FLOOR=0: without the floor (a third of each round's time).
    const floor = process.env.BENCH_FLOOR !== '0';

    // BENCH_BEFORE_MAIN=/other/build/dist/src/cli/main.js: that build's controller is measured
    // too, in the same rounds and on as many Services, for a before-and-after comparison.
    const beforeMain = process.env.BENCH_BEFORE_MAIN;
    // One timed window is ~10 s on two cores shared by the API server, etcd and the client, and the
    // same loop's time swings by a third between windows (the API server's CPU for the same
    // writes: 11.5 and 17.8 s in two runs). So the bench runs BENCH_ROUNDS rounds of the
    // like-for-like loop and the controller, in alternating order (neither always gets the
    // fresher API server), and quotes the median of the rounds' ratios.
    const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
    // A round whose completion watch missed the end (settled by list, up to ~12 s late) measured
    // the bench, not the controller: it is reported, left out of the medians, and run again, up to
    // `rounds` extra times.
    const results: Round[] = [];
    const late: Round[] = [];
    for (let r = 0; results.length < rounds && r < 2 * rounds; r++) {
      const steps: (() => Promise<void>)[] = [];
      const round: Partial<Round> = {};
      // Each round's controller in its own namespace: Events outlive the Services, and the count
      // of Events written meanwhile is per namespace.
      steps.push(async () => void (round.bare = await likeForLike()));
      steps.push(async () => void (round.after = await timeController(`bench-${r}`)));
      if (floor) steps.push(async () => void (round.floor = await likeForLikeWatched()));
      if (beforeMain) steps.push(async () => void (round.before = await timeController(`bench-before-${r}`, beforeMain)));
      // Odd rounds run the steps in reverse.
      for (const step of r % 2 === 0 ? steps : steps.reverse()) await step();
      const done = round as Round;
      const isLate = done.bare.late || done.after.late || done.before?.late === true || done.floor?.late === true;
      (isLate ? late : results).push(done);
      process.stderr.write(`[bench] round ${r + 1}: like-for-like ${(done.bare.ms / 1000).toFixed(2)} s, controller ${(done.after.ms / 1000).toFixed(2)} s, ratio ${(done.bare.ms / done.after.ms).toFixed(2)}x${done.floor ? `, floor ${(done.bare.ms / done.floor.ms).toFixed(2)}x` : ''}${isLate ? ' (late: left out, run again)' : ''}\n`);
    }
    if (results.length === 0) throw new Error('every round was late: no ratio');
    process.stdout.write(report({ N, server: cluster.server, conditions, bareMs, bareCpu, cnBareMs, results, late, beforeMain }));
  } finally {
    if (process.env.BENCH_LOG) await fs.copyFile(path.join(dir, 'apiserver.log'), `${process.env.BENCH_LOG}.apiserver`).catch(() => undefined);
    await destroyCluster(dir);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:controller failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
