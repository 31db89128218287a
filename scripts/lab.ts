// `npm run lab`: the seed's MetalLB tutorial, end to end, on this machine. Builds a LAN of network
// namespaces (3 nodes, 1 client) with a real kube-apiserver on it and a real kube-proxy (iptables
// mode) in every node, applies config/example-config.yaml (its pool mapped into the lab's
// subnet), starts the controller and one speaker per node with the manifests' settings, starts
// three nginx-like pods (one per node, each in its own namespace behind its node), creates the
// seed's nginx-metallb Service and shows kubectl get svc, ping, the announcing node, and curl
// answered by a pod: client → ironlb's ARP answer → node → kube-proxy's rules → pod.
//
//   npm run lab              run, print, tear everything down
//   npm run lab -- --crds    the same from MetalLB v0.13+ objects (IPAddressPool, L2Advertisement,
//                            converted from the example config by `ironlb migrate`'s function)
//                            instead of the ConfigMap; shows ServiceL2Status and the pool's status
//   npm run lab -- --keep    leave it running (state in .lab/state.json, logs in .lab/)
//   npm run lab -- --down    remove what a --keep run (or a crashed run) left behind
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { ensureHeartbeatSecret } from '../src/speaker/membership/heartbeat-store';
import { loadLiveState } from '../src/cli/live-state';
import { buildStatus, formatStatus } from '../src/cli/status-command';
import { kubeBinDir } from './lib/kube-cluster';
import { kubeProxyBinary, natRules, podCidr } from './lib/kube-proxy';
import { L2Lab, LAN_V4_PREFIX, ROOT_V4, type NodeHost } from './lib/l2-lab';
import { rootLanHolder } from './lib/root-lan-lock';
import { LAB_RANGE, REPO, labConfig, manifestSettings, withFlag } from './lib/lab-config';
import { LAB_DIR, STATE_FILE, StepError, detachedLauncher, down, killSync, startDetached, tail, teardown, writeState, type LabState, type Out } from './lib/lab-state';
import { haveProgram, labUnavailableReason } from './lib/netns';
import { applyLabObjects, crStatusViews, describeRules, indent, labObjects, waitForLogLine } from './lib/lab-output';
import type { LabPod } from './lib/pods';
import { eventually } from './lib/wait';

const run = promisify(execFile);

const MAIN = path.join(REPO, 'src', 'cli', 'main.ts');
const EXAMPLE_CONFIG = path.join(REPO, 'config', 'example-config.yaml');
const SERVICE = { namespace: 'default', name: 'nginx-metallb', port: 8090, targetPort: 80, app: 'nginx' };
const STEPS = 10;
/** Requests sent after the first curl, to show kube-proxy spreading them over the pods. */
const SPREAD_REQUESTS = 12;

function ironlbArgv(args: string[]): string[] {
  return [process.execPath, '-r', require.resolve('ts-node/register/transpile-only'), MAIN, ...args];
}

export async function lab(argv: string[], out: Out = (s) => process.stdout.write(s)): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out('usage: npm run lab [-- --crds] [-- --keep | --down]\n  (no flag)  run the seed flow and tear down\n  --crds     configure with metallb.io objects (IPAddressPool, L2Advertisement) instead of the ConfigMap\n  --keep     leave the lab running (state in .lab/state.json)\n  --down     remove what --keep left\n');
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--keep' && a !== '--down' && a !== '--crds');
  if (unknown.length > 0) {
    out(`lab: unknown argument ${unknown[0]} (use --crds, --keep or --down)\n`);
    return 2;
  }
  if (argv.includes('--down')) return down(out);
  const keep = argv.includes('--keep');
  const crds = argv.includes('--crds');
  const t0 = Date.now();
  const state: LabState = { createdAt: new Date().toISOString(), kept: false, namespaces: [], nodes: [], processes: [] };
  let l2: L2Lab | undefined;
  let finished = false;

  // Whatever happens (exception, Ctrl-C), leave nothing behind unless --keep succeeded. Registered
  // before the Lab's own handlers, so that ours run first.
  const onSignal = (): void => {
    out('\ninterrupted: cleaning up\n');
    killSync(state);
    process.exit(130);
  };
  const onExit = (): void => {
    if (!finished && !state.kept && existsSync(STATE_FILE)) killSync(state);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', onExit);

  let n = 0;
  async function step<T>(title: string, fn: () => Promise<T>, logs: () => string[] = () => []): Promise<T> {
    n++;
    out(`[${n}/${STEPS}] ${title}... `);
    const s0 = Date.now();
    try {
      const v = await fn();
      out(`ok (${((Date.now() - s0) / 1000).toFixed(1)} s)\n`);
      return v;
    } catch (e) {
      out('FAILED\n');
      const extra = e instanceof StepError ? e.logs : [];
      throw new StepError(`[${n}/${STEPS}] ${title}`, e instanceof Error ? e.message : String(e), [...new Set([...extra, ...logs()])]);
    }
  }
  const logsOf = (prefix: string) => (): string[] => state.processes.filter((p) => p.name.startsWith(prefix)).map((p) => p.log);

  const kubectl = path.join(kubeBinDir(), 'kubectl');
  let busyWith: string | undefined;
  try {
    await step('checking prerequisites (root, iproute2, iptables, ping, curl, arping, kube-apiserver, kube-proxy, native addon)', async () => {
      const reason = labUnavailableReason();
      if (reason) throw new Error(`${reason}: run as root on Linux after \`npm run setup\``);
      for (const tool of ['arping', 'curl', 'ping', 'openssl', 'etcd', 'iptables', 'iptables-save']) if (!haveProgram(tool)) throw new Error(`${tool} is missing: run \`npm run setup\``);
      for (const bin of [kubectl, path.join(kubeBinDir(), 'kube-apiserver'), kubeProxyBinary()]) {
        if (!existsSync(bin)) throw new Error(`${bin} is not built: run \`npm run setup\` (or npm run cluster -- install)`);
      }
      if (!existsSync(path.join(REPO, 'native', 'build', 'Release', 'ironlb_native.node'))) throw new Error('the native addon is not built: run `npm run setup` (or npm run build:native)');
      if (existsSync(STATE_FILE)) throw new Error(`a lab is already up (or was left over): ${STATE_FILE} exists; run \`npm run lab -- --down\` first`);
      // A lab that runs (an e2e test, another `npm run lab`) holds the host-wide lock while its
      // address is up: the next step waits for it. A kept lab holds the address without the lock.
      busyWith = await rootLanHolder();
      const addrs = (await run('ip', ['-j', '-4', 'addr'])).stdout;
      if (!busyWith && addrs.includes(`"${ROOT_V4}"`)) throw new Error(`${ROOT_V4} is already on an interface here: a kept lab of another checkout? (its \`npm run lab -- --down\` removes it)`);
      await fs.mkdir(LAB_DIR, { recursive: true });
      for (const f of readdirSync(LAB_DIR)) if (f.endsWith('.log')) rmSync(path.join(LAB_DIR, f));
      writeState(state);
    });

    const clusterDir = path.join(LAB_DIR, 'cluster');
    state.clusterDir = clusterDir;
    writeState(state);
    const recordLan = (lan: L2Lab): void => {
      state.namespaces = lan.namespaces;
      state.pods = lan.pods.map((p) => ({ name: p.name, namespace: p.namespace, node: p.node.nodeName, ip: p.ip, netns: p.host.ns }));
      writeState(state);
    };
    if (busyWith) out(`      another lab is running (${busyWith}): the next step waits until it ends (at most 10 min)\n`);
    l2 = await step(
      `building the LAN (bridge, node1-3, client), kube-apiserver v1.20.2 on ${ROOT_V4}, kube-proxy (iptables mode) in each node`,
      async () => {
        const created = await L2Lab.create({ clusterDir, backends: false, kubeProxy: true, launcher: detachedLauncher(state) });
        state.rootInterface = created.rootInterface;
        state.kubeconfig = created.cluster.kubeconfig;
        state.clientNamespace = created.client.ns;
        state.nodes = created.nodes.map((x) => ({ name: x.nodeName, namespace: x.ns, ipv4: x.ipv4, mac: x.mac }));
        recordLan(created);
        return created;
      },
      () => [path.join(clusterDir, 'apiserver.log'), path.join(clusterDir, 'etcd.log'), ...logsOf('kube-proxy')()],
    );
    const lan = l2;
    const core = lan.kc.makeApiClient(k8s.CoreV1Api);
    for (const node of lan.nodes) out(`    ${node.nodeName}: ${node.ipv4} ${node.mac} (netns ${node.ns}), pods ${podCidr(node.index)}, kube-proxy pid ${node.kubeProxy?.pid}\n`);
    out(`    client: ${lan.client.ipv4} (netns ${lan.client.ns})\n`);

    const cfg = labConfig(await fs.readFile(EXAMPLE_CONFIG, 'utf8'));
    if (crds) {
      const objects = labObjects(cfg.text, cfg.namespace);
      const shown = await step(`installing manifests/crds and applying config/example-config.yaml as metallb.io objects in ${cfg.namespace} (ironlb migrate)`, () =>
        applyLabObjects(kubectl, lan.cluster.kubeconfig, objects, cfg.namespace),
      );
      out(`    $ ironlb migrate config/example-config.yaml | kubectl apply -f -\n${indent(objects)}    $ kubectl get ipaddresspools,l2advertisements -n ${cfg.namespace}\n${indent(shown)}`);
    } else {
      await step(`applying config/example-config.yaml as ConfigMap ${cfg.namespace}/${cfg.name}`, async () => {
        await lan.kit.applyConfig(cfg.namespace, cfg.name, cfg.text);
      });
    }
    out(`    pool "${cfg.pool}" ${cfg.originalRanges.join(', ')} is mapped into ${LAB_RANGE} inside the lab (${cfg.size} addresses on the LAN ${LAN_V4_PREFIX}.0/24)\n`);

    const ctl = manifestSettings('controller');
    const spk = manifestSettings('speaker');
    await step(
      `starting the controller (${ctl.source}: ${ctl.args.join(' ')})`,
      async () => {
        // The metrics port moves off :7472 because the controller shares this machine's network namespace.
        const args = withFlag(withFlag(ctl.args, 'metrics-addr', '127.0.0.1:0'), 'identity', 'ironlb-controller-lab');
        const proc = startDetached(state, 'controller', ironlbArgv(['controller', '--kubeconfig', lan.cluster.kubeconfig, `--config-namespace=${cfg.namespace}`, `--config-name=${cfg.name}`, ...args]), MAIN, undefined);
        await waitForLogLine(proc, 'allocator rebuilt from Service status');
      },
      logsOf('controller'),
    );

    await step(
      `starting ${lan.nodes.length} speakers, one per node namespace (${spk.source}: ${spk.args.join(' ')})`,
      async () => {
        // The heartbeat key, created as docs/install.md does it (speakers may only read it); the
        // lab's L2Lab made it in its own namespace, this is the manifests' namespace.
        await lan.kit.ensureNamespace(spk.namespace);
        await ensureHeartbeatSecret(core, spk.namespace);
        const procs = lan.nodes.map((node) => {
          const args = ['speaker', '--kubeconfig', lan.cluster.kubeconfig, `--node-name=${node.nodeName}`, `--node-address=${node.ipv4 ?? ''}`, `--namespace=${spk.namespace}`, `--config-name=${cfg.name}`, ...spk.args];
          return startDetached(state, `speaker-${node.nodeName}`, ironlbArgv(args), MAIN, node.ns);
        });
        await Promise.all(procs.map((p) => waitForLogLine(p, 'speaker started')));
      },
      logsOf('speaker'),
    );

    const pods = await step(
      `starting pods ${lan.nodes.map((_, i) => `${SERVICE.app}-${i}`).join(', ')} (app: ${SERVICE.app}, one per node, each in its own namespace routed behind its node), marked Ready by the lab's kubelet`,
      async () => {
        const made: LabPod[] = [];
        for (const [i, node] of lan.nodes.entries()) made.push(await lan.addPod(node, { name: `${SERVICE.app}-${i}`, labels: { app: SERVICE.app }, port: SERVICE.targetPort }));
        recordLan(lan);
        return made;
      },
      logsOf('pod-'),
    );
    for (const p of pods) out(`    ${p.name}: ${p.ip}:${p.port} on ${p.node.nodeName} (netns ${p.host.ns})\n`);

    const ip = await step(
      `creating Service ${SERVICE.namespace}/${SERVICE.name} (LoadBalancer, ${SERVICE.port}->${SERVICE.targetPort}, selector app: ${SERVICE.app}); its EndpointSlice lists the Ready pods`,
      async () => {
        await core.createNamespacedService({
          namespace: SERVICE.namespace,
          body: {
            metadata: { name: SERVICE.name, namespace: SERVICE.namespace },
            spec: { type: 'LoadBalancer', selector: { app: SERVICE.app }, ports: [{ port: SERVICE.port, protocol: 'TCP', targetPort: SERVICE.targetPort }] },
          },
        });
        await lan.syncEndpoints(SERVICE.namespace);
        const got = await eventually('an EXTERNAL-IP', async () => (await core.readNamespacedService({ name: SERVICE.name, namespace: SERVICE.namespace })).status?.loadBalancer?.ingress?.map((i) => i.ip ?? '').filter(Boolean)[0], 30_000, 200);
        state.externalIP = got;
        writeState(state);
        return got;
      },
      logsOf('controller'),
    );
    out(`    $ kubectl get svc\n${indent((await run(kubectl, ['--kubeconfig', lan.cluster.kubeconfig, 'get', 'svc', '-n', SERVICE.namespace])).stdout)}`);
    out(`    $ kubectl get pods -o wide\n${indent((await run(kubectl, ['--kubeconfig', lan.cluster.kubeconfig, 'get', 'pods', '-o', 'wide', '-n', SERVICE.namespace])).stdout)}`);

    const rules = await step(
      `waiting for kube-proxy to program ${ip}:${SERVICE.port} on every node (iptables-save -t nat)`,
      async () => {
        const want = pods.map((p) => `${p.ip}:${p.port}`).sort();
        // kube-proxy applies a change within --iptables-min-sync-period (1 s) of seeing it.
        return Promise.all(lan.nodes.map((node) => eventually(`kube-proxy's rules for ${ip} on ${node.nodeName}`, async () => {
          const r = describeRules(await natRules(node.ns), ip, SERVICE.port, SERVICE);
          return r.entry && want.every((t) => r.targets.includes(t)) ? r : undefined;
        }, 30_000, 250)));
      },
      logsOf('kube-proxy'),
    );
    out(`    ${rules[0].entry}\n    DNAT targets on every node: ${rules[0].targets.join(' ')}\n`);

    const who = await step(
      'finding the announcing node (arping from the client, nodeAssigned Event) and the pool usage',
      async () => {
        const mac = await eventually('exactly one MAC answering ARP', async () => {
          const r = await lan.lab.exec(lan.client, ['arping', '-c', '2', '-w', '4', '-I', 'eth0', ip], { allowFailure: true, timeoutMs: 10_000 });
          const macs = [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
          return macs.length === 1 ? macs[0] : undefined;
        }, 20_000, 200);
        const node = lan.nodeByMac(mac);
        const event = await eventually('a nodeAssigned Event', async () => {
          const evs = await core.listNamespacedEvent({ namespace: SERVICE.namespace, fieldSelector: `involvedObject.name=${SERVICE.name},reason=nodeAssigned` });
          return evs.items.sort((a, b) => String(b.lastTimestamp ?? '').localeCompare(String(a.lastTimestamp ?? '')))[0];
        }, 15_000, 200);
        const live = await loadLiveState({ kc: lan.kc, configNamespace: cfg.namespace, configName: cfg.name, namespace: spk.namespace });
        // The tutorial pings the address; with kube-proxy in iptables mode nothing answers ICMP
        // for it (only the Service's ports are translated), exactly as with MetalLB. Shown, not required.
        const ping = await lan.lab.exec(lan.client, ['ping', '-c', '1', '-W', '1', ip], { allowFailure: true, timeoutMs: 10_000 });
        const pingSummary = /\d+ packets transmitted, \d+ received/.exec(ping.stdout)?.[0] ?? ping.stdout.trim();
        return { mac, node, event, pingSummary, status: formatStatus(buildStatus(live), live.now) };
      },
      logsOf('speaker'),
    );
    out(`    arping ${ip}: answered by ${who.mac} = ${who.node?.nodeName ?? 'an unknown MAC'} (${who.node?.ipv4 ?? '?'})\n`);
    out(`    nodeAssigned Event: ${who.event.message} (source ${who.event.source?.component}/${who.event.source?.host})\n`);
    out(`    $ ironlb status\n${indent(who.status)}`);
    if (crds) {
      const views = await crStatusViews(kubectl, lan.cluster.kubeconfig, cfg.namespace, who.node?.nodeName ?? '');
      out(`    $ kubectl get servicel2status -A -o wide\n${indent(views.l2Status)}    $ kubectl get ipaddresspool -n ${cfg.namespace} -o yaml\n${indent(views.pools)}`);
    }
    out(`    ping -c 1 ${ip}: ${who.pingSummary} (kube-proxy's iptables mode forwards only the Service's ports, as with MetalLB: check with arping and curl)\n`);

    const curl = await step(
      `curl http://${ip}:${SERVICE.port} from the client: ${who.node?.nodeName ?? 'the ARP owner'} → kube-proxy's DNAT → a pod`,
      async () => {
        const get = async (): Promise<string> => {
          const r = await lan.lab.exec(lan.client, ['curl', '-s', '--max-time', '5', `http://${ip}:${SERVICE.port}/`], { allowFailure: true, timeoutMs: 10_000 });
          if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr.trim()}`);
          return r.stdout.trim();
        };
        const first = await get();
        const spread = new Map<string, number>();
        for (let i = 0; i < SPREAD_REQUESTS; i++) {
          const who2 = await get();
          spread.set(who2, (spread.get(who2) ?? 0) + 1);
        }
        return { first, spread };
      },
      () => [...logsOf('speaker')(), ...logsOf('kube-proxy')(), ...logsOf('pod-')()],
    );
    const answering = pods.find((p) => p.name === curl.first);
    const owner: NodeHost | undefined = who.node;
    out(`    $ curl http://${ip}:${SERVICE.port}\n    ${curl.first}    <- pod ${curl.first} (${answering?.ip ?? '?'} on ${answering?.node.nodeName ?? '?'}), reached through kube-proxy on ${owner?.nodeName ?? '?'}\n`);
    out(`    ${SPREAD_REQUESTS} more requests (externalTrafficPolicy: Cluster, kube-proxy picks a pod at random): ${[...curl.spread.entries()].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}\n`);
    out(`\nthe seed flow works: ${SERVICE.name} got ${ip}, ${owner?.nodeName ?? '?'} announces it, kube-proxy there sent curl to pod ${curl.first} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);

    if (keep) {
      state.kept = true;
      writeState(state);
      lan.keepOnExit();
      finished = true;
      out(`\nthe lab stays up (state: ${STATE_FILE}, logs: ${LAB_DIR}/*.log):\n`);
      out(`  ip netns exec ${lan.client.ns} bash                      # a shell on the client (try: curl http://${ip}:${SERVICE.port})\n`);
      out(`  ip netns exec ${owner?.ns ?? lan.nodes[0].ns} iptables-save -t nat   # kube-proxy's rules on ${owner?.nodeName ?? lan.nodes[0].nodeName}\n`);
      out(`  ${kubectl} --kubeconfig ${lan.cluster.kubeconfig} get svc\n`);
      out(`  npx ts-node --transpile-only src/cli/main.ts status --kubeconfig ${lan.cluster.kubeconfig}\n`);
      out('  npm run lab -- --down                                 # removes everything\n');
      return 0;
    }
    out('\ntearing down... ');
    await teardown(state, l2);
    finished = true;
    out('done\n');
    return 0;
  } catch (e) {
    const err = e instanceof StepError ? e : new StepError('lab', e instanceof Error ? e.message : String(e));
    out(`\nlab failed at ${err.step}: ${err.message}\n`);
    for (const log of err.logs) out(`--- last lines of ${log}:\n${tail(log)}\n`);
    out('cleaning up... ');
    await teardown(state, l2, true).catch((x: Error) => out(`(cleanup: ${x.message}) `));
    finished = true;
    out(err.logs.length > 0 ? `done (logs kept in ${LAB_DIR})\n` : 'done\n');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  }
}

if (require.main === module) {
  lab(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`lab: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
