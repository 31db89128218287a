// The shipped manifests against a real kube-apiserver: every file passes a server-side dry run,
// and the controller and speaker run the seed's flow under exactly the RBAC the manifests grant
// (ServiceAccount tokens from TokenRequest), without a single "forbidden".
//
// The dry run uses the shared test server. The RBAC run gets a private API server: it applies the
// real ironlb-system namespace and cluster-wide roles and runs a controller that serves every
// namespace, which on the shared server would also pick up LoadBalancer Services other suites
// leave behind (and namespaces cannot be deleted there).
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { destroyCluster, kubeBinDir, kubeconfigYaml, startCluster, type ClusterInfo } from '../harness/kube-cluster';
import { eventually, testKubeConfig } from '../harness/kube';
import { SPEAKER_FLAGS } from '../../src/cli/speaker-command';
import { REPO, startIronlb, stopAll, waitForLog, type IronlbProcess } from '../harness/processes';

jest.setTimeout(180_000);

const run = promisify(execFile);
const KUBECTL = path.join(kubeBinDir(), 'kubectl');
const MANIFESTS = path.join(REPO, 'manifests');
const NS = 'ironlb-system';
const CONTROLLER_SA = `system:serviceaccount:${NS}:ironlb-controller`;
const SPEAKER_SA = `system:serviceaccount:${NS}:ironlb-speaker`;
const SPEAKER_FLAGS_HAVE_HEARTBEAT = 'heartbeat-port' in SPEAKER_FLAGS;

async function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  try {
    const r = await run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }
}

/**
 * `kubectl auth can-i` as a ServiceAccount: exits 1 with "no" when denied. `resource` is TYPE or
 * TYPE/NAME; TYPE#SUBRESOURCE asks about a subresource (kubectl reads "services/status" as the
 * Service named "status").
 */
async function canI(kubeconfig: string, as: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  const [type, subresource] = resource.split('#');
  const args = ['--kubeconfig', kubeconfig, 'auth', 'can-i', verb, type, '--as', as, ...(subresource ? ['--subresource', subresource] : [])];
  if (namespace) args.push('-n', namespace);
  else args.push('--all-namespaces');
  const r = await run(KUBECTL, args, { encoding: 'utf8' }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  return r.stdout.trim() === 'yes';
}

async function ensureNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name } } })
    .catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
}

/** The RBAC objects of a manifest (everything but the workloads, which need a kubelet). */
async function rbacOnly(file: string): Promise<string> {
  const docs = parseAllDocuments(await fs.readFile(file, 'utf8')).map((d) => d.toJSON() as { kind?: string } | null);
  return docs
    .filter((d): d is { kind: string } => !!d && d.kind !== 'Deployment' && d.kind !== 'DaemonSet')
    .map((d) => stringify(d))
    .join('---\n');
}

/**
 * The speaker's UDP heartbeats listen on 7946 by default; a random high port keeps this run clear
 * of anything else on the machine. Servers without the flag (Leases only) get nothing.
 */
function heartbeatFlags(): string[] {
  return SPEAKER_FLAGS_HAVE_HEARTBEAT ? ['--heartbeat-port', String(20_000 + Math.floor(Math.random() * 20_000))] : [];
}

function forbiddenLines(p: IronlbProcess): string[] {
  return p.output().split('\n').filter((l) => /forbidden/i.test(l));
}

describe('manifests: server-side dry run', () => {
  const kubeconfig = process.env.IRONLB_TEST_KUBECONFIG ?? '';
  let overlayDir = '';

  beforeAll(async () => {
    // A dry run creates nothing, so the namespaces the namespaced objects go to must exist.
    const kc = testKubeConfig();
    await ensureNamespace(kc, NS);
    await ensureNamespace(kc, 'metallb-system');
    // An overlay of one's own, outside the repository, as manifests/metallb-compat/README.md shows.
    overlayDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-overlay-'));
    const rel = (p: string): string => path.relative(overlayDir, p);
    await fs.copyFile(path.join(MANIFESTS, 'metallb-compat', 'config-namespace-flag.yaml'), path.join(overlayDir, 'config-namespace-flag.yaml'));
    await fs.writeFile(
      path.join(overlayDir, 'kustomization.yaml'),
      [
        'bases:',
        `  - ${rel(MANIFESTS)}`,
        `  - ${rel(path.join(MANIFESTS, 'metallb-compat'))}`,
        'patchesJson6902:',
        '  - target: {group: apps, version: v1, kind: Deployment, name: ironlb-controller, namespace: ironlb-system}',
        '    path: config-namespace-flag.yaml',
        '  - target: {group: apps, version: v1, kind: DaemonSet, name: ironlb-speaker, namespace: ironlb-system}',
        '    path: config-namespace-flag.yaml',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    if (overlayDir) await fs.rm(overlayDir, { recursive: true, force: true });
  });

  const files = [
    'manifests/namespace.yaml',
    'manifests/controller.yaml',
    'manifests/speaker.yaml',
    'manifests/metallb-compat/rbac.yaml',
    'config/example-config.yaml',
    'config/nginx-metallb.yaml',
  ];
  it.each(files)('%s', async (file) => {
    const out = await kubectl(kubeconfig, ['apply', '--dry-run=server', ...(file === 'config/nginx-metallb.yaml' ? ['-n', 'default'] : []), '-f', path.join(REPO, file)]);
    expect(out).toMatch(/\(server dry run\)/);
  });

  it('kubectl apply -k manifests', async () => {
    const out = await kubectl(kubeconfig, ['apply', '--dry-run=server', '-k', MANIFESTS]);
    for (const o of ['namespace/ironlb-system', 'deployment.apps/ironlb-controller', 'daemonset.apps/ironlb-speaker', 'clusterrole.rbac.authorization.k8s.io/ironlb-speaker']) {
      expect(out).toContain(o);
    }
  });

  it('kubectl apply -k manifests/metallb-compat, and an overlay adding --config-namespace=metallb-system', async () => {
    expect(await kubectl(kubeconfig, ['apply', '--dry-run=server', '-k', path.join(MANIFESTS, 'metallb-compat')])).toContain('rolebinding.rbac.authorization.k8s.io/ironlb-config-reader');
    const built = await kubectl(kubeconfig, ['kustomize', overlayDir]);
    const workloads = parseAllDocuments(built)
      .map((d) => d.toJSON() as k8s.V1Deployment)
      .filter((d) => d.kind === 'Deployment' || d.kind === 'DaemonSet');
    expect(workloads).toHaveLength(2);
    for (const w of workloads) expect(w.spec?.template.spec?.containers[0].args).toContain('--config-namespace=metallb-system');
    expect(await kubectl(kubeconfig, ['apply', '--dry-run=server', '-k', overlayDir])).toContain('daemonset.apps/ironlb-speaker');
  });

  it('the patch in manifests/metallb-compat applies with kubectl patch as documented', async () => {
    const patch = await fs.readFile(path.join(MANIFESTS, 'metallb-compat', 'config-namespace-flag.yaml'), 'utf8');
    // Objects must exist for a patch: create them for real (without a kubelet they only sit there).
    await kubectl(kubeconfig, ['apply', '-f', path.join(MANIFESTS, 'namespace.yaml')]);
    await kubectl(kubeconfig, ['apply', '-f', path.join(MANIFESTS, 'controller.yaml')]);
    await kubectl(kubeconfig, ['apply', '-f', path.join(MANIFESTS, 'speaker.yaml')]);
    for (const w of ['deployment/ironlb-controller', 'daemonset/ironlb-speaker']) {
      const out = await kubectl(kubeconfig, ['-n', NS, 'patch', w, '--dry-run=server', '--type', 'json', '-p', patch, '-o', 'jsonpath={.spec.template.spec.containers[0].args}']);
      expect(out).toContain('--config-namespace=metallb-system');
    }
  });
});

describe('manifests: controller and speaker under the manifests\' RBAC', () => {
  let dir = '';
  let cluster: ClusterInfo;
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let controller: IronlbProcess;
  let speaker: IronlbProcess;
  const kubeconfigs: Record<string, string> = {};

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-manifests-'));
    cluster = await startCluster({ dir: path.join(dir, 'cluster') });
    admin = new k8s.KubeConfig();
    admin.loadFromFile(cluster.kubeconfig);
    core = admin.makeApiClient(k8s.CoreV1Api);

    // The namespace and RBAC for real; the Deployment and DaemonSet are replaced by local processes.
    // The metallb.io CRDs too (with no IPAddressPool, --config-source auto still reads the ConfigMap).
    await kubectl(cluster.kubeconfig, ['apply', '-f', path.join(MANIFESTS, 'namespace.yaml')]);
    await kubectl(cluster.kubeconfig, ['apply', '-f', path.join(MANIFESTS, 'crds')]);
    await kubectl(cluster.kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(MANIFESTS, 'crds')]);
    for (const f of ['controller.yaml', 'speaker.yaml']) {
      const rbacFile = path.join(dir, `rbac-${f}`);
      await fs.writeFile(rbacFile, await rbacOnly(path.join(MANIFESTS, f)));
      await kubectl(cluster.kubeconfig, ['apply', '-f', rbacFile]);
    }
    // MetalLB's namespace, and the compatibility RBAC for a configuration read from it.
    await kubectl(cluster.kubeconfig, ['create', 'namespace', 'metallb-system']);
    await kubectl(cluster.kubeconfig, ['apply', '-f', path.join(MANIFESTS, 'metallb-compat', 'rbac.yaml')]);

    // Tokens for both ServiceAccounts, as the kubelet would project them.
    const caPem = await fs.readFile(cluster.caFile, 'utf8');
    for (const sa of ['ironlb-controller', 'ironlb-speaker']) {
      const tr = await core.createNamespacedServiceAccountToken({ name: sa, namespace: NS, body: { spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 } } });
      const file = path.join(dir, `${sa}.kubeconfig`);
      await fs.writeFile(file, kubeconfigYaml(cluster.server, caPem, sa, tr.status?.token ?? ''), { mode: 0o600 });
      kubeconfigs[sa] = file;
    }

    // The heartbeat key, created at install time as docs/install.md says (the speaker may only read it).
    await kubectl(cluster.kubeconfig, ['-n', NS, 'create', 'secret', 'generic', 'ironlb-memberlist', `--from-literal=secretkey=${randomBytes(32).toString('base64')}`]);

    // The seed: ConfigMap, nginx Deployment + LoadBalancer Service, its EndpointSlice, a Node.
    await kubectl(cluster.kubeconfig, ['apply', '-f', path.join(REPO, 'config', 'example-config.yaml')]);
    await kubectl(cluster.kubeconfig, ['apply', '-n', 'default', '-f', path.join(REPO, 'config', 'nginx-metallb.yaml')]);
    await core.createNode({ body: { metadata: { name: 'node1', labels: { 'kubernetes.io/hostname': 'node1' } } } });
    const objects = k8s.KubernetesObjectApi.makeApiClient(admin);
    await objects.create({
      apiVersion: 'discovery.k8s.io/v1beta1',
      kind: 'EndpointSlice',
      metadata: { name: 'nginx-metallb-seed', namespace: 'default', labels: { 'kubernetes.io/service-name': 'nginx-metallb' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true }, topology: { 'kubernetes.io/hostname': 'node1' } }],
    } as k8s.KubernetesObject);
  });

  afterAll(async () => {
    await stopAll();
    if (dir) await destroyCluster(path.join(dir, 'cluster'));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('grants each ServiceAccount what its code calls and nothing broader', async () => {
    const k = cluster.kubeconfig;
    const allowed: Array<[string, string, string, string?]> = [
      [CONTROLLER_SA, 'list', 'services'],
      [CONTROLLER_SA, 'watch', 'services'],
      [CONTROLLER_SA, 'get', 'services'],
      [CONTROLLER_SA, 'patch', 'services#status'],
      [CONTROLLER_SA, 'create', 'events'],
      [CONTROLLER_SA, 'patch', 'events'],
      [CONTROLLER_SA, 'list', 'configmaps', NS],
      [CONTROLLER_SA, 'watch', 'configmaps', NS],
      [CONTROLLER_SA, 'get', 'leases.coordination.k8s.io', NS],
      [CONTROLLER_SA, 'create', 'leases.coordination.k8s.io', NS],
      [CONTROLLER_SA, 'update', 'leases.coordination.k8s.io', NS],
      [SPEAKER_SA, 'list', 'services'],
      [SPEAKER_SA, 'watch', 'nodes'],
      [SPEAKER_SA, 'watch', 'endpoints'],
      [SPEAKER_SA, 'watch', 'endpointslices.discovery.k8s.io'],
      [SPEAKER_SA, 'create', 'events'],
      [SPEAKER_SA, 'watch', 'configmaps', NS],
      [SPEAKER_SA, 'delete', 'leases.coordination.k8s.io', NS],
      [SPEAKER_SA, 'watch', 'leases.coordination.k8s.io', NS],
      [SPEAKER_SA, 'get', 'secrets/ironlb-memberlist', NS],
      [CONTROLLER_SA, 'list', 'ipaddresspools.metallb.io', NS],
      [CONTROLLER_SA, 'watch', 'namespaces'],
      [CONTROLLER_SA, 'watch', 'bgppeers.metallb.io', NS],
      [SPEAKER_SA, 'watch', 'l2advertisements.metallb.io', NS],
      [SPEAKER_SA, 'list', 'communities.metallb.io', NS],
      [SPEAKER_SA, 'create', 'servicel2statuses.metallb.io', NS],
      [SPEAKER_SA, 'delete', 'servicebgpstatuses.metallb.io', NS],
      [SPEAKER_SA, 'patch', 'servicel2statuses.metallb.io#status', NS],
      // The ironlb.io/Announced Service condition.
      [SPEAKER_SA, 'patch', 'services#status'],
      [SPEAKER_SA, 'create', 'configurationstates.metallb.io', NS],
      [CONTROLLER_SA, 'patch', 'ipaddresspools.metallb.io#status', NS],
      [CONTROLLER_SA, 'update', 'configurationstates.metallb.io#status', NS],
      // manifests/metallb-compat: the configuration in metallb-system.
      [CONTROLLER_SA, 'list', 'configmaps', 'metallb-system'],
      [SPEAKER_SA, 'watch', 'ipaddresspools.metallb.io', 'metallb-system'],
      [CONTROLLER_SA, 'watch', 'l2advertisements.metallb.io', 'metallb-system'],
      [CONTROLLER_SA, 'patch', 'ipaddresspools.metallb.io#status', 'metallb-system'],
    ];
    const denied: Array<[string, string, string, string?]> = [
      [CONTROLLER_SA, 'update', 'services'],
      [CONTROLLER_SA, 'patch', 'services'],
      [CONTROLLER_SA, 'create', 'secrets', NS],
      [CONTROLLER_SA, 'delete', 'services'],
      [CONTROLLER_SA, 'list', 'configmaps', 'default'],
      [CONTROLLER_SA, 'get', 'configmaps', NS],
      [CONTROLLER_SA, 'delete', 'leases.coordination.k8s.io', NS],
      [CONTROLLER_SA, 'get', 'leases.coordination.k8s.io', 'default'],
      [CONTROLLER_SA, 'list', 'secrets', NS],
      [CONTROLLER_SA, 'list', 'nodes'],
      [SPEAKER_SA, 'update', 'services#status'],
      [CONTROLLER_SA, 'update', 'services#status'],
      [SPEAKER_SA, 'patch', 'services'],
      [SPEAKER_SA, 'patch', 'nodes'],
      [SPEAKER_SA, 'create', 'leases.coordination.k8s.io', 'default'],
      [SPEAKER_SA, 'list', 'secrets', NS],
      [SPEAKER_SA, 'get', 'secrets/other', NS],
      [SPEAKER_SA, 'update', 'secrets/ironlb-memberlist', NS],
      [SPEAKER_SA, 'create', 'secrets', 'default'],
      [SPEAKER_SA, 'create', 'secrets', NS],
      [SPEAKER_SA, 'delete', 'secrets/ironlb-memberlist', NS],
      [SPEAKER_SA, 'watch', 'secrets', NS],
      [SPEAKER_SA, 'list', 'pods'],
      [CONTROLLER_SA, 'update', 'ipaddresspools.metallb.io', NS],
      [CONTROLLER_SA, 'patch', 'namespaces'],
      [CONTROLLER_SA, 'patch', 'ipaddresspools.metallb.io', NS],
      [CONTROLLER_SA, 'create', 'servicel2statuses.metallb.io', NS],
      [SPEAKER_SA, 'list', 'ipaddresspools.metallb.io', 'default'],
      [SPEAKER_SA, 'patch', 'ipaddresspools.metallb.io#status', 'metallb-system'],
      [CONTROLLER_SA, 'patch', 'ipaddresspools.metallb.io', 'metallb-system'],
      [CONTROLLER_SA, 'get', 'configmaps', 'metallb-system'],
    ];
    const wrong: string[] = [];
    for (const [as, verb, res, ns] of allowed) if (!(await canI(k, as, verb, res, ns))) wrong.push(`${as} should ${verb} ${res} in ${ns ?? '*'}`);
    for (const [as, verb, res, ns] of denied) if (await canI(k, as, verb, res, ns)) wrong.push(`${as} should not ${verb} ${res} in ${ns ?? '*'}`);
    expect(wrong).toEqual([]);
  });

  // Issue 14.8: a compromised speaker must not mint a token Secret for the controller's
  // ServiceAccount, and the controller must not be able to rewrite what users asked for.
  it('a speaker token cannot create a Secret; a controller token cannot patch a Service spec', async () => {
    const asSpeaker = new k8s.KubeConfig();
    asSpeaker.loadFromFile(kubeconfigs['ironlb-speaker']);
    const mint = asSpeaker.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: 'minted-controller-token', annotations: { 'kubernetes.io/service-account.name': 'ironlb-controller' } },
        type: 'kubernetes.io/service-account-token',
      },
    });
    await expect(mint).rejects.toMatchObject({ code: 403 });
    await expect(core.readNamespacedSecret({ name: 'minted-controller-token', namespace: NS })).rejects.toMatchObject({ code: 404 });

    const asController = new k8s.KubeConfig();
    asController.loadFromFile(kubeconfigs['ironlb-controller']);
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'rbac-probe' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } } });
    const patch = asController.makeApiClient(k8s.CoreV1Api).patchNamespacedService(
      { name: 'rbac-probe', namespace: 'default', body: { spec: { externalIPs: ['203.0.113.7'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await expect(patch).rejects.toMatchObject({ code: 403 });
    // What the token can still do, as docs/install.md says: through /status, status and (on this
    // server version) annotations, but never the spec.
    await asController.makeApiClient(k8s.CoreV1Api).patchNamespacedServiceStatus(
      { name: 'rbac-probe', namespace: 'default', body: { metadata: { annotations: { 'example.com/through-status': 'yes' } }, spec: { externalIPs: ['203.0.113.7'] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const after = await core.readNamespacedService({ name: 'rbac-probe', namespace: 'default' });
    expect(after.spec?.externalIPs).toBeUndefined();
    expect(after.metadata?.annotations?.['example.com/through-status']).toBe('yes');
    await core.deleteNamespacedService({ name: 'rbac-probe', namespace: 'default' });
  });

  it('runs the seed flow: 192.168.10.90 for nginx-metallb, speaker Lease, no "forbidden" anywhere', async () => {
    controller = startIronlb(['controller', '--kubeconfig', kubeconfigs['ironlb-controller'], '--metrics-addr', '127.0.0.1:0'], {
      env: { POD_NAME: 'ironlb-controller-test', POD_NAMESPACE: NS },
    });
    speaker = startIronlb(
      ['speaker', '--kubeconfig', kubeconfigs['ironlb-speaker'], '--metrics-addr', '127.0.0.1:0', '--node-name', 'node1', '--namespace', NS, '--exclude-interfaces', '.*', ...heartbeatFlags()],
      { env: { POD_NAMESPACE: NS } },
    );
    // Start-up only (ts-node and the first list): generous, other suites load this 2-core machine.
    await waitForLog(controller, 'became leader', 240_000);
    const ip = await eventually(
      'an EXTERNAL-IP on default/nginx-metallb',
      async () => (await core.readNamespacedService({ name: 'nginx-metallb', namespace: 'default' })).status?.loadBalancer?.ingress?.[0]?.ip,
      30_000,
    );
    expect(ip).toBe('192.168.10.90');
    const svc = await core.readNamespacedService({ name: 'nginx-metallb', namespace: 'default' });
    expect(svc.metadata?.annotations?.['ironlb.io/ip-allocated-from-pool']).toBe('default');

    await waitForLog(speaker, 'speaker started', 240_000);
    const coordination = admin.makeApiClient(k8s.CoordinationV1Api);
    const lease = await coordination.readNamespacedLease({ name: 'ironlb-speaker-node1', namespace: NS });
    expect(lease.spec?.holderIdentity).toBe('node1');
    const leader = await coordination.readNamespacedLease({ name: 'ironlb-controller', namespace: NS });
    expect(leader.spec?.holderIdentity).toBe('ironlb-controller-test');

    // Events written by both ServiceAccounts: IPAllocated (controller), nodeAssigned (speaker).
    const events = async (): Promise<k8s.CoreV1Event[]> => (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=nginx-metallb' })).items;
    await eventually('an IPAllocated event', async () => (await events()).find((e) => e.reason === 'IPAllocated'));
    await eventually('a nodeAssigned event', async () => (await events()).find((e) => e.reason === 'nodeAssigned' && e.source?.component === 'ironlb-speaker'));
    await waitForLog(speaker, 'serviceAnnounced');

    // An invalid configuration makes the controller write a Warning Event in ironlb-system.
    const bad = 'address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - not-an-address\n';
    await core.patchNamespacedConfigMap({ name: 'config', namespace: NS, body: { data: { config: bad } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await eventually('an InvalidConfig event', async () =>
      (await core.listNamespacedEvent({ namespace: NS })).items.find((e) => e.reason === 'InvalidConfig' && e.source?.component === 'ironlb-controller'),
    );
    await kubectl(cluster.kubeconfig, ['apply', '-f', path.join(REPO, 'config', 'example-config.yaml')]);

    // Graceful stops: the speaker deletes its Lease, the controller releases its own.
    await speaker.kill('SIGTERM');
    await controller.kill('SIGTERM');
    await expect(coordination.readNamespacedLease({ name: 'ironlb-speaker-node1', namespace: NS })).rejects.toMatchObject({ code: 404 });
    expect((await coordination.readNamespacedLease({ name: 'ironlb-controller', namespace: NS })).spec?.holderIdentity).toBe('');

    expect(forbiddenLines(controller)).toEqual([]);
    expect(forbiddenLines(speaker)).toEqual([]);
    const warnings = [...controller.logs(), ...speaker.logs()].filter((l) => l.level === 'warn' || l.level === 'error').map((l) => String(l.msg));
    // On a failure, the whole warning records (their error fields say why) go to stderr.
    if (warnings.some((m) => /could not|failed/.test(m))) process.stderr.write(`${JSON.stringify([...controller.logs(), ...speaker.logs()].filter((l) => l.level === 'warn' || l.level === 'error'))}\n`);
    expect(warnings.filter((m) => /could not|failed/.test(m))).toEqual([]);
    const all = await core.listEventForAllNamespaces();
    expect(all.items.filter((e) => /forbidden/i.test(`${e.reason ?? ''} ${e.message ?? ''}`))).toEqual([]);
  });
});
