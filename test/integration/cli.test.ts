// The operator commands (status, explain, dry-run) against a real kube-apiserver with a running
// controller; speakers are stood in for by their Leases (with the view each speaker publishes
// there), EndpointSlices and nodeAssigned Events.
//
// Expected announcers are written by hand. Candidate order is sha256("<node>#<ip>") ascending,
// computed once with coreutils, e.g.
//   for n in cli-na cli-nb cli-nc; do printf '%s  %s\n' "$(printf '%s#%s' $n 203.0.113.200 | sha256sum | cut -c1-16)" $n; done | sort
//   203.0.113.200: cli-nc 15ebf33a… < cli-nb bd531520… < cli-na ffc4e590…
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { testKubeConfig, uniqueName, eventually } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { REPO, startIronlb, stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { microTime } from '../../src/k8s/lease';
import { statusCommand } from '../../src/cli/status-command';
import { explainCommand } from '../../src/cli/explain-command';
import { dryRunCommand } from '../../src/cli/dry-run-command';

jest.setTimeout(90_000);

const POOL = ['203.0.113.200', '203.0.113.201', '203.0.113.202'];
const CONFIG = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - ${POOL[0]}-${POOL[2]}
`;

type Cmd = (argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }) => Promise<number>;

describe('ironlb status / explain / dry-run', () => {
  const kubeconfig = process.env.IRONLB_TEST_KUBECONFIG ?? '';
  const kc = testKubeConfig();
  const kit = new ServiceKit(kc);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const cfgNs = uniqueName('cli-system');
  const leaseNs = uniqueName('cli-leases');
  const emptyLeaseNs = uniqueName('cli-noleases');
  const ghostLeaseNs = uniqueName('cli-ghost');
  const ns = uniqueName('cli');
  // Fixed names, so that the election order above could be computed by hand (Nodes are deleted
  // after the run, and any left by a crashed one before it).
  const nodes = ['cli-na', 'cli-nb', 'cli-nc'];
  /** The election order at POOL[0] (see the top of the file). */
  const ORDER_200 = ['cli-nc', 'cli-nb', 'cli-na'];
  const offNode = uniqueName('nd'); // a Node without a speaker
  let controller: IronlbProcess;
  let tmp: string;

  const base = (): string[] => ['--kubeconfig', kubeconfig, '--config-namespace', cfgNs, '--namespace', leaseNs];

  async function run(cmd: Cmd, args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await cmd(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  }

  async function json<T>(cmd: Cmd, args: string[]): Promise<T> {
    const r = await run(cmd, [...args, '-o', 'json']);
    return JSON.parse(r.out) as T;
  }

  interface View {
    alive: string[];
    starting?: boolean;
    noLayer2?: boolean;
    layer2Unready?: string[];
    ignoreExcludeLabel?: boolean;
  }

  /** A speaker's Lease, with the view it publishes (annotation ironlb.io/speaker-view, docs/cli.md). */
  async function lease(namespace: string, node: string, view: View | null, renewed = new Date()): Promise<void> {
    await kit.ensureNamespace(namespace);
    const annotations = view
      ? {
          'ironlb.io/speaker-view': JSON.stringify({
            v: 1,
            starting: view.starting ?? false,
            noLayer2: view.noLayer2 ?? false,
            alive: view.alive,
            layer2Unready: view.layer2Unready ?? [],
            ignoreExcludeLabel: view.ignoreExcludeLabel ?? false,
          }),
        }
      : undefined;
    await coord.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: `ironlb-speaker-${node}`, namespace, labels: { 'app.kubernetes.io/name': 'ironlb', 'app.kubernetes.io/component': 'speaker' }, annotations },
        spec: { holderIdentity: node, leaseDurationSeconds: 3600, renewTime: microTime(renewed) },
      },
    });
  }

  async function slice(service: string, onNodes: string[]): Promise<void> {
    await objects.create({
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { name: `${service}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: '', port: 80, protocol: 'TCP' }],
      endpoints: onNodes.map((n, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': n } })),
    } as k8s.KubernetesObject);
  }

  async function explainJson(name: string, extra: string[] = []): Promise<{ address: { reason: string; message: string; current: string[]; pool?: string }; announcement: { reason: string; node: string | null; message: string; lastNodeAssigned: { node: string } | null } }> {
    return json(explainCommand as Cmd, [`${ns}/${name}`, ...base(), ...extra]);
  }

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-cli-'));
    await kit.ensureNamespace(ns);
    await kit.applyConfig(cfgNs, 'config', CONFIG);
    for (const n of nodes) await kit.core.deleteNode({ name: n }).catch(() => undefined);
    for (const n of [...nodes, offNode]) await kit.core.createNode({ body: { metadata: { name: n, labels: { 'kubernetes.io/hostname': n } } } });
    for (const n of nodes) await lease(leaseNs, n, { alive: nodes });
    const ghost = uniqueName('ghost');
    await lease(ghostLeaseNs, ghost, { alive: [ghost] }); // a live speaker on a node that does not exist
    await kit.ensureNamespace(emptyLeaseNs);
    controller = startIronlb(['controller', '--kubeconfig', kubeconfig, '--config-namespace', cfgNs, '--metrics-addr', '127.0.0.1:0', '--leader-elect=false']);
    // Process start-up (ts-node compiling the sources) takes seconds on a loaded machine and is not
    // what the tests below time: they start once the controller has synced its caches.
    await waitForLog(controller, 'caches synced');
  });

  afterAll(async () => {
    await stopAll();
    await kit.deleteAllServices(ns);
    for (const n of [...nodes, offNode]) await kit.core.deleteNode({ name: n }).catch(() => undefined);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it("status shows the seed Service's address, its pool usage, the elected announcer and the nodeAssigned Event", async () => {
    await kit.createLB(ns, 'nginx-metallb', { ports: [{ port: 8090, protocol: 'TCP', targetPort: 80 }], selector: { app: 'nginx' } });
    expect(await kit.waitIPs(ns, 'nginx-metallb')).toEqual([POOL[0]]);
    await slice('nginx-metallb', nodes);
    const expected = 'cli-nc';
    const svc = await kit.get(ns, 'nginx-metallb');
    await kit.core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: uniqueName('nginx-metallb'), namespace: ns },
        involvedObject: { kind: 'Service', apiVersion: 'v1', namespace: ns, name: 'nginx-metallb', uid: svc.metadata?.uid },
        type: 'Normal',
        reason: 'nodeAssigned',
        message: `announcing from node "${expected}" with protocol "layer2"`,
        count: 1,
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
        source: { component: 'ironlb-speaker', host: expected },
      },
    });

    const text = await run(statusCommand as Cmd, base());
    expect(text.code).toBe(0);
    expect(text.out).toContain(`configuration: ConfigMap ${cfgNs}/config, 1 pool(s)`);
    expect(text.out).toMatch(/default\s+layer2\s+3\/1\/2\s+-/);
    expect(text.out).toMatch(new RegExp(`${POOL[0].replace(/\./g, '\\.')}\\s+default\\s+${ns}/nginx-metallb\\s+${expected}\\s+${expected} \\d+s ago`));
    for (const n of nodes) expect(text.out).toContain(`${n} (alive)`);

    const j = await json<{
      pools: Array<{ name: string; v4: { size: number; used: number; free: number }; v6: { size: number } }>;
      speakers: Array<{ node: string; alive: boolean }>;
      addresses: Array<{ ip: string; pool: string; services: string[]; announcer: string; candidates: string[]; lastNodeAssigned: { node: string; message: string } }>;
    }>(statusCommand as Cmd, base());
    expect(j.pools).toEqual([expect.objectContaining({ name: 'default', v4: { size: 3, used: 1, free: 2 }, v6: { size: 0, used: 0, free: 0 } })]);
    expect(j.speakers.filter((s) => s.alive).map((s) => s.node).sort()).toEqual([...nodes].sort());
    expect(j.addresses).toEqual([
      expect.objectContaining({ ip: POOL[0], pool: 'default', services: [`${ns}/nginx-metallb`], announcer: expected, candidates: ORDER_200 }),
    ]);
    expect(j.addresses[0].lastNodeAssigned).toEqual(expect.objectContaining({ node: expected, message: expect.stringContaining(expected) }));
  });

  it('status is also reachable through the ironlb command (main.ts registration)', async () => {
    const r = await promisify(execFile)(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(REPO, 'src/cli/main.ts'), 'status', ...base(), '-o', 'json'], {
      cwd: REPO,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    });
    expect((JSON.parse(r.stdout) as { addresses: Array<{ ip: string }> }).addresses.map((a) => a.ip)).toEqual([POOL[0]]);
  });

  it('explain: an assigned, announced Service (text and json)', async () => {
    const expected = 'cli-nc';
    const text = await run(explainCommand as Cmd, [`${ns}/nginx-metallb`, ...base()]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`address: ${POOL[0]}`);
    expect(text.out).toContain(`assigned: ${POOL[0]} from pool "default" (first free address`);
    expect(text.out).toContain(`announcement: ${expected}`);
    expect(text.out).toContain(`latest nodeAssigned Event: announcing from node "${expected}"`);
    const j = await explainJson('nginx-metallb');
    expect(j.address).toEqual(expect.objectContaining({ reason: 'assigned', current: [POOL[0]], pool: 'default' }));
    expect(j.announcement).toEqual(expect.objectContaining({ reason: 'announced', node: expected }));
    expect(j.announcement.lastNodeAssigned?.node).toBe(expected);
  });

  it('explain: not a LoadBalancer; unknown Service', async () => {
    await kit.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'plain' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } } });
    const j = await explainJson('plain');
    expect(j.address.reason).toBe('notLoadBalancer');
    expect(j.announcement.reason).toBe('noAddress');
    const text = await run(explainCommand as Cmd, [`${ns}/plain`, ...base()]);
    expect(text.out).toContain('notLoadBalancer: spec.type is ClusterIP, not LoadBalancer');
    const missing = await run(explainCommand as Cmd, [`${ns}/nope`, ...base()]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('not found');
  });

  it('explain: requested IP not in any pool, unknown pool, sharing conflict', async () => {
    await kit.createLB(ns, 'outside', { loadBalancerIP: '198.51.100.77' });
    await kit.createLB(ns, 'badpool', {}, { 'ironlb.io/address-pool': 'nope' });
    const share = { 'ironlb.io/allow-shared-ip': 'k', 'ironlb.io/loadBalancerIPs': POOL[2] };
    await kit.createLB(ns, 'share-a', { ports: [{ port: 80, protocol: 'TCP' }] }, share);
    expect(await kit.waitIPs(ns, 'share-a')).toEqual([POOL[2]]);
    await kit.createLB(ns, 'share-b', { ports: [{ port: 80, protocol: 'TCP' }] }, share);
    await kit.waitEvent(ns, 'share-b', 'AllocationFailed');

    const outside = await explainJson('outside');
    expect(outside.address.reason).toBe('requestedIPNotInPool');
    expect(outside.address.message).toContain('198.51.100.77');
    expect((await explainJson('badpool')).address).toEqual(expect.objectContaining({ reason: 'noPool', message: expect.stringContaining('"nope"') }));
    const b = await explainJson('share-b');
    expect(b.address.reason).toBe('sharingConflict');
    expect(b.address.message).toContain('TCP/80');
    const text = await run(explainCommand as Cmd, [`${ns}/share-b`, ...base()]);
    expect(text.out).toContain('address: <pending>');
    expect(text.out).toContain('sharingConflict:');
  });

  it('dry-run: a new Service would get the next free address; nothing is created', async () => {
    const file = path.join(tmp, 'svc.yaml');
    await fs.writeFile(file, `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: ${ns}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports:\n  - port: 80\n`);
    const text = await run(dryRunCommand as Cmd, [file, ...base()]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`Service ${ns}/web (new)`);
    expect(text.out).toContain(`would get: ${POOL[1]} from pool "default"`);
    expect(text.out).toContain('nothing was changed');
    const j = await json<{ wouldGetAddress: boolean; ips: string[]; pool: string; exists: boolean; reason: string }>(dryRunCommand as Cmd, [file, ...base()]);
    expect(j).toEqual(expect.objectContaining({ wouldGetAddress: true, ips: [POOL[1]], pool: 'default', exists: false, reason: 'assigned' }));
    await expect(kit.get(ns, 'web')).rejects.toBeTruthy();

    // An existing Service: an update keeps its address.
    const existing = path.join(tmp, 'nginx.yaml');
    await fs.writeFile(existing, `kind: Service\nmetadata:\n  name: nginx-metallb\n  namespace: ${ns}\nspec:\n  type: LoadBalancer\n  selector: {app: nginx}\n  ports:\n  - port: 8090\n    targetPort: 80\n`);
    const keep = await json<{ exists: boolean; ips: string[]; keepsCurrent: boolean }>(dryRunCommand as Cmd, [existing, ...base()]);
    expect(keep).toEqual(expect.objectContaining({ exists: true, ips: [POOL[0]], keepsCurrent: true }));
    const bad = await run(dryRunCommand as Cmd, [path.join(tmp, 'missing.yaml'), ...base()]);
    expect(bad.code).toBe(2);
  });

  it('explain and dry-run: pool exhausted', async () => {
    await kit.createLB(ns, 'ex-1');
    expect(await kit.waitIPs(ns, 'ex-1')).toEqual([POOL[1]]);
    await kit.createLB(ns, 'ex-2');
    await kit.waitEvent(ns, 'ex-2', 'AllocationFailed');
    const j = await explainJson('ex-2');
    expect(j.address.reason).toBe('poolExhausted');
    expect(j.address.message).toContain('3 of 3');
    const file = path.join(tmp, 'more.yaml');
    await fs.writeFile(file, `kind: Service\nmetadata:\n  name: more\n  namespace: ${ns}\nspec:\n  type: LoadBalancer\n  ports:\n  - port: 80\n`);
    const text = await run(dryRunCommand as Cmd, [file, ...base()]);
    expect(text.code).toBe(1);
    expect(text.out).toContain('would get: no address');
    expect(text.out).toContain('poolExhausted:');
    const dj = await json<{ wouldGetAddress: boolean; reason: string }>(dryRunCommand as Cmd, [file, ...base()]);
    expect(dj).toEqual(expect.objectContaining({ wouldGetAddress: false, reason: 'poolExhausted' }));
    const status = await json<{ pools: Array<{ v4: { used: number; free: number } }> }>(statusCommand as Cmd, base());
    expect(status.pools[0].v4).toEqual({ size: 3, used: 3, free: 0 });
  });

  it('explain: no ready endpoint, no live speaker, no eligible node', async () => {
    // ex-1 has an address and no EndpointSlice.
    const noEp = await explainJson('ex-1');
    expect(noEp.announcement.reason).toBe('noReadyEndpoint');
    await slice('ex-1', nodes);
    expect((await explainJson('ex-1')).announcement.reason).toBe('announced');
    const noSpeaker = await explainJson('ex-1', ['--namespace', emptyLeaseNs]);
    expect(noSpeaker.announcement.reason).toBe('noLiveSpeaker');
    const ghost = await explainJson('ex-1', ['--namespace', ghostLeaseNs]);
    expect(ghost.announcement.reason).toBe('noEligibleNode');
    expect(ghost.announcement.message).toContain('no such Node');
    const text = await run(explainCommand as Cmd, [`${ns}/ex-1`, ...base(), '--namespace', emptyLeaseNs]);
    expect(text.out).toContain('announcement: none');
    expect(text.out).toContain('noLiveSpeaker: no speaker is alive; no speaker Leases exist');
  });

  it("explain follows each speaker's published view: STARTING, NO_LAYER2, --ignore-exclude-lb, a speaker killed a moment ago", async () => {
    // nginx-metallb holds POOL[0] with endpoints everywhere: cli-nc wins while it may (ORDER_200).
    const announced = async (namespace: string): Promise<{ node: string | null; reason: string }> => (await explainJson('nginx-metallb', ['--namespace', namespace])).announcement;
    const [na, nb, nc] = nodes;

    // cli-nc restarting: its Lease is fresh but it says STARTING, and its peers do not count it.
    const starting = uniqueName('cli-starting');
    await lease(starting, na, { alive: [na, nb] });
    await lease(starting, nb, { alive: [na, nb] });
    await lease(starting, nc, { alive: [nc], starting: true });
    expect(await announced(starting)).toEqual(expect.objectContaining({ node: nb, reason: 'announced' }));
    const st = await run(statusCommand as Cmd, [...base(), '--namespace', starting]);
    expect(st.out).toContain(`${nc} (STARTING)`);

    // cli-nc without a usable layer-2 interface: every view passes it over.
    const noL2 = uniqueName('cli-nol2');
    for (const n of nodes) await lease(noL2, n, { alive: nodes, layer2Unready: [nc], noLayer2: n === nc });
    expect(await announced(noL2)).toEqual(expect.objectContaining({ node: nb, reason: 'announced' }));
    expect((await run(statusCommand as Cmd, [...base(), '--namespace', noL2])).out).toContain(`${nc} (alive, NO_LAYER2)`);

    // cli-nc killed a moment ago: its Lease is still fresh and its last view counts itself, but the
    // others no longer count it.
    const killed = uniqueName('cli-killed');
    await lease(killed, na, { alive: [na, nb] });
    await lease(killed, nb, { alive: [na, nb] });
    await lease(killed, nc, { alive: nodes });
    expect(await announced(killed)).toEqual(expect.objectContaining({ node: nb, reason: 'announced' }));

    // cli-nc labelled exclude-from-external-load-balancers: passed over, unless the speakers run
    // with --ignore-exclude-lb (which they publish).
    const label = 'node.kubernetes.io/exclude-from-external-load-balancers';
    await kit.core.patchNode({ name: nc, body: { metadata: { labels: { [label]: '' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    try {
      expect(await announced(leaseNs)).toEqual(expect.objectContaining({ node: nb, reason: 'announced' }));
      const ignoring = uniqueName('cli-ignore');
      for (const n of nodes) await lease(ignoring, n, { alive: nodes, ignoreExcludeLabel: true });
      expect(await announced(ignoring)).toEqual(expect.objectContaining({ node: nc, reason: 'announced' }));
    } finally {
      await kit.core.patchNode({ name: nc, body: { metadata: { labels: { [label]: null } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    }
    expect(await announced(leaseNs)).toEqual(expect.objectContaining({ node: nc, reason: 'announced' }));
  });

  it('explain: Local policy without a local endpoint on a node with a live speaker; dead speakers in status', async () => {
    await kit.deleteAllServices(ns);
    await kit.createLB(ns, 'local', { externalTrafficPolicy: 'Local' });
    const [ip] = await kit.waitIPs(ns, 'local');
    await slice('local', [offNode]);
    const j = await explainJson('local');
    expect(j.address.current).toEqual([ip]);
    expect(j.announcement.reason).toBe('noLocalEndpointOnEligibleNode');
    expect(j.announcement.message).toContain(offNode);
    // A speaker whose Lease was last renewed two hours before the other's (its 3600 s duration
    // long past) is dead, whatever its last view says; an isolated one does not count itself.
    const deadNs = uniqueName('cli-dead');
    await lease(deadNs, nodes[0], { alive: nodes }, new Date(Date.now() - 2 * 3600_000));
    await lease(deadNs, nodes[1], { alive: [] });
    const status = await run(statusCommand as Cmd, [...base(), '--namespace', deadNs]);
    expect(status.out).toContain(`${nodes[0]} (dead (its Lease was last renewed 7200 s before the newest speaker Lease (duration 3600 s)), renewed`);
    expect(status.out).toContain(`${nodes[1]} (dead (it does not count itself alive`);
    expect(status.out).toContain('none (noLiveSpeaker)');
  });

  it('explain: missing or invalid configuration, and a Service the controller has not served yet', async () => {
    const noCfg = await explainJson('local', ['--config-name', 'absent']);
    expect(noCfg.address.reason).toBe('noConfig');
    await kit.core.createNamespacedConfigMap({ namespace: cfgNs, body: { metadata: { name: 'broken' }, data: { config: 'address-pools:\n- name: x\n  protocol: carrier-pigeon\n' } } });
    const bad = await explainJson('local', ['--config-name', 'broken']);
    expect(bad.address.reason).toBe('invalidConfig');
    const st = await run(statusCommand as Cmd, [...base(), '--config-name', 'broken']);
    expect(st.out).toContain('is INVALID');

    await controller.kill('SIGTERM');
    await kit.createLB(ns, 'late');
    const late = await explainJson('late');
    expect(late.address.reason).toBe('pending');
    expect(late.address.message).toMatch(/would assign 203\.0\.113\.20\d from pool "default"/);
    await eventually('explain to stay pending', async () => ((await explainJson('late')).address.current.length === 0 ? true : undefined));
  });
});
