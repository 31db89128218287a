// client-node's KubeConfig as ironlb uses it (keep-alive agents, a timeout on every call), for the
// paths not moved to the raw client (rest.ts); loading this module loads client-node.
import * as k8s from '@kubernetes/client-node';
import type * as http from 'node:http';
import type * as https from 'node:https';
import { DEFAULT_API_TIMEOUT_MS } from './api-call';

export { DEFAULT_API_TIMEOUT_MS, apiStatus, errorText, isConflict, isNotFound, withDeadline } from './api-call';

type AgentFactory = (cluster: k8s.Cluster | null, options: https.AgentOptions) => http.Agent;

/**
 * client-node 1.x builds a new https.Agent for every request: a new TCP connection and TLS
 * handshake each time, which made TLS most of the controller's CPU. Reuse one keep-alive agent
 * per distinct set of TLS options (a rotated certificate gets a new one).
 */
export function reuseConnections(kc: k8s.KubeConfig): k8s.KubeConfig {
  const target = kc as unknown as { createAgent: AgentFactory };
  const create = target.createAgent.bind(kc);
  const agents = new Map<string, http.Agent>();
  target.createAgent = (cluster, options) => {
    const key = [cluster?.server, cluster?.proxyUrl, ...Object.entries(options).map(([k, v]) => `${k}=${Buffer.isBuffer(v) ? v.toString('base64') : String(v)}`)].join('|');
    let agent = agents.get(key);
    if (!agent) {
      agent = create(cluster, { ...options, keepAlive: true });
      if (agents.size > 16) agents.clear(); // only rotations add keys
      agents.set(key, agent);
    }
    return agent;
  };
  return kc;
}

/** A client-node middleware that sets the request's AbortSignal (the last one set wins). */
function signalMiddleware(signal: () => AbortSignal, onlyIfUnset: boolean): k8s.ObservableMiddleware {
  return {
    pre: (ctx) => {
      if (!onlyIfUnset || !ctx.getSignal()) ctx.setSignal(signal());
      return new k8s.Observable(Promise.resolve(ctx));
    },
    post: (res) => new k8s.Observable(Promise.resolve(res)),
  };
}

/**
 * A request that hangs (a black-holed connection: a dead keep-alive socket, a partition) must not
 * hang its caller forever: every API client made from this KubeConfig aborts a call after
 * `timeoutMs`, unless the call brings its own signal (callOptions). Watches do not go through
 * makeApiClient and are not affected.
 */
export function withApiTimeouts(kc: k8s.KubeConfig, timeoutMs = DEFAULT_API_TIMEOUT_MS): k8s.KubeConfig {
  // KubeConfig.makeApiClient as in client-node 1.x, plus one middleware.
  kc.makeApiClient = <T extends k8s.ApiType>(apiClientType: k8s.ApiConstructor<T>): T => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const config = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      middleware: [signalMiddleware(() => AbortSignal.timeout(timeoutMs), true)],
    });
    return new apiClientType(config);
  };
  return kc;
}

/**
 * Per-call options: the call is aborted when `signal` aborts; with `patch`, the merge-patch
 * content type, or with 'strategic' the strategic-merge-patch one (lists merged by their key).
 */
export function callOptions(signal: AbortSignal, patch: boolean | 'strategic' = false): k8s.ConfigurationOptions<k8s.ObservableMiddleware> {
  const opts: k8s.ConfigurationOptions<k8s.ObservableMiddleware> = { middleware: [signalMiddleware(() => signal, false)], middlewareMergeStrategy: 'append' };
  if (!patch) return opts;
  return k8s.setHeaderOptions('Content-Type', patch === 'strategic' ? k8s.PatchStrategy.StrategicMergePatch : k8s.PatchStrategy.MergePatch, opts);
}

export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = withApiTimeouts(reuseConnections(new k8s.KubeConfig()));
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(file ? `kubeconfig ${file} has no current cluster` : 'no Kubernetes configuration found (use --kubeconfig)');
  return kc;
}

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
