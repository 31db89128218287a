// The handle every ironlb component gets to reach the API server: either our RestClient (what
// the CLI loads) or a client-node KubeConfig (what tests and embedders hand in); `rest()` gives the
// raw client for either. client-node is loaded only for kubeconfigs our loader does not cover.
import type * as k8s from '@kubernetes/client-node';
import { DEFAULT_API_TIMEOUT_MS } from './api-call';
import { RestClient } from './rest';
import { defaultKubeconfigFile, inClusterEndpoint, kubeconfigEndpoint, type ApiEndpoint, type TlsMaterial } from './kubeconfig';

export type KubeLike = RestClient | k8s.KubeConfig;
/** One raw client per KubeConfig handed in, so that they share one keep-alive agent. */
const fromKubeConfig = new WeakMap<k8s.KubeConfig, RestClient>();

/** How long credentials computed by client-node are reused (it re-reads files on every call). */
const CLIENT_NODE_CREDENTIALS_MS = 10_000;

/** An endpoint whose credentials client-node computes: every auth method it supports. */
export function clientNodeEndpoint(kc: k8s.KubeConfig): ApiEndpoint {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  let cached: { at: number; value: { tls: TlsMaterial; headers: Record<string, string> } } | undefined;
  return {
    server: cluster.server,
    credentials: async () => {
      if (cached && Date.now() - cached.at < CLIENT_NODE_CREDENTIALS_MS) return cached.value;
      const opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string; auth?: string; headers?: Record<string, string> } = {};
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      const tls: TlsMaterial = { ca: opts.ca, cert: opts.cert, key: opts.key };
      if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
      if (opts.servername) tls.servername = opts.servername;
      cached = { at: Date.now(), value: { tls, headers } };
      return cached.value;
    },
  };
}

/** The raw client for a handle (one per KubeConfig, so they share one keep-alive agent). */
export function rest(kc: KubeLike): RestClient {
  if (kc instanceof RestClient) return kc;
  let client = fromKubeConfig.get(kc);
  if (!client) {
    client = new RestClient(clientNodeEndpoint(kc));
    fromKubeConfig.set(kc, client);
  }
  return client;
}

/**
 * Loads credentials like loadKubeConfig (client.ts): the kubeconfig `file` when given, else the
 * in-cluster ServiceAccount, else $KUBECONFIG or ~/.kube/config. Shapes our loader does not cover
 * (exec plugins, auth providers, merged $KUBECONFIG lists) go through client-node.
 */
export function loadKube(file: string | undefined, makeClientNode: () => k8s.KubeConfig, timeoutMs = DEFAULT_API_TIMEOUT_MS): RestClient {
  const inCluster = !file && Boolean(process.env.KUBERNETES_SERVICE_HOST);
  const chosen = file ?? (inCluster ? undefined : defaultKubeconfigFile());
  const merged = !file && !inCluster && (process.env.KUBECONFIG ?? '').split(':').filter((f) => f).length > 1;
  let ep: ApiEndpoint | undefined;
  if (inCluster) ep = inClusterEndpoint();
  else if (chosen && !merged) ep = kubeconfigEndpoint(chosen);
  return new RestClient(ep ?? clientNodeEndpoint(makeClientNode()), timeoutMs);
}

/** loadKube with client-node's loader (client.ts, which loads client-node) as the fallback. */
export function loadKubeFromFlags(file: string | undefined): RestClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return loadKube(file, () => (require('./client') as typeof import('./client')).loadKubeConfig(file));
}
