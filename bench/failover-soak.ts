// `npm run bench:failover-soak -- [--minutes 10] [--stall sigstop|hook] [--stall-ms 200] [--cpu 2]
// [--speaker-args "--heartbeat-interval-ms 50 ..."]`: no fault at all, only adversity. The
// three-speaker lab runs one layer-2 Service, the machine is kept busy by `stress-ng --cpu N`, and
// every speaker's main loop is stalled for `--stall-ms` at random every 2-4 s. Nobody dies, so every
// ownership change is spurious. Prints the count of each from the speakers' logs (addresses
// announced, peers declared lost) and from the client probing the Service address every 10 ms
// (changes of the answering node). Expected: 0.
//
// Stalls: `hook` (default) sends SIGUSR2 with IRONLB_DEBUG_STALL_MS set (src/util/debug-stall.ts):
// the main loop busy-waits while the worker threads run on, as in a long GC or a burst of work.
// `sigstop` stops the whole process (SIGSTOP, SIGCONT after --stall-ms): every thread, as when the
// host itself stalls; the heartbeats stop too, so this measures how long a silence detection
// tolerates. The last line is machine-readable: `spurious_moves=… membership_losses=… client_owner_changes=…`.
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { L2Lab, LAB_POOL_CONFIG } from '../test/harness/l2-lab';
import { eventually } from '../test/harness/kube';
import { waitForLog } from '../test/harness/processes';
import { Probe, startEcho } from '../test/harness/udp-probe';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const MINUTES = Number(flag('minutes', '10'));
const STALL = flag('stall', 'hook');
const STALL_MS = Number(flag('stall-ms', '200'));
const CPU = Number(flag('cpu', '2'));
const SPEAKER_ARGS = flag('speaker-args', '').split(' ').filter((a) => a !== '');
if (STALL !== 'hook' && STALL !== 'sigstop') throw new Error('--stall is hook or sigstop');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Log = { msg?: string; left?: string[]; service?: string };

async function main(): Promise<void> {
  const l2 = await L2Lab.create();
  const echoes = l2.nodes.map((n) => startEcho(l2, n));
  let stress: ChildProcess | undefined;
  let stop = false;
  const cleanup = async (): Promise<void> => {
    stop = true;
    // Only what this run started: its stress-ng (by pid), its echoes, its lab.
    if (stress?.pid) process.kill(stress.pid, 'SIGKILL');
    for (const n of l2.nodes) if (n.speaker && STALL === 'sigstop') n.speaker.child.kill('SIGCONT');
    for (const e of echoes) e.kill('SIGKILL');
    await l2.destroy();
  };
  const interrupted = (): void => void cleanup().finally(() => process.exit(130));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, interrupted);
  try {
    await l2.kit.applyConfig('ironlb-system', 'config', LAB_POOL_CONFIG);
    await waitForLog(l2.startController(), 'caches synced');
    const env = STALL === 'hook' ? { IRONLB_DEBUG_STALL_MS: String(STALL_MS) } : undefined;
    await Promise.all(l2.nodes.map((n) => waitForLog(l2.startSpeaker(n, SPEAKER_ARGS, env), 'speaker started')));
    await eventually('every speaker to see all three', async () =>
      l2.nodes.every((n) => {
        const changes = (n.speaker?.logs() ?? []).filter((l) => l.msg === 'speaker membership changed') as Array<{ alive?: string[] }>;
        return changes[changes.length - 1]?.alive?.length === 3;
      }) ? true : undefined, 30_000, 100);
    await l2.kit.createLB('default', 'soak', { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: 'soak' } });
    await l2.setEndpoints('default', 'soak', l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs('default', 'soak');
    await l2.addServiceAddressEverywhere([ip]);
    const probe = new Probe(l2, ip);
    const owner = await eventually('a stable owner', async () => probe.stableOwner(1000), 30_000, 50);
    await sleep(2000); // past the start-up hand-overs and the first rhythm samples
    const marks = new Map(l2.nodes.map((n) => [n.nodeName, n.speaker?.logs().length ?? 0]));
    const t0 = Date.now();
    stress = spawn('stress-ng', ['--cpu', String(CPU), '--timeout', `${MINUTES * 60 + 30}s`, '--quiet'], { stdio: 'ignore' });
    process.stderr.write(`soak: ${MINUTES} min, owner ${owner}, stress-ng --cpu ${CPU} (pid ${stress.pid}), ${STALL} stalls of ${STALL_MS} ms every 2-4 s per speaker, speaker args [${SPEAKER_ARGS.join(' ')}]\n`);
    let stalls = 0;
    const stallers = l2.nodes.map(async (n) => {
      while (!stop && Date.now() - t0 < MINUTES * 60_000) {
        await sleep(2000 + Math.random() * 2000);
        const child = n.speaker?.child;
        if (!child || stop) return;
        stalls++;
        if (STALL === 'hook') child.kill('SIGUSR2');
        else {
          child.kill('SIGSTOP');
          await sleep(STALL_MS);
          child.kill('SIGCONT');
        }
      }
    });
    const progress = setInterval(() => process.stderr.write(`  ${Math.round((Date.now() - t0) / 1000)} s, ${stalls} stalls\n`), 60_000);
    await Promise.all(stallers);
    clearInterval(progress);
    await sleep(1000);
    probe.stop();
    let moves = 0;
    let losses = 0;
    for (const n of l2.nodes) {
      const logs = (n.speaker?.logs() ?? []).slice(marks.get(n.nodeName)) as Log[];
      for (const l of logs) {
        if (l.msg === 'serviceAnnounced') moves++;
        if (l.msg === 'speaker membership changed' && (l.left?.length ?? 0) > 0) {
          losses++;
          process.stderr.write(`  ${n.nodeName}: ${JSON.stringify(l)}\n`);
        }
      }
    }
    const answered = probe.replies.filter((r) => r.t >= t0);
    let ownerChanges = 0;
    for (let i = 1; i < answered.length; i++) if (answered[i].node !== answered[i - 1].node) ownerChanges++;
    const { sent, lost } = probe.losses(t0, Date.now() - 1000);
    // The speakers' memory after the soak: VmRSS (RssFile) in MiB, as bench:memory reads it.
    const rss = l2.nodes.map((n) => `${n.nodeName}=${speakerRss(n.speaker?.child.pid)}`).join(' ');
    // Answers an answer thread withheld because its main loop overran the answer window (docs/failover.md).
    const withheld: string[] = [];
    for (const n of l2.nodes) {
      const addr = (n.speaker?.logs() ?? []).find((l) => l.msg === 'metrics and health endpoints listening')?.address;
      const text = addr ? (await l2.lab.exec(n.ns, ['curl', '-s', '--max-time', '3', `http://${String(addr)}/metrics`], { allowFailure: true })).stdout : '';
      withheld.push(`${n.nodeName}=${/^ironlb_layer2_answers_withheld_total (\d+)$/m.exec(text)?.[1] ?? '?'}`);
    }
    process.stdout.write(
      `bench:failover-soak ${MINUTES} min, ${stalls} stalls (${STALL}, ${STALL_MS} ms), stress-ng --cpu ${CPU}, speaker args [${SPEAKER_ARGS.join(' ')}]\n` +
        `client probes ${sent}, lost ${lost.length}, longest gap ${probe.longestGap(t0, Date.now() - 1000)} ms\n` +
        `speaker VmRSS (RssFile) MiB after the soak: ${rss}\n` +
        `answers withheld (main loop past the answer window): ${withheld.join(' ')}\n` +
        `spurious_moves=${moves} membership_losses=${losses} client_owner_changes=${ownerChanges}\n`,
    );
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, interrupted);
    await cleanup();
  }
}

function speakerRss(pid: number | undefined): string {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mib = (key: string): string => (Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN) / 1024).toFixed(1);
    return `${mib('VmRSS')} (${mib('RssFile')})`;
  } catch {
    return '?';
  }
}

main().catch((e) => {
  process.stderr.write(`bench:failover-soak failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
