// The raw client (src/k8s/rest.ts, kube.ts, raw-informer.ts) against a real kube-apiserver: our
// own kubeconfig loader (client certificate over TLS), CRUD with each patch type, a watch.
import { apiStatus } from '../../src/k8s/api-call';
import { kubeconfigEndpoint } from '../../src/k8s/kubeconfig';
import { loadKube } from '../../src/k8s/kube';
import { RawInformer } from '../../src/k8s/raw-informer';
import { JSON_PATCH, STRATEGIC_PATCH, type RestClient } from '../../src/k8s/rest';
import { createLogger } from '../../src/util/log';
import { createNamespace, eventually, testKubeConfig } from '../harness/kube';

interface ConfigMap {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

describe('raw client on a real API server', () => {
  let client: RestClient;
  let ns: string;
  beforeAll(async () => {
    const file = process.env.IRONLB_TEST_KUBECONFIG ?? '';
    expect(kubeconfigEndpoint(file)).toBeDefined(); // our loader handles the test kubeconfig itself
    client = loadKube(file, () => {
      throw new Error('client-node fallback not expected');
    });
    ns = await createNamespace(testKubeConfig(), 'raw');
  });
  afterAll(() => client.close());

  test('create, get, the three patch types, replace, delete; errors carry the status', async () => {
    const p = `/api/v1/namespaces/${ns}/configmaps`;
    const created = await client.create<ConfigMap>(p, { metadata: { name: 'a' }, data: { x: '1' } });
    expect(created.metadata?.resourceVersion).toBeTruthy();
    await client.patch(`${p}/a`, { data: { y: '2' } });
    await client.patch(`${p}/a`, [{ op: 'add', path: '/data/z', value: '3' }], { contentType: JSON_PATCH });
    await client.patch(`${p}/a`, { metadata: { labels: { l: 'v' } } }, { contentType: STRATEGIC_PATCH });
    const got = await client.get<ConfigMap>(`${p}/a`);
    expect(got.data).toEqual({ x: '1', y: '2', z: '3' });
    expect(got.metadata?.labels).toEqual({ l: 'v' });
    const stale = { ...got, metadata: { ...got.metadata, resourceVersion: created.metadata?.resourceVersion } };
    expect(apiStatus(await client.replace(`${p}/a`, stale).catch((e: unknown) => e))).toBe(409);
    await client.delete(`${p}/a`);
    expect(await client.find(`${p}/a`)).toBeUndefined();
  });

  test('an informer lists and watches', async () => {
    const p = `/api/v1/namespaces/${ns}/configmaps`;
    await client.create(p, { metadata: { name: 'before' } });
    const log = createLogger({ level: 'error', write: () => undefined });
    const informer = new RawInformer<ConfigMap>(client, p, { log });
    const seen: string[] = [];
    informer.on((o, ev) => seen.push(`${ev} ${o.metadata?.name ?? ''}`));
    await informer.start();
    try {
      await client.create(p, { metadata: { name: 'after' } });
      await client.delete(`${p}/before`);
      await eventually('the watch events', async () => (seen.includes('add after') && seen.includes('delete before') ? true : undefined));
      expect(informer.list().map((o) => o.metadata?.name)).toContain('after');
    } finally {
      await informer.stop();
    }
  });
});
