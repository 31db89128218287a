import type * as http from 'node:http';
import { LineSplitter, RawInformer, type KubeObject } from '../../../src/k8s/raw-informer';
import { watchLineHead } from '../../../src/k8s/watch-line-head';
import { RestClient } from '../../../src/k8s/rest';
import type { Logger } from '../../../src/util/log';
import { FakeApi, json } from './fake-api';

const log: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const obj = (name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject & Record<string, unknown> => ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, ...extra });
const line = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('LineSplitter: lines and multi-byte characters split across chunks', () => {
  const out: string[] = [];
  const s = new LineSplitter();
  const text = Buffer.from('{"a":"é"}\n{"b":\n1}\n\n{"c":"€"}');
  // one byte at a time: every boundary, including inside 'é' and '€'
  for (let i = 0; i < text.length; i++) s.push(text.subarray(i, i + 1), (l) => out.push(l));
  s.end((l) => out.push(l));
  expect(out).toEqual(['{"a":"é"}', '{"b":', '1}', '{"c":"€"}']);
});

// Lines written by hand in kube-apiserver's field order (ObjectMeta: name, generateName, namespace,
// selfLink, uid, resourceVersion, generation, ...); anything else must be left to JSON.parse.
test.each([
  ['a namespaced object', '{"type":"MODIFIED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","namespace":"shop","uid":"6c1e","resourceVersion":"4711","generation":1}}}', { name: 'web', namespace: 'shop', resourceVersion: '4711' }],
  ['ADDED, with generateName and selfLink', '{"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"web-x1","generateName":"web-","namespace":"shop","selfLink":"/api/v1/x","uid":"6c1e","resourceVersion":"9"}}}', { name: 'web-x1', namespace: 'shop', resourceVersion: '9' }],
  ['a cluster-scoped object', '{"type":"MODIFIED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","uid":"77","resourceVersion":"5"}}}', { name: 'n1', namespace: '', resourceVersion: '5' }],
  ['DELETED (a new version: always parsed)', '{"type":"DELETED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","namespace":"shop","uid":"6c1e","resourceVersion":"4712"}}}', undefined],
  ['BOOKMARK', '{"type":"BOOKMARK","object":{"kind":"Service","apiVersion":"v1","metadata":{"resourceVersion":"4713"}}}', undefined],
  ['ERROR', '{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","code":410}}', undefined],
  ['an escaped quote before the resourceVersion', '{"type":"MODIFIED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"a\\"b","namespace":"shop","uid":"1","resourceVersion":"3"}}}', undefined],
  ['a non-string field before the resourceVersion', '{"type":"MODIFIED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","labels":{"resourceVersion":"1"},"resourceVersion":"3"}}}', undefined],
  ['a resourceVersion only inside another object', '{"type":"MODIFIED","object":{"kind":"Service","apiVersion":"v1","spec":{"metadata":{"name":"x","resourceVersion":"1"}},"metadata":{"name":"web"}}}', undefined],
  ['no name', '{"type":"MODIFIED","object":{"kind":"Service","apiVersion":"v1","metadata":{"namespace":"shop","resourceVersion":"3"}}}', undefined],
  ['whitespace (not the server\'s compact form)', '{"type": "MODIFIED", "object": {"metadata": {"name": "web", "resourceVersion": "3"}}}', undefined],
])('watchLineHead: %s', (_what, text, want) => {
  expect(watchLineHead(text)).toEqual(want);
});

describe('RawInformer against a fake API server', () => {
  let api: FakeApi;
  let client: RestClient;
  let informer: RawInformer<KubeObject & Record<string, unknown>>;
  let watches: http.ServerResponse[];
  let listed: Array<KubeObject & Record<string, unknown>>;
  let listRv: string;
  const events: string[] = [];

  beforeEach(async () => {
    api = await FakeApi.start();
    client = new RestClient({ server: `http://127.0.0.1:${api.port}`, credentials: () => Promise.resolve({ tls: {}, headers: {} }) }, 1000);
    watches = [];
    events.length = 0;
    listed = [obj('a', '1'), obj('b', '2')];
    listRv = '10';
    api.route = (req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        watches.push(res);
      } else json(res, 200, { metadata: { resourceVersion: listRv }, items: listed });
    };
    informer = new RawInformer(client, '/api/v1/things', { log, trim: (o) => delete o.big, watchTimeoutSeconds: 30 });
    informer.on((o, ev) => events.push(`${ev} ${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`));
  });
  afterEach(async () => {
    await informer.stop();
    client.close();
    await api.close();
  });

  test('lists, then applies watch events streamed in pieces; trims before caching', async () => {
    await informer.start();
    expect(informer.synced && informer.healthy).toBe(true);
    expect(events).toEqual(['add a@1', 'add b@2']);
    await until('the watch', () => watches.length === 1);
    expect(api.requests.at(-1)?.url).toContain('resourceVersion=10');
    const stream = line('MODIFIED', obj('a', '11', { big: 'x'.repeat(100) })) + line('ADDED', obj('c', '12')) + line('DELETED', obj('b', '13'));
    // written in 7-byte pieces so JSON lines cross chunk boundaries
    for (let i = 0; i < stream.length; i += 7) {
      watches[0].write(stream.slice(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    await until('three events', () => events.length === 5);
    expect(events.slice(2)).toEqual(['update a@11', 'add c@12', 'delete b@13']);
    expect(informer.get('a', 'ns')).toEqual(obj('a', '11'));
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['a', 'c']);
    expect(informer.list('ns')).toHaveLength(2);
    // bookmarks move the resourceVersion only; the next watch starts from it
    watches[0].write(line('BOOKMARK', { metadata: { resourceVersion: '20' } }));
    await new Promise((r) => setTimeout(r, 20));
    watches[0].end();
    await until('a second watch', () => watches.length === 2);
    expect(api.requests.at(-1)?.url).toContain('resourceVersion=20');
    expect(events).toHaveLength(5);
  });

  test('410 Gone relists at once: vanished objects are deleted, changed ones updated, unchanged ones quiet', async () => {
    await informer.start();
    await until('the watch', () => watches.length === 1);
    listed = [obj('a', '1'), obj('c', '30')];
    listRv = '31';
    watches[0].write(line('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' }));
    await until('the relist and a new watch', () => watches.length === 2);
    expect(events.slice(2)).toEqual(['delete b@2', 'add c@30']);
    expect(api.requests.at(-1)?.url).toContain('resourceVersion=31');
    expect(informer.healthy).toBe(true);
  });

  describe('lists in pages (limit/continue)', () => {
    // The fake pages `listed` as kube-apiserver does: at most `limit` items, a continue token while more remain.
    let expireAt: string | undefined;
    beforeEach(() => {
      expireAt = undefined;
      listed = Array.from({ length: 1200 }, (_, i) => obj(`o${i}`, String(i + 1), { big: 'x'.repeat(50) }));
      listRv = '5000';
      const route = api.route;
      api.route = (req, res, body) => {
        const q = new URL(req.url ?? '', 'http://x').searchParams;
        if (q.get('watch') === 'true' || !q.get('limit')) return route(req, res, body);
        if (q.get('continue') !== null && q.get('continue') === expireAt) return json(res, 410, { kind: 'Status', code: 410, reason: 'Expired' });
        const from = Number(q.get('continue') ?? 0);
        const to = from + Number(q.get('limit'));
        json(res, 200, { metadata: { resourceVersion: listRv, ...(to < listed.length && { continue: String(to) }) }, items: listed.slice(from, to) });
      };
    });
    const lists = (): URLSearchParams[] => api.requests.map((r) => new URL(r.url, 'http://x').searchParams).filter((q) => q.get('watch') !== 'true');

    test('pages of 500 joined into one cache; each object trimmed; the watch starts from the list', async () => {
      await informer.start();
      expect(lists().map((q) => [q.get('limit'), q.get('continue')])).toEqual([['500', null], ['500', '500'], ['500', '1000']]);
      expect(informer.list()).toHaveLength(1200);
      expect(events).toHaveLength(1200);
      expect(informer.get('o1100', 'ns')).toEqual(obj('o1100', '1101'));
      await until('the watch', () => watches.length === 1);
      expect(api.requests.at(-1)?.url).toContain('resourceVersion=5000');
    });

    test('an expired continue token falls back to one full list, nothing duplicated', async () => {
      expireAt = '1000';
      await informer.start();
      expect(lists().map((q) => [q.get('limit'), q.get('continue')])).toEqual([['500', null], ['500', '500'], ['500', '1000'], [null, null]]);
      expect(informer.list()).toHaveLength(1200);
      expect(events).toHaveLength(1200);
      expect(informer.healthy).toBe(true);
    });
  });

  describe("adopt: our own write's answer in place of the version it was made on", () => {
    test('taken only on that version, trimmed, with no handler called', async () => {
      await informer.start();
      expect(informer.adopt(obj('b', '12', { big: 'x' }), '1')).toBe(false); // b is at 2, not 1
      expect(informer.adopt(obj('zz', '13'), '1')).toBe(false); // not in the cache
      expect(informer.adopt(obj('a', '11', { big: 'x' }), undefined)).toBe(false);
      expect(informer.adopt(obj('a', '11', { big: 'x' }), '1')).toBe(true);
      expect(informer.get('a', 'ns')).toEqual(obj('a', '11'));
      expect(informer.get('b', 'ns')).toEqual(obj('b', '2'));
      expect(events).toEqual(['add a@1', 'add b@2']);
    });

    test("the watch's copy of that version is skipped unparsed, newer ones are not; the next watch starts after it", async () => {
      await informer.start();
      await until('the watch', () => watches.length === 1);
      informer.adopt(obj('a', '11'), '1');
      const parse = jest.spyOn(JSON, 'parse');
      try {
        // the echo of the adopted write, as kube-apiserver writes it (kind, apiVersion, uid first), then a newer version
        const echo = `${JSON.stringify({ type: 'MODIFIED', object: { kind: 'Thing', apiVersion: 'v1', metadata: { name: 'a', namespace: 'ns', uid: 'u-a', resourceVersion: '11' }, big: 'y' } })}\n`;
        watches[0].write(echo + line('MODIFIED', obj('a', '14')));
        await until('the newer version', () => events.length === 3);
        const parsed = parse.mock.calls.map(([text]) => String(text)).filter((t) => t.includes('"name":"a"'));
        expect(parsed).toHaveLength(1);
        expect(parsed[0]).toContain('"resourceVersion":"14"');
      } finally {
        parse.mockRestore();
      }
      expect(events.slice(2)).toEqual(['update a@14']);
      // an echo as the last line: the watch resumes after it, not before it
      informer.adopt(obj('b', '15'), '2');
      watches[0].write(line('MODIFIED', obj('b', '15')));
      await new Promise((r) => setTimeout(r, 20));
      watches[0].end();
      await until('a second watch', () => watches.length === 2);
      expect(api.requests.at(-1)?.url).toContain('resourceVersion=15');
      expect(events).toHaveLength(3);
      expect(informer.get('b', 'ns')).toEqual(obj('b', '15'));
    });
  });

  test('a failed watch marks it unhealthy and retries with backoff, without relisting', async () => {
    await informer.start();
    await until('the watch', () => watches.length === 1);
    let fail = true;
    const route = api.route;
    api.route = (req, res, body) => (fail && req.url?.includes('watch=true') ? json(res, 500, { message: 'boom' }) : route(req, res, body));
    watches[0].end();
    await until('unhealthy', () => !informer.healthy);
    fail = false;
    await until('healthy again', () => informer.healthy && watches.length === 2);
    expect(api.requests.filter((r) => !r.url.includes('watch=true'))).toHaveLength(1);
  });

  test('start retries a failing first list until it succeeds; stop ends the watch', async () => {
    let failures = 2;
    const route = api.route;
    api.route = (req, res, body) => (failures-- > 0 ? json(res, 503, {}) : route(req, res, body));
    await informer.start();
    expect(informer.synced).toBe(true);
    await until('the watch', () => watches.length === 1);
    const closed = new Promise((r) => watches[0].on('close', r));
    await informer.stop();
    await closed;
    expect(informer.healthy).toBe(false);
    // started again at once: lists and watches again (the stopped loop does not hold it back)
    await informer.start();
    await until('a new watch', () => watches.length === 2);
    expect(informer.healthy).toBe(true);
  });

  // kube-apiserver v1.20 force-closes a watcher that fell behind in a burst but leaves the HTTP
  // response open and silent (src/k8s/watch-stall.ts): the fake does exactly that.
  describe('a watch that goes silent after a burst (force-closed, never ended)', () => {
    const QUIET_MS = 300;
    const burst = (from: number, n: number): string => Array.from({ length: n }, (_, i) => line('ADDED', obj(`s${from + i}`, String(100 + from + i)))).join('');
    beforeEach(async () => {
      await informer.stop();
      const opts = { log, watchTimeoutSeconds: 30, watchStall: { burstEvents: 20, windowMs: 1000, quietMs: QUIET_MS } };
      informer = new RawInformer(client, '/api/v1/things', opts);
      informer.on((o, ev) => events.push(`${ev} ${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`));
    });

    test('is restarted from its last resourceVersion once the silence outlasts quietMs; later events arrive', async () => {
      await informer.start();
      await until('the watch', () => watches.length === 1);
      const t0 = Date.now();
      watches[0].write(burst(0, 25));
      await until('the burst', () => events.length === 27);
      // the server "forgets" the watcher here: nothing more on this response, and no end
      await until('a second watch', () => watches.length === 2, 10 * QUIET_MS);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(QUIET_MS - 20); // not before the quiet time (timer slack)
      expect(api.requests.at(-1)?.url).toContain('resourceVersion=124');
      watches[1].write(line('ADDED', obj('late', '200')));
      await until('the event after the restart', () => events.includes('add late@200'));
      expect(informer.healthy).toBe(true);
    });

    test('a few events and then silence is a quiet cluster, not a stall: the watch is left alone', async () => {
      await informer.start();
      await until('the watch', () => watches.length === 1);
      watches[0].write(burst(0, 19)); // one short of a burst
      await until('the events', () => events.length === 21);
      await new Promise((r) => setTimeout(r, 4 * QUIET_MS));
      expect(watches).toHaveLength(1);
    });

    test('a steady stream is not restarted while events keep coming', async () => {
      await informer.start();
      await until('the watch', () => watches.length === 1);
      watches[0].write(burst(0, 25));
      // events every QUIET_MS / 3 for 3 x QUIET_MS: never silent for QUIET_MS
      for (let i = 0; i < 9; i++) {
        await new Promise((r) => setTimeout(r, QUIET_MS / 3));
        watches[0].write(burst(100 + i, 1));
      }
      expect(watches).toHaveLength(1);
    });
  });
});
