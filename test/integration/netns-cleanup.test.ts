// CI's safety net (scripts/netns-cleanup.sh, run by .ci/run on exit) removes the namespaces its own
// run made and nothing else: a lab or a test run of another checkout on the same machine keeps its
// namespaces and processes. (Before, it took every il* namespace: seen killing the speakers of a
// lab that another checkout was starting while a CI run ended.)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO } from '../harness/processes';

jest.setTimeout(60_000);

const namespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n !== '');
const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

describe('scripts/netns-cleanup.sh', () => {
  // Named as scripts/lib/netns.ts names them: il<pid><hex>-<host>.
  const tag = `il${process.pid % 1000}${Math.random().toString(16).slice(2, 6)}`;
  const mine = `${tag}-mine`;
  const theirs = `${tag}-theirs`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ironlb-cleanup-'));
  const sleepers: ChildProcess[] = [];

  beforeAll(() => {
    for (const ns of [mine, theirs]) {
      execFileSync('ip', ['netns', 'add', ns]);
      const p = spawn('ip', ['netns', 'exec', ns, 'sleep', '300'], { stdio: 'ignore' });
      sleepers.push(p);
    }
  });

  afterAll(() => {
    for (const p of sleepers) p.kill('SIGKILL');
    for (const ns of [mine, theirs]) if (namespaces().includes(ns)) execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops the processes of and removes only the registry's namespaces", async () => {
    // The registry also names a namespace that is gone already and one that is not ours by name.
    const registry = path.join(dir, 'registry');
    writeFileSync(registry, `${mine}\n${tag}-gone\nnot-ours\n${mine}\n`);
    await new Promise((r) => setTimeout(r, 300)); // the sleepers are in their namespaces
    const out = execFileSync('bash', [path.join(REPO, 'scripts', 'netns-cleanup.sh'), registry], { encoding: 'utf8' });
    await new Promise((r) => setTimeout(r, 300));
    expect(namespaces()).not.toContain(mine);
    expect(namespaces()).toContain(theirs);
    expect(alive(sleepers[0])).toBe(false);
    expect(alive(sleepers[1])).toBe(true);
    expect(out).toContain(`removed ${mine}`);
    expect(out).not.toContain(theirs);
  });

  it('does nothing without a registry (the whole machine only with --all)', () => {
    let status = 0;
    try {
      execFileSync('bash', [path.join(REPO, 'scripts', 'netns-cleanup.sh')], { stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    expect(status).toBe(2);
    expect(namespaces()).toContain(theirs);
    expect(alive(sleepers[1])).toBe(true);
  });
});
