// Every L2Lab puts the same address (ROOT_V4) on a veth in the caller's network namespace, so that
// the test process and the speakers in the node namespaces reach one kube-apiserver. Two labs at
// once on one machine would both route the LAN prefix out of the root namespace, and the second
// lab's speakers would never reach their API server (seen in CI: every speaker of a second,
// concurrent e2e run waited for its informers until the start-up timeout). So a lab holds a
// host-wide lock for as long as it exists; a second one waits its turn.
//
// The lock is an flock(1) child that holds the lock while its stdin is open: when this process
// exits, even by SIGKILL, the pipe closes, the child exits and the kernel drops the lock.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT_LAN_LOCK = path.join(os.tmpdir(), 'ironlb-root-lan.lock');
/** How long a lab waits for another to release the host-wide lock before it gives up. */
export const ROOT_LAN_WAIT_MS = 600_000;

export interface HeldLock {
  release(): Promise<void>;
}

/** Who holds the host-wide lab lock now (its holder line), or undefined when it is free. Never waits. */
export async function rootLanHolder(file = ROOT_LAN_LOCK): Promise<string | undefined> {
  const free = await new Promise<boolean>((resolve) => {
    const child = spawn('flock', ['--nonblock', file, 'true'], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code === 0));
    child.on('error', () => resolve(true));
  });
  if (free) return undefined;
  return (await fs.readFile(`${file}.holder`, 'utf8').catch(() => 'holder unknown')).trim();
}

/** Waits (at most `timeoutMs`) for the host-wide lab lock; the error names who holds it. */
export async function lockRootLan(timeoutMs = ROOT_LAN_WAIT_MS, file = ROOT_LAN_LOCK): Promise<HeldLock> {
  const child: ChildProcess = spawn('flock', ['--exclusive', '--timeout', String(Math.ceil(timeoutMs / 1000)), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const locked = await new Promise<boolean>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve(true);
    });
    child.on('exit', () => resolve(false));
    child.on('error', () => resolve(false));
  });
  if (!locked) {
    const holder = await fs.readFile(`${file}.holder`, 'utf8').catch(() => 'unknown');
    throw new Error(`another lab holds ${file} (${holder.trim()}); gave up after ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  // Neither the child nor its pipes keep this process alive (a kept lab's script exits).
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  await fs.writeFile(`${file}.holder`, `pid ${process.pid}: ${process.argv.slice(1).join(' ').slice(0, 200)}\n`).catch(() => undefined);
  return {
    release: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // Unreferenced, the child would not keep this process alive until it has exited: a script
      // awaiting release() would just end there, with its teardown unfinished.
      child.ref();
      child.stdin?.end();
      await exited;
    },
  };
}
