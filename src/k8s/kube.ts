// The handle every ironlb component gets to reach the API server: either our RestClient (what
// the CLI loads) or a client-node KubeConfig (what tests and embedders hand in). `rest()` gives the
// raw client for either; `clientNode()` gives a client-node KubeConfig for the few paths not yet
// moved to the raw client, loading client-node only when one of them runs.
import type * as k8s from '@kubernetes/client-node';
import { DEFAULT_API_TIMEOUT_MS } from './api-call';
import { RestClient } from './rest';
import { defaultKubeconfigFile, inClusterEndpoint, kubeconfigEndpoint, type ApiEndpoint, type TlsMaterial } from './kubeconfig';

export type KubeLike = RestClient | k8s.KubeConfig;
type ClientNode = typeof import('@kubernetes/client-node');

/** How to build a client-node KubeConfig for a RestClient we loaded ourselves. */
const fallbacks = new WeakMap<RestClient, () => k8s.KubeConfig>();
const fromKubeConfig = new WeakMap<k8s.KubeConfig, RestClient>();
const toKubeConfig = new WeakMap<RestClient, k8s.KubeConfig>();

/** client-node, loaded on first use: its models and auth libraries cost the process ~60 MiB. */
export function loadClientNode(): ClientNode {
  // A synchronous require keeps the callers' constructors synchronous; Node >= 20.19 can
  // require() client-node's ES modules, and jest transpiles them (jest.config.js).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@kubernetes/client-node') as ClientNode;
}

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
    toKubeConfig.set(client, kc);
  }
  return client;
}

/** A client-node KubeConfig for a handle, for the paths that still use client-node's API classes. */
export function clientNode(kc: KubeLike): k8s.KubeConfig {
  if (!(kc instanceof RestClient)) return kc;
  let out = toKubeConfig.get(kc);
  if (!out) {
    const make = fallbacks.get(kc);
    if (!make) throw new Error('this API client has no client-node configuration');
    out = make();
    toKubeConfig.set(kc, out);
  }
  return out;
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
  let client: RestClient;
  if (ep) client = new RestClient(ep, timeoutMs);
  else {
    const kc = makeClientNode();
    client = new RestClient(clientNodeEndpoint(kc), timeoutMs);
    toKubeConfig.set(client, kc);
  }
  fallbacks.set(client, makeClientNode);
  return client;
}

/** loadKube with client-node's loader (client.ts, which loads client-node) as the fallback. */
export function loadKubeFromFlags(file: string | undefined): RestClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return loadKube(file, () => (require('./client') as typeof import('./client')).loadKubeConfig(file));
}
