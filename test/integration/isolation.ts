// Run after every integration file (jest setupFilesAfterEnv): all files share one API server,
// and a controller counts every LoadBalancer Service's status address as taken (issue 13, defect
// 1). A Service one file leaves behind therefore changes what the next file's controller hands
// out or accepts: seen in the repeat matrix, where jest's cache reorders files, as five failures
// in three later files from the one Service smoke.test.ts left holding 198.51.100.90 (a config
// without .90 was refused as renumbering it). So a file must delete what it created: this hook
// deletes any LoadBalancer Service still there and fails the file that left it, by name.
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig } from '../harness/kube';

afterAll(async () => {
  const core = testKubeConfig().makeApiClient(k8s.CoreV1Api);
  const left = (await core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer');
  if (left.length === 0) return;
  await Promise.all(left.map((s) => core.deleteNamespacedService({ name: s.metadata?.name ?? '', namespace: s.metadata?.namespace ?? '' }).catch(() => undefined)));
  const names = left.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`).join(', ');
  throw new Error(`this file left ${left.length} LoadBalancer Service(s) on the shared API server (deleted now): ${names}`);
});
