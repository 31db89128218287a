// The speaker's Lease on leaving (c9aa31b): a renewal still in flight when the speaker stops must
// not land after the Lease is deleted. Before that fix stop() deleted at once; the renewal then
// met a 404 and, taking it for a Lease lost to someone else, created the Lease again, so a
// speaker that had left looked alive to its peers for another Lease duration.
// Against a fake API server (test/unit/k8s/fake-api.ts) that holds the renewal's PUT while the
// speaker stops, and answers it as a real server would: 404 once the Lease was deleted.
import type * as http from 'node:http';
import { RestClient } from '../../../src/k8s/rest';
import { LeaseMembership, proofDueAt } from '../../../src/speaker/membership/lease-membership';
import type { Logger } from '../../../src/util/log';
import { FakeApi, json } from '../k8s/fake-api';

const log: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('LeaseMembership.stop with a renewal in flight', () => {
  let api: FakeApi;
  let client: RestClient;

  beforeEach(async () => {
    api = await FakeApi.start();
    client = new RestClient({ server: `http://127.0.0.1:${api.port}`, credentials: () => Promise.resolve({ tls: {}, headers: {} }) }, 5000);
  });
  afterEach(async () => {
    client.close();
    await api.close();
  });

  it('deletes the Lease only after the renewal finished, and never writes it again', async () => {
    const LEASE = '/apis/coordination.k8s.io/v1/namespaces/ironlb-system/leases/ironlb-speaker-node-a';
    /** What the Lease went through, in the order the fake server saw (and answered) it. */
    const history: string[] = [];
    let deleted = false;
    let heldPut: http.ServerResponse | undefined;
    let rv = 1;
    api.route = (req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      const lease = (): unknown => ({ metadata: { name: 'ironlb-speaker-node-a', namespace: 'ironlb-system', resourceVersion: String(++rv) }, spec: { holderIdentity: 'node-a' } });
      if (req.method === 'GET' && url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders(); // a watch that stays open and quiet
      } else if (req.method === 'GET' && url.pathname !== LEASE) {
        json(res, 200, { metadata: { resourceVersion: '1' }, items: [] });
      } else if (req.method === 'GET') {
        history.push('get');
        json(res, deleted ? 404 : 200, deleted ? { code: 404 } : lease());
      } else if (req.method === 'POST') {
        history.push(deleted ? 'create after delete' : 'create');
        deleted = false;
        json(res, 201, lease());
      } else if (req.method === 'PUT' && !heldPut && history.length === 1) {
        history.push('renewal held');
        heldPut = res; // the first renewal after start: answered by the test
      } else if (req.method === 'PUT') {
        history.push(deleted ? 'renewal after delete' : 'renewal');
        json(res, deleted ? 404 : 200, deleted ? { code: 404 } : lease());
      } else if (req.method === 'DELETE') {
        history.push(heldPut && !heldPut.writableEnded ? 'delete while renewal in flight' : 'delete');
        deleted = true;
        json(res, 200, {});
      }
    };

    const renewMs = 100;
    const m = new LeaseMembership({ kc: client, namespace: 'ironlb-system', nodeName: 'node-a', renewIntervalMs: renewMs, log });
    await m.start();
    // The first renewal comes one renew interval after start.
    await until('the first renewal', () => heldPut !== undefined, 20 * renewMs);
    const stopped = m.stop();
    // stop() has had time to delete if it does not wait (it needs no timer to get there).
    await sleep(200);
    const put = heldPut as http.ServerResponse;
    if (deleted) json(put, 404, { code: 404 });
    else {
      history.push('renewal answered');
      json(put, 200, { metadata: { name: 'ironlb-speaker-node-a', resourceVersion: String(++rv) }, spec: {} });
    }
    await stopped;
    // Anything the stopped speaker would still write arrives within a few renew intervals.
    await sleep(5 * renewMs);
    expect(history).toEqual(['create', 'renewal held', 'renewal answered', 'delete']);
  });
});

describe('proofDueAt: when a renewal of ours proves a silent peer dead', () => {
  // Worked by hand: a peer is proved dead by a renewal of ours that succeeds more than its Lease
  // duration after it was last seen renewing (or after the API server came back, if later). The
  // proof renewal is wanted only when that moment comes before our next regular renewal
  // (lastOwnRenew + renewMs); one already proved (due <= lastOwnRenew) needs none.
  const peer = (observedAt: number, durationMs = 3000): { observedAt: number; durationMs: number } => ({ observedAt, durationMs });
  test.each([
    // peers, apiUpSince, lastOwnRenew, renewMs, due
    ['one peer due before our next renewal', [peer(10_000)], 0, 12_500, 1000, 13_001],
    ['due exactly at our next renewal: the regular one comes first', [peer(10_500)], 0, 12_501, 1000, undefined],
    ['already proved by our last renewal', [peer(9_000)], 0, 12_500, 1000, undefined],
    ['a healthy peer (seen renewing just now) is not due', [peer(12_400)], 0, 12_500, 1000, undefined],
    ['the earliest of two due peers', [peer(10_200), peer(10_100)], 0, 12_500, 1000, 13_101],
    ['silence counts only from the API server\'s return', [peer(5_000)], 9_800, 12_500, 1000, 12_801],
    ['a longer Lease is due later', [peer(8_000, 6000)], 0, 12_500, 2000, 14_001],
    ['no peers', [], 0, 12_500, 1000, undefined],
  ] as const)('%s', (_what, peers, apiUpSince, lastOwnRenew, renewMs, due) => {
    expect(proofDueAt(peers, apiUpSince, lastOwnRenew, renewMs)).toBe(due);
  });
});
