// `npm run bench:failover [-- TRIALS]`: three node namespaces, a client probing the Service
// address over UDP every 10 ms; TRIALS (default 20) SIGKILLs of the owning speaker and TRIALS cuts
// of its link, first with heartbeats (the default), then Lease-only (`--heartbeat=false`) as the
// baseline. Prints, per kind and mode, the time until a new node answers the client and the
// longest gap the client saw, p50/p90/max.
import { L2Lab, LAB_POOL_CONFIG, type NodeHost } from '../test/harness/l2-lab';
import { eventually } from '../test/harness/kube';
import { waitForLog } from '../test/harness/processes';
import { Probe, startEcho } from '../test/harness/udp-probe';

const TRIALS = Number(process.argv[2] ?? process.env.BENCH_TRIALS ?? 20);

type Kind = 'SIGKILL' | 'link cut';
interface Sample {
  takeoverMs: number;
  gapMs: number;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function converged(l2: L2Lab): Promise<void> {
  await eventually('every speaker to see all three', async () =>
    l2.nodes.every((n) => {
      const changes = (n.speaker?.logs() ?? []).filter((l) => l.msg === 'speaker membership changed');
      const last = changes[changes.length - 1] as { alive?: string[] } | undefined;
      return last?.alive?.length === 3;
    }) ? true : undefined, 30_000, 100);
}

/** What the survivors' detectors said when they dropped `lost` (silence and deadline, ms). */
function detection(l2: L2Lab, lost: string): string {
  const seen: string[] = [];
  for (const n of l2.nodes) {
    if (n.nodeName === lost) continue;
    const changes = (n.speaker?.logs() ?? []).filter((l) => l.msg === 'speaker membership changed') as Array<{ left?: string[]; silence?: Record<string, { silentMs: number; deadlineMs: number }> }>;
    const drop = [...changes].reverse().find((c) => c.left?.includes(lost));
    const s = drop?.silence?.[lost];
    if (s) seen.push(`${n.nodeName} ${s.silentMs}/${s.deadlineMs}`);
  }
  return seen.length > 0 ? ` (silent/deadline ms: ${seen.join(', ')})` : '';
}

async function runMode(mode: 'heartbeat' | 'lease-only'): Promise<Map<Kind, Sample[]>> {
  const args = mode === 'heartbeat' ? [] : ['--heartbeat=false'];
  const l2 = await L2Lab.create();
  const echoes = l2.nodes.map((n) => startEcho(l2, n));
  // Interrupted (Ctrl-C, a timeout): still stop exactly what this run started, servers included.
  const interrupted = (): void => {
    for (const e of echoes) e.kill('SIGKILL');
    void l2.destroy().finally(() => process.exit(130));
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, interrupted);
  const results = new Map<Kind, Sample[]>([['SIGKILL', []], ['link cut', []]]);
  try {
    await l2.kit.applyConfig('ironlb-system', 'config', LAB_POOL_CONFIG);
    await waitForLog(l2.startController(), 'caches synced');
    await Promise.all(l2.nodes.map((n) => waitForLog(l2.startSpeaker(n, args), 'speaker started')));
    await converged(l2);
    await l2.kit.createLB('default', 'bench', { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: 'bench' } });
    await l2.setEndpoints('default', 'bench', l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs('default', 'bench');
    await l2.addServiceAddressEverywhere([ip]);
    const probe = new Probe(l2, ip);
    for (const kind of ['SIGKILL', 'link cut'] as Kind[]) {
      for (let i = 0; i < TRIALS; i++) {
        const ownerName = await eventually('a stable owner', async () => probe.stableOwner(500), 30_000, 50);
        const owner = l2.nodes.find((n) => n.nodeName === ownerName) as NodeHost;
        const t0 = Date.now();
        if (kind === 'SIGKILL') await owner.speaker?.kill('SIGKILL');
        else await l2.lab.ip(owner.ns, ['link', 'set', 'eth0', 'down']);
        const reply = await eventually('a new owner', async () => probe.firstOther(t0, ownerName), 30_000, 10);
        await new Promise((r) => setTimeout(r, 300));
        const sample = { takeoverMs: reply.t - t0, gapMs: probe.longestGap(t0 - 100, reply.t + 300) };
        results.get(kind)?.push(sample);
        if (process.env.BENCH_DUMP && (sample.takeoverMs > 1500 || sample.takeoverMs < 200)) {
          const { writeFileSync } = await import('node:fs');
          const file = `${process.env.BENCH_DUMP}-${mode}-${kind.replace(' ', '-')}-${i + 1}.log`;
          writeFileSync(file, `fault at ${new Date(t0).toISOString()} on ${ownerName}\n` + l2.nodes.map((n) => `== ${n.nodeName}\n${n.speaker?.output() ?? ''}`).join('\n'));
        }
        process.stderr.write(`  ${mode} ${kind} #${i + 1}: new owner after ${sample.takeoverMs} ms, longest client gap ${sample.gapMs} ms${detection(l2, ownerName)}\n`);
        if (kind === 'SIGKILL') await waitForLog(l2.startSpeaker(owner, args), 'speaker started');
        else await l2.lab.ip(owner.ns, ['link', 'set', 'eth0', 'up']);
        await converged(l2);
        // Let the hand-back to the returning node finish, so that the next trial's "owner" (the
        // node answering the client) is the elected one and not the interim one on its way out.
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    probe.stop();
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, interrupted);
    for (const e of echoes) e.kill('SIGKILL');
    await l2.destroy();
  }
  return results;
}

async function main(): Promise<void> {
  const only = process.env.BENCH_MODE; // 'heartbeat' or 'lease-only' to run one mode (debugging)
  const modes = {
    heartbeat: only === 'lease-only' ? new Map<Kind, Sample[]>() : await runMode('heartbeat'),
    'lease-only': only === 'heartbeat' ? new Map<Kind, Sample[]>() : await runMode('lease-only'),
  };
  const row = (label: string, xs: number[]): string =>
    `${label.padEnd(34)} ${String(pct(xs, 50)).padStart(6)} ${String(pct(xs, 90)).padStart(6)} ${String(Math.max(...xs)).padStart(6)}`;
  const out = [`bench:failover  ${TRIALS} trials per kind; client UDP probe every 10 ms; lease duration 3 s, renew 1 s (lab settings)`, `${''.padEnd(34)} ${'p50'.padStart(6)} ${'p90'.padStart(6)} ${'max'.padStart(6)}  (ms)`];
  for (const kind of ['SIGKILL', 'link cut'] as Kind[]) {
    for (const [mode, res] of Object.entries(modes)) {
      const s = res.get(kind) ?? [];
      if (s.length === 0) continue;
      out.push(row(`${kind}, ${mode}: new owner`, s.map((x) => x.takeoverMs)));
      out.push(row(`${kind}, ${mode}: client outage`, s.map((x) => x.gapMs)));
    }
    const hb = pct((modes.heartbeat.get(kind) ?? []).map((x) => x.takeoverMs), 50);
    const lo = pct((modes['lease-only'].get(kind) ?? []).map((x) => x.takeoverMs), 50);
    if (hb && lo) out.push(`${kind}: Lease-only / heartbeat takeover p50 = ${(lo / hb).toFixed(1)}x`);
  }
  out.push('(After a SIGKILL the node itself stays up and keeps forwarding, so clients see almost no outage;');
  out.push(' "new owner" is the failover time that matters when the whole node dies.)');
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench:failover failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
