// The operator commands when the configuration comes from metallb.io objects: `ironlb status`,
// `explain` and `dry-run` read the IPAddressPools the controller reads (the same auto rule), and
// replay tenancy with the Services' namespace labels. No controller runs: explain says what it
// would do. Expected addresses are the pool's first, written by hand.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { statusCommand } from '../../src/cli/status-command';
import { explainCommand } from '../../src/cli/explain-command';
import { dryRunCommand } from '../../src/cli/dry-run-command';
import { installCrds, kubectlOk } from './crd-support';

jest.setTimeout(90_000);

type Cmd = (argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }) => Promise<number>;

describe('ironlb status / explain / dry-run with metallb.io objects', () => {
  const kubeconfig = process.env.IRONLB_TEST_KUBECONFIG ?? '';
  const kit = new ServiceKit(testKubeConfig());
  const cfgNs = uniqueName('clicrd-system');
  const gold = uniqueName('clicrd-gold');
  const plain = uniqueName('clicrd-plain');
  const leaseNs = uniqueName('clicrd-leases');
  let tmp: string;

  const base = (): string[] => ['--kubeconfig', kubeconfig, '--config-namespace', cfgNs, '--namespace', leaseNs];

  async function run(cmd: Cmd, args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await cmd(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
    return { code, out, err };
  }

  interface AddressView {
    reason: string;
    message: string;
    wouldGet: string[];
    pool?: string;
  }

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-clicrd-'));
    await installCrds();
    await kit.ensureNamespace(cfgNs);
    await kit.ensureNamespace(leaseNs);
    await kit.ensureNamespace(plain);
    await kit.core.createNamespace({ body: { metadata: { name: gold, labels: { tier: 'gold' } } } });
    await kubectlOk(
      ['apply', '-f', '-'],
      `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: gold-pool, namespace: ${cfgNs}}
spec:
  addresses: [203.0.113.230-203.0.113.231]
  serviceAllocation: {namespaceSelectors: [{matchLabels: {tier: gold}}]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: ${cfgNs}}
`,
    );
  });

  afterAll(async () => {
    await kit.deleteAllServices(gold);
    await kit.deleteAllServices(plain);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('status names the objects as the configuration, with their pool', async () => {
    const r = await run(statusCommand as Cmd, base());
    expect(r.code).toBe(0);
    expect(r.out).toContain(`configuration: metallb.io objects in ${cfgNs}, 1 pool(s)`);
    expect(r.out).toMatch(/gold-pool\s+layer2\s+2\/0\/2/);
  });

  it("explain replays tenancy with the namespace's labels: the labelled namespace would get the pool's first address, the other none", async () => {
    await kit.createLB(gold, 'web');
    await kit.createLB(plain, 'web');
    const inGold = JSON.parse((await run(explainCommand as Cmd, [`${gold}/web`, ...base(), '-o', 'json'])).out) as { address: AddressView };
    expect(inGold.address).toMatchObject({ reason: 'pending', wouldGet: ['203.0.113.230'], pool: 'gold-pool' });
    const inPlain = JSON.parse((await run(explainCommand as Cmd, [`${plain}/web`, ...base(), '-o', 'json'])).out) as { address: AddressView };
    expect(inPlain.address.wouldGet).toEqual([]);
    expect(inPlain.address.reason).toBe('poolRestricted');
    expect(inPlain.address.message).toContain('namespaces labelled tier=gold');
  });

  it('dry-run: a Service file in the labelled namespace would get the address; --config-source=configmap sees no configuration', async () => {
    const file = path.join(tmp, 'svc.yaml');
    await fs.writeFile(file, `apiVersion: v1\nkind: Service\nmetadata: {name: other, namespace: ${gold}}\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n`);
    const r = await run(dryRunCommand as Cmd, [file, ...base(), '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ips: ['203.0.113.230'], pool: 'gold-pool' });
    const cm = await run(dryRunCommand as Cmd, [file, ...base(), '--config-source', 'configmap', '-o', 'json']);
    expect(cm.code).toBe(1);
    expect(JSON.parse(cm.out)).toMatchObject({ ips: [], reason: 'noConfig' });
  });

  it('an unknown --config-source is a usage error (main.ts turns it into exit status 2)', async () => {
    await expect(run(statusCommand as Cmd, [...base(), '--config-source', 'etcd'])).rejects.toThrow(/--config-source: unknown config source "etcd"/);
  });

});
