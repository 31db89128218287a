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

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 2000);
const CONCURRENCY = 32; // the controller's default write concurrency

/** One controller's run: time to serve all, CPU in that window, Events written, RSS, CPU in all. */
interface ControllerRun {
  ms: number;
  window: PhaseCpu & { controller: number };
  events: number;
  rss: number;
  cpu: number;
}

function ipFor(i: number): string {
  return `198.51.${100 + (i >> 8)}.${i & 255}`;
}

async function main(): Promise<void> {
  // Measure the controller as shipped: compiled JavaScript, not ts-node.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-bench-'));
  const cluster = await startCluster({ dir, log: (s) => process.stderr.write(`[cluster] ${s}\n`) });
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
      const result = { ms, window: phase, events, rss: peakRssMiB(ctl.pid), cpu: cpuSeconds(ctl.pid) };
      // BENCH_LOG=file: the controller's own log of the run, to see where a slow Service waited.
      if (process.env.BENCH_LOG) await fs.writeFile(main ? `${process.env.BENCH_LOG}.before` : process.env.BENCH_LOG, ctl.output());
      await ctl.kill('SIGTERM');
      // The next controller needs the pool's addresses.
      await pool(names, 16, (name) => core.deleteNamespacedService({ name, namespace: ns }));
      return result;
    }

    // Baseline: the same client patching N statuses, CONCURRENCY at a time.
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
    const { ms: sameMs, cpu: sameCpu } = await bareStatusLoop(kit, kc, names, ipFor, CONCURRENCY, servers, conditions ? 'writer' : 'writer-no-condition');

    // BENCH_BEFORE_MAIN=/other/build/dist/src/cli/main.js: that build's controller is measured
    // too, in the same run and on as many Services, for a before-and-after comparison; first,
    // unless BENCH_BEFORE_LAST=1 (alternate the two, so that neither always gets the fresher etcd).
    const beforeMain = process.env.BENCH_BEFORE_MAIN;
    const beforeLast = process.env.BENCH_BEFORE_LAST === '1';
    let before = beforeMain && !beforeLast ? await timeController('bench-before', beforeMain) : undefined;
    const after = await timeController('bench');
    if (beforeMain && beforeLast) before = await timeController('bench-before', beforeMain);
    const { ms: ctlMs, window: ctlPhaseCpu, events: eventsDuringBurst, rss, cpu } = after;

    const rate = (ms: number): string => ((N / ms) * 1000).toFixed(0);
    process.stdout.write(
      [
        `bench:controller  N=${N} Services, write concurrency ${CONCURRENCY}, kube-apiserver ${cluster.server}`,
        `  bare loop, the controller's own patch and writer ${(sameMs / 1000).toFixed(2)} s   ${rate(sameMs)} Services/s${conditions ? ' (with the AddressAllocated condition)' : ' (no condition)'}`,
        `  controller until all served ${(ctlMs / 1000).toFixed(2)} s   ${rate(ctlMs)} Services/s`,
        `  ratio (controller rate / bare rate, like for like)   ${(sameMs / ctlMs).toFixed(2)}x   (issue 13: not below 0.78-0.83x)`,
        `  bare minimal merge patch, raw client  ${(bareMs / 1000).toFixed(2)} s   ratio to it ${(bareMs / ctlMs).toFixed(2)}x`,
        `  bare minimal merge patch, client-node ${(cnBareMs / 1000).toFixed(2)} s   ratio to it ${(cnBareMs / ctlMs).toFixed(2)}x`,
        `  Events written meanwhile    ${eventsDuringBurst} (they trail the status writes)`,
        `  controller peak RSS         ${rss.toFixed(1)} MiB`,
        `  controller CPU time         ${cpu.toFixed(2)} s (start-up included)`,
        // Where the CPU of each timed window went: two cores are shared by all of these.
        `  CPU in the like-for-like bare window kube-apiserver ${sameCpu.servers[0].toFixed(2)} s, etcd ${sameCpu.servers[1].toFixed(2)} s, bench (writer + watch) ${sameCpu.bench.toFixed(2)} s`,
        `  CPU in the minimal raw window kube-apiserver ${bareCpu.servers[0].toFixed(2)} s, etcd ${bareCpu.servers[1].toFixed(2)} s, bench (client + watch) ${bareCpu.bench.toFixed(2)} s`,
        `  CPU in the controller window kube-apiserver ${ctlPhaseCpu.servers[0].toFixed(2)} s, etcd ${ctlPhaseCpu.servers[1].toFixed(2)} s, bench (watch) ${ctlPhaseCpu.bench.toFixed(2)} s, controller ${ctlPhaseCpu.controller.toFixed(2)} s`,
        ...(before
          ? [
              `  before (${beforeMain}), measured ${beforeLast ? 'last' : 'first'} in this run: until all served ${(before.ms / 1000).toFixed(2)} s   ${rate(before.ms)} Services/s`,
              `    its ratio to the like-for-like loop ${(sameMs / before.ms).toFixed(2)}x, to the raw minimal patch ${(bareMs / before.ms).toFixed(2)}x, to client-node's ${(cnBareMs / before.ms).toFixed(2)}x`,
              `    after / before rate ${(before.ms / ctlMs).toFixed(2)}x; before: peak RSS ${before.rss.toFixed(1)} MiB, CPU in its window ${before.window.controller.toFixed(2)} s (kube-apiserver ${before.window.servers[0].toFixed(2)} s, etcd ${before.window.servers[1].toFixed(2)} s)`,
            ]
          : []),
        '',
      ].join('\n'),
    );
  } finally {
    if (process.env.BENCH_LOG) await fs.copyFile(path.join(dir, 'apiserver.log'), `${process.env.BENCH_LOG}.apiserver`).catch(() => undefined);
    await destroyCluster(dir);
  }
}

main().catch((e) => {
  process.stderr.write(`bench:controller failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
