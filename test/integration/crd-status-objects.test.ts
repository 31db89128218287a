// The speakers' ServiceL2Status writer (src/k8s/status-objects.ts) on the real API server with
// manifests/crds: objects appear with MetalLB's labels and status (as `kubectl get
// servicel2status` shows them), follow changes, and go away when ownership moves or the speaker
// stops; a dead node's leftover is removed by the node that took the Service over.
import * as k8s from '@kubernetes/client-node';
import { StatusObjects } from '../../src/k8s/status-objects';
import type { StatusWant } from '../../src/speaker/status-objects';
import { nullLogger } from '../../src/util/log';
import { createNamespace, eventually, testKubeConfig } from '../harness/kube';
import { installCrds, kubectlOk } from './crd-support';

jest.setTimeout(90_000);

const want = (node: string, ns: string, name: string, interfaces: string[]): StatusWant => ({
  key: `${ns}/${name}`,
  labels: { 'metallb.io/node': node, 'metallb.io/service-name': name, 'metallb.io/service-namespace': ns },
  status: { node, serviceName: name, serviceNamespace: ns, interfaces: interfaces.map((n) => ({ name: n })) },
});

describe('ServiceL2Status objects', () => {
  const kc = testKubeConfig();
  let ns = '';
  const writers: StatusObjects[] = [];
  const writer = (node: string): StatusObjects => {
    const w = new StatusObjects({ kc, namespace: ns, plural: 'servicel2statuses', kind: 'ServiceL2Status', generateName: 'l2-', node, log: nullLogger });
    writers.push(w);
    return w;
  };
  /** node/service-namespace/service-name → interfaces, from `kubectl get servicel2status`. */
  const shown = async (): Promise<string[]> => {
    const out = await kubectlOk(['get', 'servicel2status', '-n', ns, '-o', 'json']);
    const items = (JSON.parse(out) as k8s.KubernetesListObject<k8s.KubernetesObject & { status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: { name: string }[] } }>).items;
    return items
      .map((o) => `${o.metadata?.labels?.['metallb.io/node']}=${o.status?.node} ${o.status?.serviceNamespace}/${o.status?.serviceName} [${(o.status?.interfaces ?? []).map((i) => i.name).join(',')}] ${o.metadata?.name?.startsWith('l2-')}`)
      .sort();
  };
  const until = (what: string, expected: string[]): Promise<true> =>
    eventually(what, async () => (JSON.stringify(await shown()) === JSON.stringify(expected) ? true : undefined), 20_000);

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace(kc, 'l2status');
  });

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop(false)));
  });

  it('creates, updates and deletes as the announcer changes', async () => {
    const a = writer('node-a');
    a.sync([want('node-a', 'default', 'web', ['eth0']), want('node-a', 'default', 'db', ['eth1'])], new Set(['node-a', 'node-b']));
    await until('two objects of node-a', ['node-a=node-a default/db [eth1] true', 'node-a=node-a default/web [eth0] true']);
    a.sync([want('node-a', 'default', 'web', ['eth0', 'eth2'])], new Set(['node-a', 'node-b']));
    await until('web updated, db gone', ['node-a=node-a default/web [eth0,eth2] true']);
    // node-a dies; node-b, now elected, removes node-a's leftover and writes its own.
    const b = writer('node-b');
    b.sync([want('node-b', 'default', 'web', ['eth0'])], new Set(['node-b']));
    await until('node-b announces web', ['node-b=node-b default/web [eth0] true']);
    await b.stop(true);
    await until('nothing after node-b stops', []);
  });
});
