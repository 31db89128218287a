// Loads credentials: a kubeconfig file when given, otherwise the in-cluster ServiceAccount.
import * as k8s from '@kubernetes/client-node';
import type * as http from 'node:http';
import type * as https from 'node:https';
import { systemClock, type Clock } from '../util/clock';

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

/** Every API call made through makeApiClient gives up after this long unless it says otherwise. */
export const DEFAULT_API_TIMEOUT_MS = 10_000;

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

/**
 * Runs `call` with a signal that aborts after `timeoutMs` or when `parent` aborts, whichever comes
 * first; the timer and the listener on `parent` are removed when the call settles.
 */
export async function withDeadline<T>(timeoutMs: number, parent: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>, clock: Clock = systemClock): Promise<T> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(parent?.reason);
  if (parent?.aborted) ac.abort(parent.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimeout(() => ac.abort(new Error(`API call timed out after ${timeoutMs} ms`)), Math.max(0, timeoutMs));
  try {
    return await call(ac.signal);
  } finally {
    clock.clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  }
}

export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = withApiTimeouts(reuseConnections(new k8s.KubeConfig()));
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(file ? `kubeconfig ${file} has no current cluster` : 'no Kubernetes configuration found (use --kubeconfig)');
  return kc;
}

/** HTTP status of a failed API call, or undefined for network-level failures. */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number') return statusCode;
  }
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatus(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}

export function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (parsed.message) return parsed.message;
      } catch {
        /* not JSON */
      }
      return body.slice(0, 300);
    }
    if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
      return (body as { message: string }).message;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
