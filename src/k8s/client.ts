// Loads credentials: a kubeconfig file when given, otherwise the in-cluster ServiceAccount.
import * as k8s from '@kubernetes/client-node';
import type * as http from 'node:http';
import type * as https from 'node:https';

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

export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = reuseConnections(new k8s.KubeConfig());
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
