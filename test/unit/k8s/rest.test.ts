import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiStatus, errorText, isConflict, withDeadline } from '../../../src/k8s/api-call';
import { inClusterEndpoint, kubeconfigEndpoint, tokenFileReader } from '../../../src/k8s/kubeconfig';
import { loadKube } from '../../../src/k8s/kube';
import { JSON_PATCH, RestClient } from '../../../src/k8s/rest';
import type * as k8s from '@kubernetes/client-node';
import { FakeApi, json } from './fake-api';

let api: FakeApi;
let client: RestClient;
const noAuth = (port: number) => ({ server: `http://127.0.0.1:${port}`, credentials: () => Promise.resolve({ tls: {}, headers: {} }) });

beforeEach(async () => {
  api = await FakeApi.start();
  client = new RestClient(noAuth(api.port), 500);
});
afterEach(async () => {
  client.close();
  await api.close();
});

test('get parses JSON; patch sends a merge patch by default and a JSON patch when asked', async () => {
  api.route = (req, res, body) => json(res, 200, { method: req.method, url: req.url, type: req.headers['content-type'], body: body ? (JSON.parse(body) as unknown) : null });
  expect(await client.get('/api/v1/services', { query: { labelSelector: 'a=b', limit: undefined } })).toEqual({ method: 'GET', url: '/api/v1/services?labelSelector=a%3Db', body: null });
  expect(await client.patch('/x', { a: 1 }, { query: { fieldManager: 'm' } })).toEqual({ method: 'PATCH', url: '/x?fieldManager=m', type: 'application/merge-patch+json', body: { a: 1 } });
  expect(await client.patch('/x', [{ op: 'add' }], { contentType: JSON_PATCH })).toMatchObject({ type: 'application/json-patch+json' });
  expect(await client.create('/x', {})).toMatchObject({ method: 'POST', type: 'application/json' });
  expect(await client.replace('/x', {})).toMatchObject({ method: 'PUT' });
  expect(await client.delete('/x')).toMatchObject({ method: 'DELETE' });
});

test('errors carry .code and .body, so apiStatus/isConflict/errorText read them', async () => {
  api.route = (_req, res) => json(res, 409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' });
  const err = await client.patch('/x', {}).catch((e: unknown) => e);
  expect(apiStatus(err)).toBe(409);
  expect(isConflict(err)).toBe(true);
  expect(errorText(err)).toBe('the object has been modified');
  api.route = (_req, res) => json(res, 404, { message: 'not found' });
  expect(await client.find('/y')).toBeUndefined();
});

test('a hanging call is aborted by its own timeout, and by a caller signal (withDeadline)', async () => {
  api.route = () => undefined; // never answers
  const t0 = Date.now();
  const err = await client.get('/hang').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect(apiStatus(err)).toBeUndefined();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(450); // the client's 500 ms timeout (setup)
  const parent = new AbortController();
  setTimeout(() => parent.abort(new Error('term ended')), 50);
  await expect(withDeadline(5000, parent.signal, (s) => client.get('/hang', { signal: s }))).rejects.toThrow('term ended');
  await expect(withDeadline(50, undefined, (s) => client.get('/hang', { signal: s }))).rejects.toThrow('API call timed out after 50 ms');
});

test('one keep-alive connection serves consecutive calls', async () => {
  const ports = new Set<number>();
  api.route = (req, res) => {
    ports.add(req.socket.remotePort ?? 0);
    json(res, 200, {});
  };
  for (let i = 0; i < 5; i++) await client.get('/x');
  expect(ports.size).toBe(1);
});

test('new TLS material (a rotated certificate) gets a new connection; the same material, even in a new object, keeps it', async () => {
  const ports = new Set<number>();
  api.route = (req, res) => {
    ports.add(req.socket.remotePort ?? 0);
    json(res, 200, {});
  };
  let tls: { cert?: Buffer } = { cert: Buffer.from('one') };
  const rotating = new RestClient({ server: `http://127.0.0.1:${api.port}`, credentials: () => Promise.resolve({ tls, headers: {} }) }, 500);
  try {
    await rotating.get('/x');
    await rotating.get('/x');
    tls = { cert: Buffer.from('one') };
    await rotating.get('/x');
    expect(ports.size).toBe(1);
    tls = { cert: Buffer.from('two') };
    await rotating.get('/x');
    expect(ports.size).toBe(2);
  } finally {
    rotating.close();
  }
});

describe('credentials', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ironlb-kc-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a token file is re-read after the reread interval (rotation), and a failed read keeps the last token', () => {
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'one\n');
    let now = 0;
    const read = tokenFileReader(file, 60_000, () => now);
    expect(read()).toBe('one');
    fs.writeFileSync(file, 'two');
    now = 59_999;
    expect(read()).toBe('one');
    now = 60_000;
    expect(read()).toBe('two');
    fs.rmSync(file);
    now = 200_000;
    expect(read()).toBe('two');
  });

  test('in-cluster: host/port from the environment, the ServiceAccount token as a bearer token, rotated', async () => {
    fs.writeFileSync(path.join(dir, 'ca.crt'), 'CA');
    fs.writeFileSync(path.join(dir, 'token'), 't1');
    const ep = inClusterEndpoint({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir, 0);
    expect(ep.server).toBe('https://[fd00::1]:443');
    const c1 = await ep.credentials();
    expect(c1.headers.Authorization).toBe('Bearer t1');
    expect(c1.tls.ca?.toString()).toBe('CA');
    fs.writeFileSync(path.join(dir, 'token'), 't2');
    expect((await ep.credentials()).headers.Authorization).toBe('Bearer t2');
    expect(() => inClusterEndpoint({}, dir)).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  test('kubeconfig: files relative to it, inline data, token, insecure; exec plugins are left to client-node', async () => {
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'CAFILE');
    const kc = (user: string, cluster = 'certificate-authority: ca.pem'): string => {
      const file = path.join(dir, 'config');
      fs.writeFileSync(
        file,
        `apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443/\n    ${cluster}\nusers:\n- name: u\n  user:\n    ${user}\n`,
      );
      return file;
    };
    const a = kubeconfigEndpoint(kc(`client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}`));
    expect(a?.server).toBe('https://10.0.0.1:6443');
    const ca = await a?.credentials();
    expect([ca?.tls.ca?.toString(), ca?.tls.cert?.toString(), ca?.tls.key?.toString(), ca?.headers]).toEqual(['CAFILE', 'CERT', 'KEY', {}]);
    const b = await kubeconfigEndpoint(kc('token: abc', 'insecure-skip-tls-verify: true'))?.credentials();
    expect(b).toEqual({ tls: { ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: false }, headers: { Authorization: 'Bearer abc' } });
    expect(kubeconfigEndpoint(kc('exec: {command: aws}'))).toBeUndefined();
  });

  test('loadKube: an exec-plugin kubeconfig gets its credentials from client-node, asked on each call (cached 10 s)', async () => {
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, 'current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://h:1"}}]\nusers: [{name: u, user: {exec: {command: x}}}]\n');
    let calls = 0;
    const fake = {
      getCurrentCluster: () => ({ server: 'https://h:1' }),
      applyToHTTPSOptions: (o: { headers?: Record<string, string> }) => {
        calls++;
        o.headers = { Authorization: 'Bearer from-exec' };
        return Promise.resolve();
      },
    } as unknown as k8s.KubeConfig;
    const client = loadKube(file, () => fake);
    expect(client.server).toBe('https://h:1');
    expect((await client.endpoint.credentials()).headers).toEqual({ Authorization: 'Bearer from-exec' });
    await client.endpoint.credentials();
    expect(calls).toBe(1);
    expect(loadKube(kubeconfigFileWithToken(dir), () => fake).server).toBe('https://10.0.0.2:6443');
  });
});

function kubeconfigFileWithToken(dir: string): string {
  const file = path.join(dir, 'plain');
  fs.writeFileSync(file, 'current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://10.0.0.2:6443"}}]\nusers: [{name: u, user: {token: t}}]\n');
  return file;
}
