// A real Kubernetes API server for tests and the lab: etcd + kube-apiserver v1.20.2, no Docker.
// Processes run detached with their pids recorded in `<dir>/state.json`, so `npm run cluster -- down`
// (or a jest globalTeardown in another process) can stop exactly what was started.
import { execFile, spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync, existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as https from 'node:https';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

/** The test API server's node port range (wider than the default 30000-32767: see below). */
export const NODE_PORT_RANGE = [20000, 32767] as const;

const run = promisify(execFile);

export const KUBE_VERSION = 'v1.20.2';
const ADMIN_TOKEN_BYTES = 24;

export interface ClusterOptions {
  /** Directory for data, certificates, logs and state; wiped on start. */
  dir: string;
  /** Address the API server listens on (must exist in the namespace it runs in). Default 127.0.0.1. */
  bindAddress?: string;
  /** Run etcd and kube-apiserver inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** API server port; default: a free port. */
  port?: number;
  /** Static users beyond admin: name → groups. Tokens are returned in `ClusterInfo.tokens`. */
  users?: Record<string, string[]>;
  /** Milliseconds to wait for /readyz. */
  readyTimeoutMs?: number;
  /**
   * etcd's backend quota (default etcd's 2 GiB). Every Service created or deleted rewrites the
   * ClusterIP and node-port allocation bitmaps (~20 KB), so a bench that creates and deletes
   * 10,000 Services a dozen times writes GBs of revisions between the API server's compactions
   * (every 5 min) and hits "mvcc: database space exceeded".
   */
  etcdQuotaBytes?: number;
  log?: (line: string) => void;
}

export interface ClusterInfo {
  dir: string;
  server: string;
  kubeconfig: string;
  caFile: string;
  adminToken: string;
  tokens: Record<string, string>;
  pids: { etcd: number; apiserver: number };
  netns?: string;
  startedAt: string;
}

export class ClusterError extends Error {}

export function cacheRoot(): string {
  const base = process.env.IRONLB_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? '/root', '.cache'), 'ironlb');
  return base;
}

export function kubeBinDir(): string {
  return path.join(cacheRoot(), `kube-${KUBE_VERSION}`, 'bin');
}

/** What scripts/install-kube.sh builds into kubeBinDir(). */
export const KUBE_BINARIES = ['kube-apiserver', 'kubectl', 'kube-proxy'] as const;

/**
 * Installs etcd and iptables and builds whichever of KUBE_BINARIES is missing (a cache from before
 * kube-proxy gets only kube-proxy built). Output goes to stderr.
 */
export async function ensureBinaries(log: (s: string) => void = () => undefined): Promise<string> {
  const bin = kubeBinDir();
  const missing = KUBE_BINARIES.filter((b) => !existsSync(path.join(bin, b)));
  if (missing.length === 0 && existsSync('/usr/bin/etcd') && ['/usr/sbin/iptables', '/sbin/iptables'].some((p) => existsSync(p))) return bin;
  log(`${missing.length > 0 ? missing.join(', ') : 'etcd/iptables'} ${KUBE_VERSION} not installed: installing and building (first run only, ~5-10 min per binary)`);
  const script = path.join(__dirname, '..', 'install-kube.sh');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, IRONLB_CACHE: cacheRoot() } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new ClusterError(`scripts/install-kube.sh failed with exit code ${code}`))));
  });
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (e) {
    throw new ClusterError(`openssl ${args.join(' ')} failed: ${(e as Error).message}`);
  }
}

/** A CA, a serving cert valid for the bind address, and the service-account key pair. */
async function makeCerts(dir: string, bindAddress: string): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=ironlb-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  const ipSans = [...new Set([bindAddress, '127.0.0.1', '10.96.0.1'])].map((a) => `IP:${a}`).join(',');
  await fs.writeFile(
    path.join(dir, 'san.cnf'),
    `subjectAltName=${ipSans},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n`,
  );
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kube-apiserver', '-keyout', 'apiserver.key', '-out', 'apiserver.csr'], dir);
  await openssl(['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-extfile', 'san.cnf', '-out', 'apiserver.crt'], dir);
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

function randomToken(): string {
  return randomBytes(ADMIN_TOKEN_BYTES).toString('hex');
}

function wrap(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
}

function startDetached(cmd: string, args: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new ClusterError(`could not start ${cmd}`);
  return child.pid;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function probe(url: string, token: string, caFile: string, netns?: string): Promise<boolean> {
  if (netns) {
    // The test process is outside the namespace: ask from inside it.
    const r = await run('ip', ['netns', 'exec', netns, 'curl', '-s', '--max-time', '2', '--cacert', caFile, '-H', `Authorization: Bearer ${token}`, url], {
      encoding: 'utf8',
    }).catch(() => ({ stdout: '' }));
    return r.stdout.trim() === 'ok';
  }
  const ca = await fs.readFile(caFile);
  return new Promise((resolve) => {
    const req = https.get(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: ironlb-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${user}@ironlb-test`,
    '  context:',
    '    cluster: ironlb-test',
    `    user: ${user}`,
    '    namespace: default',
    `current-context: ${user}@ironlb-test`,
    '',
  ].join('\n');
}

export async function startCluster(opts: ClusterOptions): Promise<ClusterInfo> {
  const log = opts.log ?? (() => undefined);
  const bin = await ensureBinaries(log);
  const dir = path.resolve(opts.dir);
  await stopCluster(dir).catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.join(dir, 'etcd'), { recursive: true });
  await fs.chmod(path.join(dir, 'etcd'), 0o700);
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  await makeCerts(dir, bindAddress);

  const adminToken = randomToken();
  const tokens: Record<string, string> = {};
  const tokenLines = [`${adminToken},admin,admin-uid,"system:masters"`];
  for (const [user, groups] of Object.entries(opts.users ?? {})) {
    tokens[user] = randomToken();
    tokenLines.push(`${tokens[user]},${user},${user}-uid` + (groups.length > 0 ? `,"${groups.join(',')}"` : ''));
  }
  await fs.writeFile(path.join(dir, 'tokens.csv'), tokenLines.join('\n') + '\n', { mode: 0o600 });

  // Inside a namespace nothing else listens, so fixed ports are fine there and
  // free ports are probed only on the shared host loopback.
  const etcdPort = opts.netns ? 2379 : await freePort();
  const etcdPeerPort = opts.netns ? 2380 : await freePort();
  const port = opts.port ?? (opts.netns ? 6443 : await freePort());

  const etcdLog = path.join(dir, 'etcd.log');
  const [ec, ea] = wrap(opts.netns, '/usr/bin/etcd', [
    '--name', 'ironlb-test',
    '--data-dir', path.join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-cluster', `ironlb-test=http://127.0.0.1:${etcdPeerPort}`,
    '--log-level', 'warn',
    '--unsafe-no-fsync',
    ...(opts.etcdQuotaBytes ? ['--quota-backend-bytes', String(opts.etcdQuotaBytes)] : []),
  ]);
  const etcdPid = startDetached(ec, ea, etcdLog);

  const apiLog = path.join(dir, 'apiserver.log');
  const [ac, aa] = wrap(opts.netns, path.join(bin, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--bind-address=${bindAddress}`,
    `--advertise-address=${bindAddress}`,
    `--secure-port=${port}`,
    '--insecure-port=0',
    `--cert-dir=${dir}`,
    `--tls-cert-file=${path.join(dir, 'apiserver.crt')}`,
    `--tls-private-key-file=${path.join(dir, 'apiserver.key')}`,
    `--client-ca-file=${path.join(dir, 'ca.crt')}`,
    `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--api-audiences=https://kubernetes.default.svc',
    '--feature-gates=IPv6DualStack=true',
    '--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112',
    // Every LoadBalancer Service takes a node port: the default range (30000-32767) holds 2,768,
    // too few for the 10,000-Service benches.
    `--service-node-port-range=${NODE_PORT_RANGE.join('-')}`,
    '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
  ]);
  const apiPid = startDetached(ac, aa, apiLog);

  const hostForUrl = bindAddress.includes(':') ? `[${bindAddress}]` : bindAddress;
  const server = `https://${hostForUrl}:${port}`;
  const info: ClusterInfo = {
    dir,
    server,
    kubeconfig: path.join(dir, 'kubeconfig'),
    caFile: path.join(dir, 'ca.crt'),
    adminToken,
    tokens,
    pids: { etcd: etcdPid, apiserver: apiPid },
    netns: opts.netns,
    startedAt: new Date().toISOString(),
  };
  await fs.writeFile(path.join(dir, 'state.json'), JSON.stringify(info, null, 2));
  const caPem = await fs.readFile(info.caFile);
  await fs.writeFile(info.kubeconfig, kubeconfigYaml(server, caPem.toString(), 'admin', adminToken), { mode: 0o600 });

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!pidAlive(etcdPid)) {
      await stopCluster(dir);
      throw new ClusterError(`etcd exited during start-up; log tail:\n${tail(etcdLog)}`);
    }
    if (!pidAlive(apiPid)) {
      await stopCluster(dir);
      throw new ClusterError(`kube-apiserver exited during start-up; log tail:\n${tail(apiLog)}`);
    }
    if (await probe(`${server}/readyz`, adminToken, info.caFile, opts.netns)) break;
    if (Date.now() > deadline) {
      await stopCluster(dir);
      throw new ClusterError(`kube-apiserver not ready after ${opts.readyTimeoutMs ?? 60_000} ms; log tail:\n${tail(apiLog)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`kube-apiserver ready at ${server}`);
  return info;
}

export async function readClusterState(dir: string): Promise<ClusterInfo | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as ClusterInfo;
  } catch {
    return undefined;
  }
}

async function killAndWait(pid: number, timeoutMs = 10_000): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Stops exactly the processes recorded in `<dir>/state.json`; keeps the directory. */
export async function stopCluster(dir: string): Promise<boolean> {
  const state = await readClusterState(dir);
  if (!state) return false;
  // When run under `ip netns exec`, the recorded pid is that of the exec'd server itself
  // (ip execs the command in place), so killing it by pid is exact.
  await killAndWait(state.pids.apiserver);
  await killAndWait(state.pids.etcd);
  await fs.rm(path.join(dir, 'state.json'), { force: true });
  return true;
}

/** Stops the cluster and removes its data, certificates and logs. */
export async function destroyCluster(dir: string): Promise<void> {
  await stopCluster(dir);
  await fs.rm(dir, { recursive: true, force: true });
}

export async function isClusterUp(dir: string): Promise<ClusterInfo | undefined> {
  const state = await readClusterState(dir);
  if (!state || !pidAlive(state.pids.apiserver) || !pidAlive(state.pids.etcd)) return undefined;
  if (!existsSync(state.caFile)) return undefined;
  return (await probe(`${state.server}/readyz`, state.adminToken, state.caFile, state.netns)) ? state : undefined;
}
