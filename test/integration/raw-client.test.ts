// The raw client (src/k8s/rest.ts, kube.ts, raw-informer.ts) against a real kube-apiserver: our
// own kubeconfig loader (client certificate over TLS), CRUD with each patch type, a watch.
import { apiStatus } from '../../src/k8s/api-call';
import { kubeconfigEndpoint } from '../../src/k8s/kubeconfig';
import { loadKube } from '../../src/k8s/kube';
import { RawInformer } from '../../src/k8s/raw-informer';
import { JSON_PATCH, STRATEGIC_PATCH, type RestClient } from '../../src/k8s/rest';
import { createLogger } from '../../src/util/log';
import { PassThrough } from 'node:stream';
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

  // RawInformer.adopt and the watch line's head (watch-line-head.ts), read off kube-apiserver's own
  // lines: the echo of an adopted write must be recognised and skipped without being parsed.
  test("an informer adopts a write's answer; the server's watch line of it is skipped unparsed", async () => {
    const p = `/api/v1/namespaces/${ns}/configmaps`;
    const log = createLogger({ level: 'error', write: () => undefined });
    // The server may deliver the watch's copy before the patch's answer; the test holds the watch
    // stream back (paused) until the answer is adopted, so that it is always the other way round.
    let watchStream: PassThrough | undefined;
    const held: RestClient = Object.create(client) as RestClient;
    held.stream = async (...args: Parameters<RestClient['stream']>) => {
      const res = await client.stream(...args);
      const out = new PassThrough();
      res.pipe(out);
      out.on('close', () => res.destroy());
      watchStream = out;
      return out as unknown as Awaited<ReturnType<RestClient['stream']>>;
    };
    const informer = new RawInformer<ConfigMap>(held, p, { log });
    const seen: string[] = [];
    informer.on((o, ev) => seen.push(`${ev} ${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`));
    await informer.start();
    const parse = jest.spyOn(JSON, 'parse');
    try {
      const created = await client.create<ConfigMap>(p, { metadata: { name: 'adopted' }, data: { v: '0' } });
      await eventually('the add', async () => (informer.get('adopted', ns) ? true : undefined));
      watchStream?.pause();
      const answer = await client.patch<ConfigMap>(`${p}/adopted`, { metadata: { resourceVersion: created.metadata?.resourceVersion }, data: { v: '1' } });
      expect(informer.adopt(answer, created.metadata?.resourceVersion)).toBe(true);
      watchStream?.resume();
      const adoptedRv = answer.metadata?.resourceVersion ?? '';
      parse.mockClear();
      // a later change, so that the watch has certainly delivered the adopted version before it
      const later = await client.patch<ConfigMap>(`${p}/adopted`, { data: { v: '2' } });
      const laterRv = later.metadata?.resourceVersion ?? '';
      await eventually('the later version', async () => (informer.get('adopted', ns)?.metadata?.resourceVersion === laterRv ? true : undefined));
      const parsedLines = parse.mock.calls.map(([text]) => String(text)).filter((t) => t.startsWith('{"type":') && t.includes('"name":"adopted"'));
      expect(parsedLines.map((t) => t.includes(`"resourceVersion":"${laterRv}"`))).toEqual([true]);
      expect(seen.filter((e) => e.includes(' adopted@'))).toEqual([`add adopted@${created.metadata?.resourceVersion ?? ''}`, `update adopted@${laterRv}`]);
      expect(adoptedRv).not.toBe(laterRv);
      expect(informer.get('adopted', ns)?.data).toEqual({ v: '2' });
    } finally {
      parse.mockRestore();
      await informer.stop();
    }
  });
});
