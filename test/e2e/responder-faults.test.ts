// Issue 14 item 5 end to end: a dead or wedged responder worker must not black-hole the node's
// addresses. Three speakers on the namespace LAN, a client probing the address over UDP every
// 10 ms (each node's echo answers with its name). The owner's worker is wedged or crashed through
// the test-only fault switch (IRONLB_TEST_FAULTS names a file saying which fault; SIGUSR2 pulls
// it). The owner must notice within its liveness timeout, withdraw as NO_LAYER2 so that a peer
// takes over (its gratuitous ARP moves the client), fail /healthz while it has no working
// worker, and come back once a new worker runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../harness/kube';
import { L2Lab, LAB_POOL_CONFIG, type NodeHost } from '../harness/l2-lab';
import { lbServiceEverywhere, probedOwner, speakersConverged } from '../harness/l2-scenario';
import { waitForLog, type IronlbProcess } from '../harness/processes';
import { Probe, startEcho } from '../harness/udp-probe';

jest.setTimeout(600_000);

const NS = 'default';
const faultFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ironlb-faults-')), 'fault');
// Read by every speaker started below (the harness passes our environment on).
process.env.IRONLB_TEST_FAULTS = faultFile;

/** Issue 14 item 5: peers take over in < 1 s once the owner withdraws. */
const TAKEOVER_BOUND_MS = 1000;

describe('a dead or wedged responder worker (issue 14 item 5)', () => {
  let l2: L2Lab;
  let probes: Probe[] = [];
  let echoes: ChildProcess[] = [];

  async function startSpeaker(n: NodeHost): Promise<IronlbProcess> {
    const p = l2.startSpeaker(n);
    // Start-up is ts-node compiling the speaker: measured 35 s for one process on this 2-core
    // machine under its usual load, with three speakers and the controller starting at once.
    await waitForLog(p, 'speaker started', 240_000);
    return p;
  }

  beforeAll(async () => {
    l2 = await L2Lab.create();
    await l2.kit.applyConfig('ironlb-system', 'config', LAB_POOL_CONFIG);
    const ctl = l2.startController();
    for (const n of l2.nodes) echoes.push(startEcho(l2, n));
    await waitForLog(ctl, 'caches synced');
    await Promise.all(l2.nodes.map((n) => startSpeaker(n)));
    await speakersConverged(l2, 3, 60_000);
  });

  afterEach(() => {
    for (const p of probes) p.stop();
    probes = [];
  });

  afterAll(async () => {
    for (const e of echoes) e.kill('SIGKILL');
    echoes = [];
    await l2?.destroy();
    fs.rmSync(path.dirname(faultFile), { recursive: true, force: true });
  });

  async function metricsAddress(n: NodeHost): Promise<string> {
    return (await waitForLog(n.speaker as IronlbProcess, 'metrics and health endpoints listening')).address as string;
  }

  interface HealthzSample {
    /** When the request was sent and when its answer (or error) came, ms since the epoch. */
    start: number;
    end: number;
    status: string;
  }

  /**
   * Polls the node's /healthz from inside its namespace, one request every ~5 ms, until the
   * returned stop() is called; resolves to every sample. (Polling through `ip netns exec curl`
   * took ~100 ms per sample and missed the 503 window of a crash, which lasts only as long as a
   * new worker takes to start: seen once in CI.)
   */
  function pollHealthz(n: NodeHost, addr: string): { samples: HealthzSample[]; stop: () => Promise<void> } {
    const script = `const http=require('http');let on=true;process.stdin.on('end',()=>{on=false});process.stdin.resume();
function poll(){if(!on)return process.exit(0);const t=Date.now();const done=(s)=>{process.stdout.write(t+' '+Date.now()+' '+s+'\\n');setTimeout(poll,5)};
const req=http.get(${JSON.stringify(`http://${addr}/healthz`)},{timeout:2000},(res)=>{res.resume();res.on('end',()=>done(String(res.statusCode)))});
req.on('timeout',()=>req.destroy(new Error('timeout')));req.on('error',(e)=>done('000('+(e.code||e.message)+')'))}
poll()`;
    const child = l2.lab.spawn(n, [process.execPath, '-e', script]);
    const samples: HealthzSample[] = [];
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      const lines = (buf + d.toString()).split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const [start, end, status] = l.trim().split(' ');
        if (status) samples.push({ start: Number(start), end: Number(end), status });
      }
    });
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    return {
      samples,
      stop: async () => {
        child.stdin?.end();
        await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
        child.kill('SIGKILL');
      },
    };
  }

  /** The speaker's log records since `t0`, one line each, for the test output. */
  function logSince(n: NodeHost, t0: number, until: number): string {
    const lines = (n.speaker?.logs() ?? []).filter((l) => Date.parse(String(l.ts)) >= t0 - 200 && Date.parse(String(l.ts)) <= until);
    return lines.map((l) => `  ${String(l.ts)} ${String(l.msg)} ${JSON.stringify({ ...l, ts: undefined, msg: undefined, level: undefined, component: undefined, node: undefined })}`).join('\n');
  }

  it.each(['wedge', 'crash'] as const)('a %s of the owner\'s worker: found within 1 s, a peer takes over < 1 s after the withdrawal, /healthz fails meanwhile, the node recovers', async (fault) => {
    const p = new Probe(l2, await lbServiceEverywhere(l2, NS, `rf-${fault}`));
    probes.push(p);
    const old = await probedOwner(l2, p);
    const addr = await metricsAddress(old);
    expect((await l2.lab.exec(old.ns, ['curl', '-sS', '--max-time', '3', `http://${addr}/healthz`])).stdout).toBe('ok');
    // The poller runs (and has seen the node healthy) before the fault.
    const healthz = pollHealthz(old, addr);
    await eventually('/healthz polled from the node namespace', async () => healthz.samples.find((h) => h.status === '200'), 30_000, 20);
    fs.writeFileSync(faultFile, fault);
    const t0 = Date.now();
    old.speaker?.child.kill('SIGUSR2'); // not IronlbProcess.kill(): that waits for an exit
    let failedAt: number;
    let replacedAt: number;
    try {
      const failed = await eventually('the owner to say its worker failed', async () => old.speaker?.logs().find((l) => l.msg === 'responder worker failed: withdrawing as NO_LAYER2 until a new one runs' && Date.parse(String(l.ts)) >= t0), 10_000, 20);
      const withdrawnAt = Date.parse(String(failed.ts));
      // Answered again: by a peer that took over, or by the owner itself when its thread was
      // replaced before the peers moved (the addon's answer thread restarts in milliseconds).
      const r = await eventually(`an answer after the ${fault}`, async () => p.firstAfter(withdrawnAt), 15_000, 20);
      const heir = l2.nodes.find((n) => n.nodeName === r.node) as NodeHost;
      process.stderr.write(`owner ${old.nodeName}:\n${logSince(old, t0, r.t + 200)}\nheir ${heir.nodeName}:\n${logSince(heir, t0, r.t + 200)}\n`);
      process.stderr.write(`responder ${fault}: found after ${withdrawnAt - t0} ms (${String(failed.reason)}); ${r.node} answered the client ${r.t - withdrawnAt} ms later, ${r.t - t0} ms after the fault\n`);
      // Found: the fault's delivery (signal, message to the worker) plus, for a wedge, the
      // liveness timeout (500 ms) and one check (100 ms). A crash that takes the thread longer
      // than that to end is found as a stall first.
      expect(String(failed.reason)).toMatch(fault === 'wedge' ? /no progress/ : /exited|no progress/);
      expect(withdrawnAt - t0).toBeLessThan(1000);
      // Taken over: the NO_LAYER2 heartbeat goes out at once, the peers re-elect on receipt and
      // the heir's gratuitous ARP moves the client (~0.1 s, docs/failover.md).
      expect(r.t - withdrawnAt).toBeLessThan(TAKEOVER_BOUND_MS);
      // A new worker thread compiles its TypeScript first: generous.
      const replaced = await eventually('the worker to be replaced', async () => old.speaker?.logs().find((l) => l.msg === 'responder worker replaced: layer 2 usable again' && Date.parse(String(l.ts)) >= t0), 180_000, 50);
      failedAt = withdrawnAt;
      replacedAt = Date.parse(String(replaced.ts));
      // A few samples after the replacement, so that the poller has seen the node healthy again.
      await eventually('/healthz polled after the replacement', async () => healthz.samples.find((h) => h.start > replacedAt + 2), 30_000, 20);
    } finally {
      await healthz.stop();
    }
    // /healthz fails meanwhile: the speaker logs "failed" just after its state turns unhealthy and
    // "replaced" just after it turns healthy (the same tick, ms-resolution timestamps: 2 ms margin),
    // so every request answered inside [failed, replaced) says 503.
    const inside = healthz.samples.filter((h) => h.start > failedAt + 2 && h.end < replacedAt - 2);
    const after = healthz.samples.filter((h) => h.start > replacedAt + 2);
    process.stderr.write(`/healthz ${fault}: unhealthy for ${replacedAt - failedAt} ms; ${inside.length} samples inside: ${[...new Set(inside.map((h) => h.status))].join(',')}; after: ${[...new Set(after.map((h) => h.status))].join(',')}\n`);
    // A window shorter than a few poll round trips can fall between two samples (the answer
    // thread is replaced within tens of ms); a worker's takes hundreds.
    if (replacedAt - failedAt >= 150) expect(inside.length).toBeGreaterThan(0);
    expect(inside.filter((h) => h.status !== '503')).toEqual([]);
    expect(after.map((h) => h.status)).toContain('200');
    // (The last poll may have begun just before the new worker was in place.)
    expect((await l2.lab.exec(old.ns, ['curl', '-sS', '--max-time', '3', `http://${addr}/healthz`])).stdout).toBe('ok');
    // Back with a working worker, the address hashes to it again and it answers.
    const back = Date.now();
    try {
      await eventually(`${old.nodeName} to answer again`, async () => p.firstFrom(Date.now() - 500, old.nodeName), 20_000, 50);
    } catch (e) {
      const dump = l2.nodes.map((n) => `${n.nodeName}:\n${logSince(n, t0 - 10_000, Date.now())}`).join('\n');
      const leases = await l2.kc.makeApiClient(k8s.CoordinationV1Api).listNamespacedLease({ namespace: 'ironlb-system' }).catch(() => undefined);
      const views = (leases?.items ?? []).map((l) => `${l.metadata?.name}: ${JSON.stringify(l.metadata?.annotations ?? {})}`).join('\n');
      const neigh = (await l2.lab.exec(l2.client.ns, ['ip', 'neigh', 'show'], { allowFailure: true })).stdout;
      throw new Error(`${(e as Error).message} (waiting since ${new Date(back).toISOString()})\nclient neighbours:\n${neigh}\nLeases:\n${views}\n${dump}`);
    }
    const metrics = await l2.lab.exec(old.ns, ['curl', '-s', '--max-time', '3', `http://${addr}/metrics`]);
    const restarts = [...metrics.stdout.matchAll(/^ironlb_layer2_responder_restarts_total\{cause="(?:stalled|exited)"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect(metrics.stdout).toMatch(/ironlb_layer2_responder_healthy 1/);
  });
});
