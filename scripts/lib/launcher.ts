// How the lab starts its long-running helpers (kube-proxy, pod servers): a test starts them as
// children of its own process (stopped by the test, or on exit with the namespaces), while
// `npm run lab -- --keep` starts them detached so that they outlive the script (see lab-state.ts).
// Both give the same handle, so L2Lab does not care which.
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns';

export interface Launched {
  readonly name: string;
  readonly pid: number;
  running(): boolean;
  /** The last lines the process printed, for error messages. */
  outputTail(lines?: number): string;
  /** SIGTERM (SIGKILL after `graceMs`); resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `argv` inside network namespace `netns`; `name` is unique per lab (a log name). */
export type Launcher = (name: string, argv: string[], netns: string) => Launched;

const MAX_OUTPUT = 1_000_000;

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function lastLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Children of this process, through Lab.spawn (so Lab.destroy and exit handlers kill them too). */
export function childLauncher(lab: Lab): Launcher {
  return (name, argv, netns) => {
    const child: ChildProcess = lab.spawn(netns, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d: Buffer): void => {
      out += d.toString();
      if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT / 2);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const running = (): boolean => child.exitCode === null && child.signalCode === null;
    return {
      name,
      // `ip netns exec` execs the program in place: this is the program's own pid.
      pid: child.pid ?? -1,
      running,
      outputTail: (lines = 30) => lastLines(out, lines),
      stop: (graceMs = 5000) => stopChild(child, graceMs),
    };
  };
}
