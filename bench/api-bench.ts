// Helpers shared by the benches that run against a real API server (bench:controller, bench:scale).
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { ServiceKit } from '../test/harness/services';
import { Informer } from '../src/k8s/informer';
import { rest } from '../src/k8s/kube';
import { createLogger } from '../src/util/log';
import { ApiStatusWriter } from '../src/controller/api-status-writer';
import { allocatedCondition } from '../src/controller/allocated-condition';
import { stamped } from '../src/controller/status-write';

export async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/**
 * Resolves with the moment a watch has seen all N Services of the namespace with an address.
 * Both phases finish by this same observation, so the baseline pays for it too.
 */
export async function watchServed(kc: k8s.KubeConfig, core: k8s.CoreV1Api, namespace: string, N: number): Promise<{ allServed: Promise<number>; stop: () => void; late: () => boolean }> {
  const served = new Set<string>();
  let settledByList = false;
  let settle: (t: number) => void = () => undefined;
  const allServed = new Promise<number>((r) => (settle = r));
  let done = false;
  const resolve = (t: number): void => {
    if (done) return;
    done = true;
    settle(t);
  };
  // The components' own raw informer (it relists and rewatches by itself after any failure).
  // client-node's informer, used before, went quiet mid-burst even on a nearly idle machine (why
  // was not found), and the run was settled only by the list below, 10-12 s late: a ratio of
  // 0.23x that measured the bench, not the controller.
  const log = createLogger({ level: process.env.BENCH_WATCH_LOG === 'debug' ? 'debug' : 'warn', write: (line) => process.stderr.write(`[bench watch] ${line}\n`) });
  // A watch the server drops mid-burst without ending it (watch-stall.ts) is restarted after 0.5 s
  // of silence instead of the product's 5 s, so such a drop costs the measurement little.
  const informer = new Informer<k8s.V1Service>(kc, `/api/v1/namespaces/${namespace}/services`, { log, watchStall: { burstEvents: 20, windowMs: 1000, quietMs: 500 } });
  const see = (svc: k8s.V1Service): void => {
    if ((svc.status?.loadBalancer?.ingress ?? []).length > 0) served.add(svc.metadata?.name ?? '');
    if (served.size === N) resolve(performance.now());
  };
  informer.on((svc, event) => {
    if (event !== 'delete') see(svc);
  });
  // Should the watch still miss an update, a list every 2 s after 10 s without growth settles it:
  // the time is then late, and the run says so on stderr.
  let lastGrowth = performance.now();
  let lastSize = 0;
  const poll = setInterval(() => {
    if (done) return;
    if (served.size !== lastSize) [lastSize, lastGrowth] = [served.size, performance.now()];
    if (served.size === 0 || performance.now() - lastGrowth < 10_000) return;
    void countServed(core, namespace)
      .then((n) => {
        if (n !== N || done) return;
        process.stderr.write(`[bench] all ${N} Services of ${namespace} served, seen by list; the watch had seen ${served.size}, the last of them ${((performance.now() - lastGrowth) / 1000).toFixed(1)} s ago (the time is late)\n`);
        settledByList = true;
        resolve(performance.now());
      })
      .catch(() => undefined);
  }, 2000);
  await informer.start();
  return {
    allServed,
    /** Settled by the list: the time is up to ~12 s late and measures the bench, not the writer. */
    late: () => settledByList,
    stop: () => {
      clearInterval(poll);
      void informer.stop();
    },
  };
}

export async function countServed(core: k8s.CoreV1Api, ns: string): Promise<number> {
  const list = await core.listNamespacedService({ namespace: ns });
  return list.items.filter((s) => (s.status?.loadBalancer?.ingress ?? []).length > 0).length;
}

export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

/** Current RSS of a process in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Who patches in the bare loop: the raw client with a minimal merge patch (ingress and pool
 * annotation), client-node's CoreV1Api with the same patch, or the controller's own ApiStatusWriter
 * with the controller's patch for a new Service: with the AddressAllocated condition ('writer') or
 * without it ('writer-no-condition', as `--service-conditions=false` writes).
 */
export type BareClient = 'raw' | 'client-node' | 'writer' | 'writer-no-condition';

/**
 * The baseline both benches compare the controller with: N pending LoadBalancer Services in the
 * namespace `bare`, whose status the same client patches `concurrency` at a time (address
 * `ipFor(i)` for the i-th), until a watch has seen them all. Returns the time that took, in ms,
 * and the CPU seconds the `servers` (pids: the API server, etcd) and this process spent meanwhile;
 * the Services are deleted afterwards. `client`: see BareClient.
 */
export async function bareStatusLoop(
  kit: ServiceKit,
  kc: k8s.KubeConfig,
  names: string[],
  ipFor: (i: number) => string,
  concurrency: number,
  servers: number[] = [],
  client: BareClient = 'raw',
): Promise<{ ms: number; cpu: PhaseCpu; late: boolean }> {
  const core = kit.core;
  const ns = client === 'raw' ? 'bare' : client === 'client-node' ? 'bare-client-node' : `bare-${client}`;
  await kit.ensureNamespace(ns);
  await pool(names, 16, (name) => kit.createLB(ns, name));
  // The controller's own writer needs each Service as listed (its resourceVersion guards the
  // patch), as the controller has it from its cache: read before the clock starts, as the
  // controller's list is.
  const listed = new Map<string, k8s.V1Service>();
  if (client !== 'raw' && client !== 'client-node') {
    for (const svc of (await rest(kc).get<k8s.V1ServiceList>(`/api/v1/namespaces/${ns}/services`)).items) listed.set(svc.metadata?.name ?? '', svc);
  }
  const watch = await watchServed(kc, core, ns, names.length);
  const t0 = performance.now();
  const cpu0 = phaseCpu(servers);
  const body = (i: number): object => ({
    metadata: { annotations: { 'ironlb.io/ip-allocated-from-pool': 'bench' } },
    status: { loadBalancer: { ingress: [{ ip: ipFor(i) }] } },
  });
  // The raw client (k8s/rest.ts, one keep-alive agent, no model classes): the API server's cost of
  // the same patches, not a slower client's.
  const raw = rest(kc);
  const writer = new ApiStatusWriter(kc);
  const running = new AbortController().signal;
  setMaxListeners(0, running); // every write in flight listens to it, as to the controller's term
  const patch =
    client === 'raw'
      ? (name: string, i: number) => raw.patch(`/api/v1/namespaces/${ns}/services/${name}/status`, body(i))
      : client === 'client-node'
        ? (name: string, i: number) => core.patchNamespacedServiceStatus({ name, namespace: ns, body: body(i) }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
        : async (name: string, i: number) => {
            // Exactly the write the controller makes for a newly assigned Service: the same patch
            // (ingress, pool annotation, and the AddressAllocated condition unless switched off),
            // the same writer, its resourceVersion guard and deadline.
            const svc = listed.get(name) as k8s.V1Service;
            const outcome = { kind: 'assigned', ips: [ipFor(i)], pool: 'bench', moved: false } as const;
            const want = client === 'writer' ? allocatedCondition(outcome, svc.metadata?.generation) : undefined;
            const desired = { ips: outcome.ips, pool: outcome.pool, ...(want !== undefined && want !== 'remove' ? { condition: want } : {}) };
            const r = await writer.write(svc, stamped(svc, desired, new Date()), running);
            if (!r.ok) throw new Error(`bare write of ${name}: ${r.message}`);
          };
  await pool(names.map((n, i) => [n, i] as const), concurrency, ([name, i]) => patch(name, i));
  const ms = (await watch.allServed) - t0;
  const cpu = phaseCpu(servers, cpu0);
  watch.stop();
  if ((await countServed(core, ns)) !== names.length) throw new Error('bare loop did not patch every Service');
  await pool(names, 16, (name) => core.deleteNamespacedService({ name, namespace: ns }));
  return { ms, cpu, late: watch.late() };
}

/** CPU seconds of some processes and of this one (the bench: its watch, and the bare loop's client). */
export interface PhaseCpu {
  servers: number[];
  bench: number;
}

/** CPU seconds so far, or since `since` when given. */
export function phaseCpu(servers: number[], since?: PhaseCpu): PhaseCpu {
  const now = { servers: servers.map(cpuSeconds), bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 };
  if (!since) return now;
  return { servers: now.servers.map((c, i) => c - since.servers[i]), bench: now.bench - since.bench };
}
