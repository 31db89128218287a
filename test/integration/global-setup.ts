// Starts a fresh etcd + kube-apiserver for the integration and e2e suites (unless
// IRONLB_TEST_KUBECONFIG already points at one) and passes its kubeconfig to the tests.
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { startCluster } from '../harness/kube-cluster';

export default async function globalSetup(): Promise<void> {
  if (process.env.IRONLB_TEST_KUBECONFIG) return;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-cluster-'));
  const t0 = Date.now();
  const info = await startCluster({ dir, log: (s) => process.stderr.write(`[cluster] ${s}\n`) });
  process.stderr.write(`[cluster] started in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.env.IRONLB_TEST_KUBECONFIG = info.kubeconfig;
  process.env.IRONLB_TEST_CLUSTER_DIR = dir;
}
