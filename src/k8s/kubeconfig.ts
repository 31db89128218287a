// Where the API server is and how to authenticate to it, without @kubernetes/client-node: the
// in-cluster ServiceAccount and the kubeconfig shapes ironlb runs with (server, CA, client
// certificate or token/tokenFile, insecure-skip-tls-verify). Anything else (exec plugins, auth
// providers, username/password, impersonation, proxies) returns undefined so the caller can fall
// back to client-node, which implements them all.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** TLS material for the keep-alive agent. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** One API server and the credentials for it. */
export interface ApiEndpoint {
  server: string;
  /** Called before every request: TLS options and extra headers (Authorization). */
  credentials(): Promise<{ tls: TlsMaterial; headers: Record<string, string> }>;
}

export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * How long a token read from a file is reused. Projected ServiceAccount tokens are rotated by the
 * kubelet well before they expire (at 80% of their life, an hour at the least), and client-go
 * re-reads them every minute; so do we.
 */
export const TOKEN_REREAD_MS = 60_000;

/** A token file read again once its copy is older than `rereadMs`; a failed read keeps the last token. */
export function tokenFileReader(file: string, rereadMs = TOKEN_REREAD_MS, now: () => number = Date.now): () => string {
  let token = '';
  let readAt = -Infinity;
  return () => {
    if (now() - readAt >= rereadMs) {
      try {
        token = fs.readFileSync(file, 'utf8').trim();
        readAt = now();
      } catch (e) {
        if (!token) throw e;
      }
    }
    return token;
  };
}

function endpoint(server: string, tls: TlsMaterial, token?: () => string): ApiEndpoint {
  return {
    server: server.replace(/\/+$/, ''),
    credentials: () => {
      const t = token?.();
      const headers: Record<string, string> = t ? { Authorization: `Bearer ${t}` } : {};
      return Promise.resolve({ tls, headers });
    },
  };
}

/** The Pod's ServiceAccount, as client-go's rest.InClusterConfig reads it. */
export function inClusterEndpoint(env: NodeJS.ProcessEnv = process.env, dir = SA_DIR, rereadMs = TOKEN_REREAD_MS): ApiEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('KUBERNETES_SERVICE_HOST/PORT are not set: not running in a cluster');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return endpoint(`https://${hostPart}:${port}`, { ca: fs.readFileSync(path.join(dir, 'ca.crt')) }, tokenFileReader(path.join(dir, 'token'), rereadMs));
}

type Named<T> = { name?: string } & T;
interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}
interface RawUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
  username?: string;
  as?: string;
}
interface RawKubeconfig {
  'current-context'?: string;
  contexts?: Array<Named<{ context?: { cluster?: string; user?: string } }>>;
  clusters?: Array<Named<{ cluster?: RawCluster }>>;
  users?: Array<Named<{ user?: RawUser }>>;
}

function fileOrData(dir: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return fs.readFileSync(path.resolve(dir, file));
  return undefined;
}

/**
 * A kubeconfig file's current context, or undefined when it needs something only client-node
 * implements. Throws when the file has no usable current cluster.
 */
export function kubeconfigEndpoint(file: string): ApiEndpoint | undefined {
  const doc = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as RawKubeconfig;
  const ctxName = doc['current-context'];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig ${file} has no current cluster`);
  const user: RawUser = doc.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  if (user.exec || user['auth-provider'] || user.username || user.as || cluster['proxy-url']) return undefined;
  const dir = path.dirname(file);
  const tls: TlsMaterial = {
    ca: fileOrData(dir, cluster['certificate-authority'], cluster['certificate-authority-data']),
    cert: fileOrData(dir, user['client-certificate'], user['client-certificate-data']),
    key: fileOrData(dir, user['client-key'], user['client-key-data']),
  };
  if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;
  if (cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];
  const token = user.token ? () => user.token ?? '' : user.tokenFile ? tokenFileReader(path.resolve(dir, user.tokenFile)) : undefined;
  return endpoint(cluster.server, tls, token);
}

/** $KUBECONFIG's first file, else ~/.kube/config, as client-node's loadFromDefault picks. */
export function defaultKubeconfigFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const first = env.KUBECONFIG?.split(path.delimiter).find((f) => f);
  if (first) return first;
  const home = path.join(os.homedir(), '.kube', 'config');
  return fs.existsSync(home) ? home : undefined;
}
