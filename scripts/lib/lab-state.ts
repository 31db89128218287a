// What `npm run lab` leaves running and how it is found again: processes started detached (they
// outlive the script with --keep), their pids and logs in .lab/, and the state file that `--down`
// (or the exit handler of a failed run) reads to stop exactly those pids and remove the namespaces.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { destroyCluster, pidAlive, readClusterState } from './kube-cluster';
import { ROOT_V4, type L2Lab } from './l2-lab';
import { lastLines, type Launcher } from './launcher';
import { REPO } from './lab-config';
import { sleep } from './wait';

const run = promisify(execFile);

export const LAB_DIR = process.env.IRONLB_LAB_DIR ?? path.join(REPO, '.lab');
export const STATE_FILE = path.join(LAB_DIR, 'state.json');

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
  pods?: Array<{ name: string; namespace: string; node: string; ip: string; netns: string }>;
  processes: LabProcess[];
  externalIP?: string;
}

/** A failure of one lab step, with the logs worth showing. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly logs: string[] = [],
  ) {
    super(message);
  }
}

export function tail(file: string, lines = 25): string {
  try {
    return lastLines(readFileSync(file, 'utf8'), lines);
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

export function readState(): LabState | undefined {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(state: LabState): void {
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + '\n');
}

/** Starts a process detached (it outlives this script), output appended to .lab/<name>.log. */
export function startDetached(state: LabState, name: string, argv: string[], match: string, netns?: string): LabProcess {
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

/** Stops one recorded process (only if its command line still matches); true if it was running. */
export async function killPid(p: LabProcess, graceMs = 5000): Promise<boolean> {
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

/** The launcher for kube-proxy and pod servers in a lab that may be kept: detached, logged, recorded. */
export function detachedLauncher(state: LabState): Launcher {
  return (name, argv, netns) => {
    // Restarting a helper (a stopped pod, kube-proxy) reuses its name: forget the old record.
    state.processes = state.processes.filter((p) => p.name !== name || pidAlive(p.pid));
    const proc = startDetached(state, name, argv, argv.join(' ').slice(0, 200), netns);
    return {
      name,
      pid: proc.pid,
      running: () => pidAlive(proc.pid) && cmdlineOf(proc.pid).includes(proc.match),
      outputTail: (lines = 30) => tail(proc.log, lines),
      stop: async (graceMs = 5000) => {
        await killPid(proc, graceMs);
        state.processes = state.processes.filter((p) => p !== proc);
        writeState(state);
      },
    };
  };
}

/** Speakers first (they withdraw and leave), then everything else. */
export function stopOrder(processes: LabProcess[]): LabProcess[] {
  return [...processes].sort((a, b) => Number(b.name.startsWith('speaker')) - Number(a.name.startsWith('speaker')));
}

/** For exit and signal handlers: no awaiting. */
export function killSync(state: LabState): void {
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

export type Out = (s: string) => void;

/** `npm run lab -- --down`: stops what the state file names and removes its namespaces and files. */
export async function down(out: Out): Promise<number> {
  const state = readState();
  if (!state) {
    out(`nothing to remove: ${path.relative(process.cwd(), STATE_FILE) || STATE_FILE} does not exist\n`);
    return 0;
  }
  let killed = 0;
  for (const p of stopOrder(state.processes)) if (await killPid(p)) killed++;
  out(`stopped ${killed} process(es): ${state.processes.map((p) => `${p.name}(${p.pid})`).join(' ')}\n`);
  if (state.clusterDir) {
    const info = await readClusterState(state.clusterDir);
    await destroyCluster(state.clusterDir);
    out(`stopped the API server${info ? ` (etcd ${info.pids.etcd}, kube-apiserver ${info.pids.apiserver})` : ''} and removed ${state.clusterDir}\n`);
  }
  // kube-proxy's iptables rules live in the node namespaces: they go with them.
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

/** Stops everything a run started, removes its namespaces and (unless `keepLogs`) .lab/. */
export async function teardown(state: LabState, l2: L2Lab | undefined, keepLogs = false): Promise<void> {
  await Promise.all(stopOrder(state.processes).map((p) => killPid(p)));
  if (l2) await l2.destroy();
  else killSync(state);
  if (state.clusterDir) await destroyCluster(state.clusterDir);
  for (const ns of state.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  if (keepLogs) await fs.rm(STATE_FILE, { force: true });
  else await fs.rm(LAB_DIR, { recursive: true, force: true });
}
