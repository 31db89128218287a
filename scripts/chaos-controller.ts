// `npm run chaos:controller [-- --services N --seconds S --kill-every MS]`: two controller
// replicas (compiled, leader election on) against a fresh kube-apiserver; a driver creates N
// Services (auto, requested, shared pairs, Local), updates, annotates (also with unparsable
// requests) and deletes them, while the Lease holder is SIGKILLed every --kill-every ms (and
// restarted) for --seconds. An independent checker (scripts/chaos-checker.ts) watches every
// Service and lists them all after each kill. Passes with 0 duplicates, 0 unexplained moves, and
// every pending Service served within 10 s of the last kill. Defaults: 1000 Services, 60 s, 2 s.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { destroyCluster, startCluster } from './lib/kube-cluster';
import { loadKubeConfig } from '../src/k8s/client';
import { Checker } from './chaos-checker';

const REPO = path.join(__dirname, '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SERVICES = arg('services', 1000);
const SECONDS = arg('seconds', 60);
const KILL_EVERY_MS = arg('kill-every', 2000);
/** The bound after the last kill: a Lease duration (3 s) for the standby to take over, and time to list and serve. */
const SERVE_WITHIN_MS = 10_000;
const NAMESPACES = ['chaos-a', 'chaos-b'];
const CONFIG = `address-pools:
- name: auto
  protocol: layer2
  addresses: [198.51.100.0/24, 203.0.113.0/24, 198.18.8.0/22]
- name: fixed
  protocol: layer2
  auto-assign: false
  addresses: [198.18.1.0/24, 198.18.2.0/24]
`;

let seed = 0x2545f491;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Service i: every tenth requests its own address, two share one per ten (same key, other ports), one is Local. */
function serviceFor(i: number): k8s.V1Service {
  const group = Math.floor(i / 10);
  const kind = i % 10;
  const ns = NAMESPACES[group % 2];
  const annotations: Record<string, string> = {};
  let ports = [{ port: 80, protocol: 'TCP' }];
  if (kind === 0) annotations['ironlb.io/loadBalancerIPs'] = `198.18.1.${group % 256}`;
  if (kind === 1 || kind === 2) {
    annotations['ironlb.io/allow-shared-ip'] = `pair-${group}`;
    annotations['ironlb.io/loadBalancerIPs'] = `198.18.2.${group % 256}`;
    ports = [{ port: kind === 1 ? 80 : 443, protocol: 'TCP' }];
  }
  return {
    metadata: { name: `c-${i}`, namespace: ns, annotations },
    spec: { type: 'LoadBalancer', selector: { app: `c-${i}` }, ports, externalTrafficPolicy: kind === 3 ? 'Local' : 'Cluster' },
  };
}

interface Replica {
  identity: string;
  child: ChildProcess;
}

async function main(): Promise<number> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO, stdio: 'inherit' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-chaos-'));
  const replicas = new Map<string, Replica>();
  const stopReplicas = (): void => {
    for (const r of replicas.values()) r.child.kill('SIGKILL');
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stopReplicas();
      void destroyCluster(dir).finally(() => process.exit(130));
    });
  }
  const cluster = await startCluster({ dir, log: (s) => process.stderr.write(`[cluster] ${s}\n`) });
  const kc = loadKubeConfig(cluster.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  let started = 0;
  const startReplica = (): void => {
    const identity = `replica-${++started}`;
    const nodeFlags = (process.env.CHAOS_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
    const args = [...nodeFlags, path.join(REPO, 'dist', 'src', 'cli', 'main.js'), 'controller', '--kubeconfig', cluster.kubeconfig, '--metrics-addr', '127.0.0.1:0', '--identity', identity];
    // The replica writes its log straight to a file: nothing is lost when it is SIGKILLed.
    const logFd = openSync(path.join(dir, `${identity}.log`), 'w');
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', logFd, 'inherit'] });
    closeSync(logFd);
    replicas.set(identity, { identity, child });
    child.on('exit', () => replicas.delete(identity));
  };
  try {
    for (const ns of ['ironlb-system', ...NAMESPACES]) await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({ namespace: 'ironlb-system', body: { metadata: { name: 'config' }, data: { config: CONFIG } } });
    startReplica();
    startReplica();

    const checker = new Checker();
    const informer = k8s.makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    informer.on('add', (s: k8s.V1Service) => checker.see(s));
    informer.on('update', (s: k8s.V1Service) => checker.see(s));
    informer.on('delete', (s: k8s.V1Service) => checker.gone(s));
    await informer.start();

    const counts = { created: 0, updated: 0, invalid: 0, deleted: 0, kills: 0, holders: new Set<string>() };
    const live = new Set<number>();
    const invalid = new Set<number>();
    let running = true;
    const driverStart = Date.now();
    const driver = (async () => {
      let next = 0;
      while (running) {
        const ops: Promise<unknown>[] = [];
        // Creations keep to the schedule (all N within the run), at most 10 at once.
        const due = Math.min(SERVICES, Math.ceil((SERVICES * (Date.now() - driverStart)) / (SECONDS * 1000 * 0.9)));
        while (next < due && ops.length < 10) {
          const i = next++;
          const svc = serviceFor(i);
          ops.push(core.createNamespacedService({ namespace: svc.metadata?.namespace ?? '', body: svc }).then(() => (live.add(i), counts.created++)));
        }
        const pick = [...live][Math.floor(random() * live.size)];
        const svc = pick === undefined ? undefined : serviceFor(pick);
        const name = svc?.metadata?.name ?? '';
        const namespace = svc?.metadata?.namespace ?? '';
        const roll = random();
        const patch = (body: object): Promise<unknown> => core.patchNamespacedService({ name, namespace, body }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
        if (pick !== undefined && roll < 0.25) {
          ops.push(patch({ metadata: { annotations: { 'chaos/tick': String(Date.now()) } } }).then(() => counts.updated++));
        } else if (pick !== undefined && roll < 0.4 && pick % 10 > 3 && (invalid.has(pick) || checker.hasAddress(`${namespace}/${name}`))) {
          // An unparsable request on an auto Service that has an address, later taken back: it must keep its address throughout.
          const on = !invalid.has(pick);
          if (on) invalid.add(pick);
          else invalid.delete(pick);
          ops.push(patch({ metadata: { annotations: { 'ironlb.io/loadBalancerIPs': on ? 'not-an-ip' : null } } }).then(() => counts.invalid++));
        } else if (pick !== undefined && roll < 0.45 && pick % 10 > 3) {
          ops.push(patch({ spec: { ports: [{ port: 8000 + Math.floor(random() * 100), protocol: 'TCP' }] } }).then(() => counts.updated++));
        } else if (pick !== undefined && roll < 0.48 && pick % 10 > 3) {
          live.delete(pick);
          invalid.delete(pick);
          ops.push(core.deleteNamespacedService({ name, namespace }).then(() => counts.deleted++));
        }
        await Promise.all(ops.map((p) => p.catch(() => undefined)));
        await pause(20);
      }
    })();

    const holder = async (): Promise<string> => (await coord.readNamespacedLease({ name: 'ironlb-controller', namespace: 'ironlb-system' }).catch(() => undefined))?.spec?.holderIdentity ?? '';
    const t0 = Date.now();
    let lastKill = t0;
    while (Date.now() - t0 < SECONDS * 1000) {
      await pause(KILL_EVERY_MS);
      const h = await holder();
      if (h) counts.holders.add(h);
      const victim = replicas.get(h);
      if (!victim) continue; // no live leader right now (the last one's Lease has not expired yet)
      victim.child.kill('SIGKILL');
      counts.kills++;
      lastKill = Date.now();
      startReplica();
      checker.snapshot((await core.listServiceForAllNamespaces()).items);
    }
    running = false;
    await driver;
    // Read every Service from the API until none is pending (the watch alone may lag behind).
    let pending: string[] = [];
    while (Date.now() - lastKill < SERVE_WITHIN_MS + 5000) {
      checker.snapshot((await core.listServiceForAllNamespaces()).items);
      pending = checker.pending();
      if (pending.length === 0) break;
      await pause(250);
    }
    const servedAfterMs = Date.now() - lastKill;
    checker.snapshot((await core.listServiceForAllNamespaces()).items);
    pending = checker.pending();
    await informer.stop();

    const ok = checker.duplicates.size === 0 && checker.moves.size === 0 && pending.length === 0 && servedAfterMs <= SERVE_WITHIN_MS;
    process.stdout.write(
      [
        `chaos:controller  ${SERVICES} Services, ${SECONDS} s, leader SIGKILLed every ${KILL_EVERY_MS} ms`,
        `  driver       ${counts.created} created, ${counts.updated} updated, ${counts.invalid} unparsable-request toggles, ${counts.deleted} deleted`,
        `  kills        ${counts.kills} leaders SIGKILLed; ${counts.holders.size} distinct Lease holders seen; ${started} replicas started`,
        `  checker      ${checker.observations} Service versions seen, ${checker.served()} Services served at the end`,
        `  duplicates   ${checker.duplicates.size}${[...checker.duplicates].slice(0, 5).map((d) => `\n    ${d}`).join('')}`,
        `  moves        ${checker.moves.size} unexplained${[...checker.moves].slice(0, 5).map((m) => `\n    ${m}`).join('')}`,
        `  pending      ${pending.length} at the end${pending.length ? ` (${pending.slice(0, 5).join(', ')})` : ''}; all served ${(servedAfterMs / 1000).toFixed(1)} s after the last kill (bound ${SERVE_WITHIN_MS / 1000} s)`,
        ok ? 'PASS' : 'FAIL',
        '',
      ].join('\n'),
    );
    if (!ok && process.env.CHAOS_NODE_FLAGS?.includes('report-on-signal')) {
      for (const r of replicas.values()) r.child.kill('SIGUSR2');
      await pause(3000);
    }
    if (!ok && process.env.CHAOS_KEEP_LOGS) {
      const keep = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-chaos-logs-'));
      for (const f of (await fs.readdir(dir)).filter((n) => n.endsWith('.log'))) await fs.copyFile(path.join(dir, f), path.join(keep, f));
      process.stdout.write(`replica and API server logs kept in ${keep}\n`);
    }
    return ok ? 0 : 1;
  } finally {
    stopReplicas();
    await destroyCluster(dir);
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`chaos:controller failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
