import { destroyCluster } from '../harness/kube-cluster';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.IRONLB_TEST_CLUSTER_DIR;
  if (dir) await destroyCluster(dir);
}
