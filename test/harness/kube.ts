// Clients for tests, pointed at the API server started by the jest global setup.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';

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

/** Polls `fn` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
