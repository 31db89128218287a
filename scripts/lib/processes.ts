// Runs `ironlb` commands as real child processes (so they can be SIGKILLed, restarted, or run
// inside a network namespace), tracks them by pid and stops exactly those.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
const MAIN = path.join(REPO, 'src', 'cli', 'main.ts');
const COMPILED_MAIN = path.join(REPO, 'dist', 'src', 'cli', 'main.js');

export interface IronlbProcess {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** JSON log records printed so far. */
  logs: () => Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

const running = new Set<IronlbProcess>();

/** Waits until the process has logged a record whose msg starts with `msg`. */
export async function waitForLog(proc: IronlbProcess, msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = proc.logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
    if (hit) return hit;
    if (proc.child.exitCode !== null) throw new Error(`process exited (${proc.child.exitCode}) before logging "${msg}":\n${proc.output().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${msg}" in the log:\n${proc.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartOptions {
  netns?: string;
  env?: Record<string, string>;
  /** Print the process output as it comes (debugging). */
  echo?: boolean;
  /** Run dist/ (as shipped) instead of the TypeScript sources; default: whenever dist/ is fresh. */
  compiled?: boolean;
  /** Node flags for this process, instead of IRONLB_NODE_FLAGS. */
  nodeFlags?: string[];
  /** Another build's compiled main.js (a bench's before-and-after run); implies compiled. */
  main?: string;
}

/**
 * Whether dist/ was built after the last change to src/ (then processes run it, as shipped:
 * `.ci/run` builds before the tests). Under ts-node every process and worker thread transpiles
 * its sources at start: at load 14-19 on this 2-core machine that overran the responder worker's
 * 30 s start timeout ("responder worker did not start in time"), where compiled code starts in well
 * under a second. Without a fresh build the sources run, so an edit is never tested stale.
 */
export function distIsFresh(): boolean {
  if (!fs.existsSync(COMPILED_MAIN)) return false;
  const built = fs.statSync(COMPILED_MAIN).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)));
  return newest(path.join(REPO, 'src')) < built;
}

export function startIronlb(args: string[], opts: StartOptions = {}): IronlbProcess {
  // IRONLB_NODE_FLAGS: extra node flags for the child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeFlags = opts.nodeFlags ?? (process.env.IRONLB_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const compiled = opts.compiled ?? distIsFresh();
  const nodeArgs = [...nodeFlags, ...(opts.main ? [opts.main, ...args] : compiled ? [COMPILED_MAIN, ...args] : ['-r', 'ts-node/register/transpile-only', MAIN, ...args])];
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(cmd, argv, {
    cwd: REPO,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    if (opts.echo) process.stderr.write(d);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc: IronlbProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    exited,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(proc);
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}

process.on('exit', () => {
  for (const p of running) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});
