// Clients for tests, pointed at the API server started by the jest global setup.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';

export { eventually } from '../../scripts/lib/wait';

export function testKubeConfig(): k8s.KubeConfig {
  const file = process.env.IRONLB_TEST_KUBECONFIG;
  if (!file) throw new Error('IRONLB_TEST_KUBECONFIG is not set: run through the integration/e2e jest projects');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function createNamespace(kc: k8s.KubeConfig, prefix = 'it'): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}
