// `npm run bench:memory-flags`: idle speakers side by side, one per set of node flags (VARIANTS,
// '|'-separated), on one kube-apiserver on 127.0.0.1. The speakers run in this network namespace
// with `--interfaces nonexistent0` (no layer-2 interface: they open no packet socket and send
// nothing) and heartbeat ports 41000+, so no netns and no lock are needed. Prints each one's RSS
// 20 s after all have started. For the loaded figures use bench:memory (docs/footprint.md).
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs, readFileSync } from 'node:fs';
import { destroyCluster, startCluster } from '../scripts/lib/kube-cluster';
import { startIronlb, waitForLog } from '../scripts/lib/processes';
import { ServiceKit } from '../scripts/lib/services';
import { loadKubeConfig } from '../src/k8s/client';
import { ensureHeartbeatSecret } from '../src/speaker/membership/heartbeat-store';
const variants = (process.env.VARIANTS ?? '|--max-semi-space-size=1|--max-semi-space-size=1 --optimize-for-size|--max-semi-space-size=1 --lite-mode').split('|');
async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-memx-'));
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  const cluster = await startCluster({ dir });
  try {
    const kit = new ServiceKit(loadKubeConfig(cluster.kubeconfig));
    await kit.ensureNamespace('ironlb-system');
    await ensureHeartbeatSecret(kit.core, 'ironlb-system');
    await kit.applyConfig('ironlb-system', 'config', `address-pools:\n- name: bench\n  protocol: layer2\n  addresses:\n  - 198.19.0.0/24\n`);
    const procs = variants.map((v, i) => {
      process.env.IRONLB_NODE_FLAGS = v;
      return startIronlb(['speaker', '--kubeconfig', cluster.kubeconfig, '--node-name', `probe${i}`, '--node-address', '127.0.0.1', '--metrics-addr', '127.0.0.1:0', '--interfaces', 'nonexistent0', '--heartbeat-port', String(41000 + i)], { compiled: true });
    });
    for (const p of procs) await waitForLog(p, 'speaker started', 120_000);
    await new Promise((r) => setTimeout(r, 20_000));
    for (const [i, p] of procs.entries()) {
      const st = readFileSync(`/proc/${p.pid}/status`, 'utf8');
      const kb = (k: string): string => (Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1]) / 1024).toFixed(1);
      process.stdout.write(`[${variants[i]}] rss=${kb('VmRSS')} hwm=${kb('VmHWM')}\n`);
    }
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  } finally {
    await destroyCluster(dir);
  }
}
main().catch((e) => {
  process.stderr.write(`bench:memory-flags failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
