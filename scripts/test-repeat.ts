// `npm run test:repeat -- FILE [N] [--lock LOCKFILE]`: runs one test file N times (default 10) in a
// row, each run a fresh jest process, and prints a pass/fail count with the failing tests of each
// run. FILE may be a folder (`test/integration`): each run is then one jest process over every file
// in it, and the end prints a passes-per-file table (the repeat matrix in one command). Between runs it removes what a run left behind: the network namespaces that run's test
// helpers registered (IRONLB_NETNS_REGISTRY), never anyone else's. With --lock, each run holds an flock on
// LOCKFILE, so that namespace suites of several checkouts on one machine take turns.
// Exit status: 0 when every run passed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Args {
  file: string;
  runs: number;
  lock?: string;
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  let lock: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--lock') lock = argv[++i];
    else positional.push(argv[i]);
  }
  const [file, n] = positional;
  if (!file) throw new Error('usage: npm run test:repeat -- FILE [N] [--lock LOCKFILE]');
  const runs = n === undefined ? 10 : Number(n);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`N must be a positive integer, not ${n}`);
  return { file, runs, lock };
}

function projectOf(file: string): string {
  const rel = path.relative(process.cwd(), path.resolve(file));
  const m = /^test\/(unit|integration|e2e)(\/|$)/.exec(rel.split(path.sep).join('/'));
  if (!m) throw new Error(`${file} is not under test/unit, test/integration or test/e2e`);
  return m[1];
}

/** Namespaces that still exist, of those the run registered. */
function leftFrom(registry: string): string[] {
  let registered: string[];
  try {
    registered = readFileSync(registry, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
  let present: Set<string>;
  try {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    present = new Set(out.split('\n').map((l) => l.split(' ')[0]));
  } catch {
    return [];
  }
  return [...new Set(registered)].filter((n) => present.has(n));
}

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; status: string; assertionResults: Array<{ fullName: string; status: string }>; message: string }>;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  const project = projectOf(args.file);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ironlb-repeat-'));
  let passes = 0;
  // Per test file: runs in which every test of the file passed, and runs in which the file ran.
  const perFile = new Map<string, { passed: number; ran: number }>();
  try {
    for (let i = 1; i <= args.runs; i++) {
      const json = path.join(dir, `run-${i}.json`);
      const registry = path.join(dir, `run-${i}.netns`);
      const jestArgs = ['jest', args.file, '--selectProjects', project, '--runInBand', '--json', '--outputFile', json];
      const [cmd, argv] = args.lock ? ['flock', [args.lock, 'npx', ...jestArgs]] : ['npx', jestArgs];
      const t0 = Date.now();
      const env = { ...process.env, IRONLB_NETNS_REGISTRY: registry };
      const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      let result: JestJson | undefined;
      try {
        result = JSON.parse(readFileSync(json, 'utf8')) as JestJson;
      } catch {
        result = undefined;
      }
      const failed = result?.testResults.flatMap((t) => t.assertionResults.filter((a) => a.status === 'failed').map((a) => `${path.basename(t.name)} › ${a.fullName}`)) ?? [];
      const ok = r.status === 0 && result !== undefined && result.numFailedTests === 0;
      if (ok) passes++;
      for (const t of result?.testResults ?? []) {
        const rel = path.relative(process.cwd(), t.name);
        const tally = perFile.get(rel) ?? { passed: 0, ran: 0 };
        tally.ran++;
        if (t.status === 'passed') tally.passed++;
        perFile.set(rel, tally);
      }
      const detail = ok ? `${result?.numPassedTests} tests` : failed.length > 0 ? failed.join('; ') : `jest exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`;
      process.stdout.write(`run ${i}/${args.runs}: ${ok ? 'PASS' : 'FAIL'} (${seconds} s) ${detail}\n`);
      if (!ok && result) {
        for (const t of result.testResults) if (t.message) process.stdout.write(`${t.message.split('\n').slice(0, 25).join('\n')}\n`);
      }
      const leftovers = leftFrom(registry);
      for (const ns of leftovers) spawnSync('ip', ['netns', 'del', ns]);
      if (leftovers.length > 0) process.stdout.write(`  removed ${leftovers.length} namespace(s) the run left behind: ${leftovers.join(' ')}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (perFile.size > 1) {
    for (const [file, t] of [...perFile].sort(([a], [b]) => a.localeCompare(b))) process.stdout.write(`  ${file}: ${t.passed}/${args.runs} passed${t.ran < args.runs ? ` (ran in ${t.ran} runs)` : ''}\n`);
  }
  process.stdout.write(`${args.file}: ${passes}/${args.runs} passed\n`);
  return passes === args.runs ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
}
