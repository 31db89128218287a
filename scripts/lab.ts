// `npm run lab`: the seed's MetalLB tutorial, end to end, on this machine. Builds a LAN of network
// namespaces (3 nodes, 1 client) with a real kube-apiserver on it, applies
// config/example-config.yaml (its pool mapped into the lab's subnet), starts the controller and
// one speaker per node with the manifests' settings, creates the seed's nginx-metallb Service and
// shows kubectl get svc, ping, curl, the announcing node and the pool usage.
//
//   npm run lab              run, print, tear everything down
//   npm run lab -- --keep    leave it running (state in .lab/state.json, logs in .lab/)
//   npm run lab -- --down    remove what a --keep run (or a crashed run) left behind
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { parseConfigMapManifest } from '../src/config/parse';
import { ensureHeartbeatSecret } from '../src/speaker/membership/heartbeat-store';
import { poolAddressCount } from '../src/config/summary';
import { loadLiveState } from '../src/cli/live-state';
import { buildStatus, formatStatus } from '../src/cli/status-command';
import { destroyCluster, kubeBinDir, pidAlive, readClusterState } from '../test/harness/kube-cluster';
import { L2Lab, LAN_V4_PREFIX, ROOT_V4, backendScript } from '../test/harness/l2-lab';
import { haveProgram, labUnavailableReason } from '../test/helpers/netns';

const run = promisify(execFile);

export const REPO = path.resolve(__dirname, '..');
export const LAB_DIR = process.env.IRONLB_LAB_DIR ?? path.join(REPO, '.lab');
const STATE_FILE = path.join(LAB_DIR, 'state.json');
const MAIN = path.join(REPO, 'src', 'cli', 'main.ts');
const EXAMPLE_CONFIG = path.join(REPO, 'config', 'example-config.yaml');
const MANIFEST_DIR = path.join(REPO, 'manifests');
const LAB_RANGE = `${LAN_V4_PREFIX}.90-${LAN_V4_PREFIX}.100`;
const SERVICE = { namespace: 'default', name: 'nginx-metallb', port: 8090, targetPort: 80 };
const STEPS = 9;

export interface LabProcess {
  name: string;
  pid: number;
  log: string;
  /** Text that /proc/<pid>/cmdline must contain before --down signals the pid (no pid reuse accidents). */
  match: string;
}

export interface LabState {
  createdAt: string;
  kept: boolean;
  namespaces: string[];
  rootInterface?: string;
  clusterDir?: string;
  kubeconfig?: string;
  clientNamespace?: string;
  nodes: Array<{ name: string; namespace: string; ipv4?: string; mac: string }>;
  processes: LabProcess[];
  externalIP?: string;
}

type Out = (s: string) => void;

class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly logs: string[] = [],
  ) {
    super(message);
  }
}

// ---- small helpers --------------------------------------------------------------------------------

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function readState(): LabState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

function writeState(state: LabState): void {
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + '\n');
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/** Starts a process detached (it outlives this script), output appended to .lab/<name>.log. */
function startDetached(state: LabState, name: string, argv: string[], match: string, netns?: string): LabProcess {
  const log = path.join(LAB_DIR, `${name}.log`);
  const fd = openSync(log, 'a');
  const [cmd, args] = netns ? ['ip', ['netns', 'exec', netns, ...argv]] : [argv[0], argv.slice(1)];
  const child = spawn(cmd, args, { cwd: REPO, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' } });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  // `ip netns exec` execs the command in place: the pid is the program's own.
  const proc = { name, pid: child.pid, log, match };
  state.processes.push(proc);
  writeState(state);
  return proc;
}

function ironlbArgv(args: string[]): string[] {
  return [process.execPath, '-r', require.resolve('ts-node/register/transpile-only'), MAIN, ...args];
}

/** Waits for a JSON log record whose msg starts with `msg`; fails at once if the process died. */
async function waitForLogLine(proc: LabProcess, msg: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(proc.log, 'utf8');
    } catch {
      /* not yet */
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const rec = JSON.parse(line) as { msg?: unknown };
        if (typeof rec.msg === 'string' && rec.msg.startsWith(msg)) return;
      } catch {
        /* partial line */
      }
    }
    if (!pidAlive(proc.pid)) throw new StepError('', `${proc.name} (pid ${proc.pid}) exited before logging "${msg}"`, [proc.log]);
    if (Date.now() > deadline) throw new StepError('', `${proc.name} did not log "${msg}" within ${timeoutMs / 1000} s`, [proc.log]);
    await sleep(100);
  }
}

async function killPid(p: LabProcess, graceMs = 5000): Promise<boolean> {
  if (!pidAlive(p.pid) || !cmdlineOf(p.pid).includes(p.match)) return false;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (pidAlive(p.pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(p.pid)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return true;
}

/** For exit and signal handlers: no awaiting. */
function killSync(state: LabState): void {
  for (const p of state.processes) {
    if (pidAlive(p.pid) && cmdlineOf(p.pid).includes(p.match)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  if (state.clusterDir) {
    try {
      const info = JSON.parse(readFileSync(path.join(state.clusterDir, 'state.json'), 'utf8')) as { pids: { etcd: number; apiserver: number } };
      for (const pid of [info.pids.apiserver, info.pids.etcd]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } catch {
      /* no cluster */
    }
    rmSync(state.clusterDir, { recursive: true, force: true });
  }
  for (const ns of state.namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
    } catch {
      /* gone */
    }
  }
  if (state.rootInterface) {
    try {
      execFileSync('ip', ['link', 'del', state.rootInterface], { stdio: 'pipe' });
    } catch {
      /* gone with the switch namespace */
    }
  }
  rmSync(STATE_FILE, { force: true });
}

// ---- manifests and config -------------------------------------------------------------------------

interface RoleSettings {
  args: string[];
  namespace: string;
  source: string;
}

/** The container args (minus the role) and namespace of the controller Deployment / speaker DaemonSet. */
export function manifestSettings(role: 'controller' | 'speaker'): RoleSettings {
  const file = path.join(MANIFEST_DIR, `${role}.yaml`);
  const fallback: RoleSettings = { args: role === 'controller' ? ['--leader-elect=true', '--log-level=info'] : ['--log-level=info'], namespace: 'ironlb-system', source: 'built-in defaults' };
  if (!existsSync(file)) return fallback;
  try {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const o = doc.toJS() as { kind?: string; metadata?: { namespace?: string }; spec?: { template?: { spec?: { containers?: Array<{ name?: string; args?: string[] }> } } } } | null;
      const c = o?.spec?.template?.spec?.containers?.find((x) => x.name === role);
      if (!o || !c?.args) continue;
      const args = c.args[0] === role ? c.args.slice(1) : c.args;
      return { args, namespace: o.metadata?.namespace ?? 'ironlb-system', source: path.relative(REPO, file) };
    }
  } catch {
    /* unreadable: defaults */
  }
  return fallback;
}

/** Replaces (or appends) `--name=value` in an argument list. */
export function withFlag(args: string[], name: string, value: string): string[] {
  const out = args.filter((a, i) => !(a === `--${name}` || a.startsWith(`--${name}=`) || (i > 0 && args[i - 1] === `--${name}` && !a.startsWith('--'))));
  return [...out, `--${name}=${value}`];
}

export interface LabConfig {
  namespace: string;
  name: string;
  text: string;
  pool: string;
  originalRanges: string[];
  size: bigint;
}

/** config/example-config.yaml with its (first layer-2) pool's addresses replaced by the lab range. */
export function labConfig(fileText: string): LabConfig {
  const parsed = parseConfigMapManifest(fileText);
  if (!parsed.ok) throw new Error(`config/example-config.yaml is invalid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  const pool = parsed.config.pools.find((p) => p.protocol === 'layer2');
  if (!pool) throw new Error('config/example-config.yaml has no layer2 pool');
  const docs = parseAllDocuments(fileText).map((d) => d.toJS() as { kind?: string; metadata?: { namespace?: string; name?: string } } | null);
  const cm = docs.find((d) => d?.kind === 'ConfigMap');
  const text = stringify({
    'address-pools': [
      {
        name: pool.name,
        protocol: 'layer2',
        ...(pool.autoAssign ? {} : { 'auto-assign': false }),
        ...(pool.avoidBuggyIPs ? { 'avoid-buggy-ips': true } : {}),
        addresses: [LAB_RANGE],
      },
    ],
  });
  const check = parseConfigMapManifest(text);
  const size = check.ok ? poolAddressCount(check.config.pools[0]).v4 : 0n;
  return { namespace: cm?.metadata?.namespace ?? 'ironlb-system', name: cm?.metadata?.name ?? 'config', text, pool: pool.name, originalRanges: pool.addresses.map((a) => a.text), size };
}

// ---- --down -----------------------------------------------------------------------------------

export async function down(out: Out): Promise<number> {
  const state = readState();
  if (!state) {
    out(`nothing to remove: ${path.relative(process.cwd(), STATE_FILE) || STATE_FILE} does not exist\n`);
    return 0;
  }
  let killed = 0;
  // Speakers first (they withdraw and leave), then the controller and the backends.
  const order = [...state.processes].sort((a, b) => Number(b.name.startsWith('speaker')) - Number(a.name.startsWith('speaker')));
  for (const p of order) if (await killPid(p)) killed++;
  out(`stopped ${killed} process(es): ${state.processes.map((p) => `${p.name}(${p.pid})`).join(' ')}\n`);
  if (state.clusterDir) {
    const info = await readClusterState(state.clusterDir);
    await destroyCluster(state.clusterDir);
    out(`stopped the API server${info ? ` (etcd ${info.pids.etcd}, kube-apiserver ${info.pids.apiserver})` : ''} and removed ${state.clusterDir}\n`);
  }
  for (const ns of state.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  out(`removed ${state.namespaces.length} network namespaces: ${state.namespaces.join(' ')}\n`);
  if (state.rootInterface) {
    await run('ip', ['link', 'del', state.rootInterface]).catch(() => undefined);
    out(`removed root veth ${state.rootInterface} (${ROOT_V4})\n`);
  }
  await fs.rm(LAB_DIR, { recursive: true, force: true });
  out(`removed ${LAB_DIR}\n`);
  return 0;
}

// ---- the run ----------------------------------------------------------------------------------

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : `    ${l}`))
    .join('\n') + '\n';
}

export async function lab(argv: string[], out: Out = (s) => process.stdout.write(s)): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out('usage: npm run lab [-- --keep | --down]\n  (no flag)  run the seed flow and tear down\n  --keep     leave the lab running (state in .lab/state.json)\n  --down     remove what --keep left\n');
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--keep' && a !== '--down');
  if (unknown.length > 0) {
    out(`lab: unknown argument ${unknown[0]} (use --keep or --down)\n`);
    return 2;
  }
  if (argv.includes('--down')) return down(out);
  const keep = argv.includes('--keep');
  const t0 = Date.now();
  const state: LabState = { createdAt: new Date().toISOString(), kept: false, namespaces: [], nodes: [], processes: [] };
  let l2: L2Lab | undefined;
  let finished = false;

  // Whatever happens (exception, Ctrl-C), leave nothing behind unless --keep succeeded. Registered
  // before the Lab's own handlers, so that ours run first.
  const onSignal = (): void => {
    out('\ninterrupted: cleaning up\n');
    killSync(state);
    process.exit(130);
  };
  const onExit = (): void => {
    if (!finished && !state.kept && existsSync(STATE_FILE)) killSync(state);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', onExit);

  let n = 0;
  async function step<T>(title: string, fn: () => Promise<T>, logs: () => string[] = () => []): Promise<T> {
    n++;
    out(`[${n}/${STEPS}] ${title}... `);
    const s0 = Date.now();
    try {
      const v = await fn();
      out(`ok (${((Date.now() - s0) / 1000).toFixed(1)} s)\n`);
      return v;
    } catch (e) {
      out('FAILED\n');
      const extra = e instanceof StepError ? e.logs : [];
      throw new StepError(`[${n}/${STEPS}] ${title}`, e instanceof Error ? e.message : String(e), [...new Set([...extra, ...logs()])]);
    }
  }

  const kubectl = path.join(kubeBinDir(), 'kubectl');
  let controllerProc: LabProcess | undefined;
  const speakerProcs: LabProcess[] = [];
  try {
    await step('checking prerequisites (root, iproute2, ping, curl, arping, kube-apiserver, native addon)', async () => {
      const reason = labUnavailableReason();
      if (reason) throw new Error(`${reason}: run as root on Linux after \`npm run setup\``);
      for (const tool of ['arping', 'curl', 'ping', 'openssl', 'etcd']) if (!haveProgram(tool)) throw new Error(`${tool} is missing: run \`npm run setup\``);
      if (!existsSync(kubectl) || !existsSync(path.join(kubeBinDir(), 'kube-apiserver'))) throw new Error(`kube-apiserver/kubectl not built in ${kubeBinDir()}: run \`npm run setup\``);
      if (!existsSync(path.join(REPO, 'native', 'build', 'Release', 'ironlb_native.node'))) throw new Error('the native addon is not built: run `npm run setup` (or npm run build:native)');
      if (existsSync(STATE_FILE)) throw new Error(`a lab is already up (or was left over): ${STATE_FILE} exists; run \`npm run lab -- --down\` first`);
      const addrs = (await run('ip', ['-j', '-4', 'addr'])).stdout;
      if (addrs.includes(`"${ROOT_V4}"`)) throw new Error(`${ROOT_V4} is already on an interface here (another lab or an e2e test is running?)`);
      await fs.mkdir(LAB_DIR, { recursive: true });
      for (const f of readdirSync(LAB_DIR)) if (f.endsWith('.log')) rmSync(path.join(LAB_DIR, f));
      writeState(state);
    });

    const clusterDir = path.join(LAB_DIR, 'cluster');
    state.clusterDir = clusterDir;
    writeState(state);
    l2 = await step(
      `building the LAN (bridge, node1-3, client) and starting kube-apiserver ${'v1.20.2'} on ${ROOT_V4}`,
      async () => {
        const created = await L2Lab.create({ clusterDir, backends: false });
        state.namespaces = created.namespaces;
        state.rootInterface = created.rootInterface;
        state.kubeconfig = created.cluster.kubeconfig;
        state.clientNamespace = created.client.ns;
        state.nodes = created.nodes.map((x) => ({ name: x.nodeName, namespace: x.ns, ipv4: x.ipv4, mac: x.mac }));
        writeState(state);
        // Each node runs an HTTP backend on the Service port, standing in for kube-proxy + an nginx pod.
        for (const node of created.nodes) startDetached(state, `backend-${node.nodeName}`, [process.execPath, '-e', backendScript(node.nodeName, SERVICE.port)], 'createServer', node.ns);
        return created;
      },
      () => [path.join(clusterDir, 'apiserver.log'), path.join(clusterDir, 'etcd.log')],
    );
    const lan = l2;
    const core = lan.kc.makeApiClient(k8s.CoreV1Api);
    for (const node of lan.nodes) out(`    ${node.nodeName}: ${node.ipv4} ${node.mac} (netns ${node.ns})\n`);
    out(`    client: ${lan.client.ipv4} (netns ${lan.client.ns})\n`);

    const cfg = labConfig(await fs.readFile(EXAMPLE_CONFIG, 'utf8'));
    await step(`applying config/example-config.yaml as ConfigMap ${cfg.namespace}/${cfg.name}`, async () => {
      await lan.kit.applyConfig(cfg.namespace, cfg.name, cfg.text);
    });
    out(`    pool "${cfg.pool}" ${cfg.originalRanges.join(', ')} is mapped into ${LAB_RANGE} inside the lab (${cfg.size} addresses on the LAN ${LAN_V4_PREFIX}.0/24)\n`);

    const ctl = manifestSettings('controller');
    const spk = manifestSettings('speaker');
    await step(
      `starting the controller (${ctl.source}: ${ctl.args.join(' ')})`,
      async () => {
        // The metrics port moves off :7472 because the controller shares this machine's network namespace.
        const args = withFlag(withFlag(ctl.args, 'metrics-addr', '127.0.0.1:0'), 'identity', 'ironlb-controller-lab');
        controllerProc = startDetached(state, 'controller', ironlbArgv(['controller', '--kubeconfig', lan.cluster.kubeconfig, `--config-namespace=${cfg.namespace}`, `--config-name=${cfg.name}`, ...args]), MAIN, undefined);
        await waitForLogLine(controllerProc, 'allocator rebuilt from Service status');
      },
      () => (controllerProc ? [controllerProc.log] : []),
    );

    await step(
      `starting ${lan.nodes.length} speakers, one per node namespace (${spk.source}: ${spk.args.join(' ')})`,
      async () => {
        // The heartbeat key, created as docs/install.md does it (speakers may only read it).
        await lan.kit.ensureNamespace(spk.namespace);
        await ensureHeartbeatSecret(core, spk.namespace);
        for (const node of lan.nodes) {
          const args = ['speaker', '--kubeconfig', lan.cluster.kubeconfig, `--node-name=${node.nodeName}`, `--node-address=${node.ipv4 ?? ''}`, `--namespace=${spk.namespace}`, `--config-name=${cfg.name}`, ...spk.args];
          speakerProcs.push(startDetached(state, `speaker-${node.nodeName}`, ironlbArgv(args), MAIN, node.ns));
        }
        await Promise.all(speakerProcs.map((p) => waitForLogLine(p, 'speaker started')));
      },
      () => speakerProcs.map((p) => p.log),
    );

    const ip = await step(
      `creating Service ${SERVICE.namespace}/${SERVICE.name} (LoadBalancer, ${SERVICE.port}->${SERVICE.targetPort}, selector app: nginx) with an EndpointSlice on ${lan.nodes.map((x) => x.nodeName).join(', ')}`,
      async () => {
        await core.createNamespacedService({
          namespace: SERVICE.namespace,
          body: {
            metadata: { name: SERVICE.name, namespace: SERVICE.namespace },
            spec: { type: 'LoadBalancer', selector: { app: 'nginx' }, ports: [{ port: SERVICE.port, protocol: 'TCP', targetPort: SERVICE.targetPort }] },
          },
        });
        await lan.setEndpoints(SERVICE.namespace, SERVICE.name, lan.nodes.map((x) => x.nodeName), SERVICE.targetPort);
        const [got] = await until('an EXTERNAL-IP', async () => (await core.readNamespacedService({ name: SERVICE.name, namespace: SERVICE.namespace })).status?.loadBalancer?.ingress?.map((i) => i.ip ?? '').filter(Boolean)[0], 30_000).then((x) => [x]);
        // kube-proxy (IPVS mode) would put the address on every node; the lab does it on lo.
        await lan.addServiceAddressEverywhere([got]);
        state.externalIP = got;
        writeState(state);
        return got;
      },
      () => (controllerProc ? [controllerProc.log] : []),
    );
    out(`    $ kubectl get svc\n${indent((await run(kubectl, ['--kubeconfig', lan.cluster.kubeconfig, 'get', 'svc', '-n', SERVICE.namespace])).stdout)}`);

    const ping = await step(
      `ping -c 3 ${ip} from the client (netns ${lan.client.ns})`,
      async () => {
        // The first echo may wait for the election and the first ARP answer: retry a few times.
        return until('3 answered pings', async () => {
          const r = await lan.lab.exec(lan.client, ['ping', '-c', '3', '-W', '2', ip], { allowFailure: true, timeoutMs: 15_000 });
          return r.code === 0 && /3 received/.test(r.stdout) ? r.stdout : undefined;
        }, 30_000, 500);
      },
      () => speakerProcs.map((p) => p.log),
    );
    out(`    $ ping -c 3 ${ip}\n${indent(ping)}`);

    const curl = await step(
      `curl http://${ip}:${SERVICE.port} from the client`,
      async () => {
        const r = await lan.lab.exec(lan.client, ['curl', '-s', '--max-time', '5', `http://${ip}:${SERVICE.port}/`], { allowFailure: true, timeoutMs: 10_000 });
        if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr.trim()}`);
        return r.stdout.trim();
      },
      () => [...speakerProcs.map((p) => p.log), ...state.processes.filter((p) => p.name.startsWith('backend')).map((p) => p.log)],
    );
    out(`    $ curl http://${ip}:${SERVICE.port}\n    ${curl}    <- answered by the backend on ${curl}\n`);

    const who = await step(
      'finding the announcing node (arping from the client, nodeAssigned Event) and the pool usage',
      async () => {
        const mac = await until('exactly one MAC answering ARP', async () => {
          const r = await lan.lab.exec(lan.client, ['arping', '-c', '2', '-w', '4', '-I', 'eth0', ip], { allowFailure: true, timeoutMs: 10_000 });
          const macs = [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
          return macs.length === 1 ? macs[0] : undefined;
        }, 20_000);
        const node = lan.nodeByMac(mac);
        const event = await until('a nodeAssigned Event', async () => {
          const evs = await core.listNamespacedEvent({ namespace: SERVICE.namespace, fieldSelector: `involvedObject.name=${SERVICE.name},reason=nodeAssigned` });
          return evs.items.sort((a, b) => String(b.lastTimestamp ?? '').localeCompare(String(a.lastTimestamp ?? '')))[0];
        }, 15_000);
        const live = await loadLiveState({ kc: lan.kc, configNamespace: cfg.namespace, configName: cfg.name, namespace: spk.namespace });
        return { mac, node, event, status: formatStatus(buildStatus(live), live.now) };
      },
      () => speakerProcs.map((p) => p.log),
    );
    out(`    arping ${ip}: answered by ${who.mac} = ${who.node?.nodeName ?? 'an unknown MAC'} (${who.node?.ipv4 ?? '?'})\n`);
    out(`    nodeAssigned Event: ${who.event.message} (source ${who.event.source?.component}/${who.event.source?.host})\n`);
    if (who.node && who.node.nodeName !== curl) out(`    note: curl was answered by ${curl}, ARP by ${who.node.nodeName}\n`);
    out(`    $ ironlb status\n${indent(who.status)}`);
    out(`\nthe seed flow works: ${SERVICE.name} got ${ip}, ${who.node?.nodeName ?? '?'} announces it, curl reached ${curl} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);

    if (keep) {
      state.kept = true;
      writeState(state);
      lan.keepOnExit();
      finished = true;
      out(`\nthe lab stays up (state: ${STATE_FILE}, logs: ${LAB_DIR}/*.log):\n`);
      out(`  ip netns exec ${lan.client.ns} bash                      # a shell on the client (try: curl http://${ip}:${SERVICE.port})\n`);
      out(`  ${kubectl} --kubeconfig ${lan.cluster.kubeconfig} get svc\n`);
      out(`  npx ts-node --transpile-only src/cli/main.ts status --kubeconfig ${lan.cluster.kubeconfig}\n`);
      out('  npm run lab -- --down                                 # removes everything\n');
      return 0;
    }
    out('\ntearing down... ');
    await teardown(state, l2);
    finished = true;
    out('done\n');
    return 0;
  } catch (e) {
    const err = e instanceof StepError ? e : new StepError('lab', e instanceof Error ? e.message : String(e));
    out(`\nlab failed at ${err.step}: ${err.message}\n`);
    for (const log of err.logs) out(`--- last lines of ${log}:\n${tail(log)}\n`);
    out('cleaning up... ');
    await teardown(state, l2, true).catch((x: Error) => out(`(cleanup: ${x.message}) `));
    finished = true;
    out(err.logs.length > 0 ? `done (logs kept in ${LAB_DIR})\n` : 'done\n');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

async function teardown(state: LabState, l2: L2Lab | undefined, keepLogs = false): Promise<void> {
  const order = [...state.processes].sort((a, b) => Number(b.name.startsWith('speaker')) - Number(a.name.startsWith('speaker')));
  await Promise.all(order.map((p) => killPid(p)));
  if (l2) await l2.destroy();
  else killSync(state);
  if (state.clusterDir) await destroyCluster(state.clusterDir);
  for (const ns of state.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  if (keepLogs) await fs.rm(STATE_FILE, { force: true });
  else await fs.rm(LAB_DIR, { recursive: true, force: true });
}

if (require.main === module) {
  lab(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`lab: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
