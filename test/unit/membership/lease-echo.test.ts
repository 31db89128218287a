// Our Lease watch must show our own renewals (lease-echo.ts). Expected values by hand.
import type * as http from 'node:http';
import { RestClient } from '../../../src/k8s/rest';
import { OwnEcho, echoTimeoutMs } from '../../../src/speaker/membership/lease-echo';
import { LeaseMembership } from '../../../src/speaker/membership/lease-membership';
import type { Logger } from '../../../src/util/log';
import { FakeApi, json } from '../k8s/fake-api';

const log: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('echoTimeoutMs: half of duration - 2 renew - check, at least 100 ms', () => {
  it.each([
    [2000, 6000, 250, 875],
    [1000, 3000, 250, 375],
    [100, 1000, 250, 275],
    [2000, 4000, 250, 100],
  ])('renew %d ms, duration %d ms, check %d ms: %d ms', (renewMs, durationMs, checkMs, expected) => {
    expect(echoTimeoutMs(renewMs, durationMs, checkMs)).toBe(expected);
  });
});

describe('OwnEcho', () => {
  it('is stale once a write has not shown for longer than the timeout, and not before', () => {
    const e = new OwnEcho(300);
    e.wrote('10', 1000);
    expect(e.stale(1300)).toBe(false);
    expect(e.stale(1301)).toBe(true);
    e.saw('10');
    expect(e.stale(5000)).toBe(false);
  });

  it('a later revision shows every earlier write; an unrelated one shows none', () => {
    const e = new OwnEcho(300);
    e.wrote('10', 1000);
    e.wrote('12', 1100);
    e.saw('11'); // someone else's write of our Lease, or a relist between ours: 10 arrived
    expect(e.stale(1500)).toBe(true); // 12, written at 1100, is 400 ms old
    e.saw('12');
    expect(e.stale(1500)).toBe(false);
    e.wrote('abc', 2000); // not a decimal revision: only its own value shows it
    e.saw('99');
    expect(e.stale(2301)).toBe(true);
    e.saw('abc');
    expect(e.stale(2301)).toBe(false);
  });

  it('a write shown also shows every write before it, whatever its form', () => {
    const e = new OwnEcho(300);
    e.wrote('abc', 1000);
    e.wrote('20', 1100);
    e.saw('25'); // a later revision (our next write, or a relist): 20 arrived, and abc before it
    expect(e.stale(5000)).toBe(false);
  });

  it('a watch event that arrives before our write\'s response shows that write', () => {
    // The server sends both when the write commits; the watch can be read first (seen in the lab:
    // 69 false "stale" warnings in one heartbeat-flood run before this).
    const e = new OwnEcho(300);
    e.saw('30');
    e.wrote('30', 1000);
    expect(e.stale(5000)).toBe(false);
    e.wrote('31', 6000);
    expect(e.stale(6301)).toBe(true);
  });

  it('asks for a watch restart once per timeout while stale', () => {
    const e = new OwnEcho(300);
    e.wrote('10', 1000);
    expect(e.shouldRestart(1300)).toBe(false);
    expect(e.shouldRestart(1301)).toBe(true);
    expect(e.shouldRestart(1400)).toBe(false);
    expect(e.shouldRestart(1601)).toBe(true);
    e.saw('10');
    expect(e.shouldRestart(3000)).toBe(false);
  });
});

describe('LeaseMembership with a Lease watch that goes silent but stays open', () => {
  let api: FakeApi;
  let client: RestClient;
  let peerTimer: NodeJS.Timeout | undefined;

  beforeEach(async () => {
    api = await FakeApi.start();
    client = new RestClient({ server: `http://127.0.0.1:${api.port}`, credentials: () => Promise.resolve({ tls: {}, headers: {} }) }, 5000);
  });
  afterEach(async () => {
    clearInterval(peerTimer);
    client.close();
    await api.close();
  });

  it('does not prove a renewing peer dead while its own renewals go through, and watches again', async () => {
    // A fake API server: node-b renews every 100 ms; every write shows in every watch that is
    // open, except watches that were open when the test black-holes them (a dead connection
    // that never ends); a new watch starts with the current Leases.
    let rv = 1;
    const leases = new Map<string, { metadata: { name: string; namespace: string; resourceVersion: string }; spec: { holderIdentity: string; leaseDurationSeconds: number } }>();
    const put = (node: string): unknown => {
      const l = { metadata: { name: `ironlb-speaker-${node}`, namespace: 'ironlb-system', resourceVersion: String(++rv) }, spec: { holderIdentity: node, leaseDurationSeconds: 1 } };
      leases.set(node, l);
      for (const w of watches) if (!w.dead) w.res.write(`${JSON.stringify({ type: 'MODIFIED', object: l })}\n`);
      return l;
    };
    const watches: Array<{ res: http.ServerResponse; dead: boolean }> = [];
    api.route = (req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (req.method === 'GET' && url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        watches.push({ res, dead: false });
        for (const l of leases.values()) res.write(`${JSON.stringify({ type: 'MODIFIED', object: l })}\n`);
      } else if (req.method === 'GET' && url.pathname.endsWith('/leases')) {
        json(res, 200, { metadata: { resourceVersion: String(rv) }, items: [...leases.values()] });
      } else if (req.method === 'PUT' || req.method === 'POST') {
        json(res, req.method === 'POST' ? 201 : 200, put('node-a'));
      } else json(res, 404, { code: 404 });
    };
    put('node-b');
    peerTimer = setInterval(() => put('node-b'), 100);

    // The fake sends the watch event of our write before the write's response, as a real server may.
    const warnings: string[] = [];
    const recording = { ...log, warn: (msg: string) => void warnings.push(msg) } as Logger;
    const m = new LeaseMembership({ kc: client, namespace: 'ironlb-system', nodeName: 'node-a', renewIntervalMs: 100, leaseDurationSeconds: 1, log: recording });
    await m.start();
    await sleep(1000);
    expect([...m.alive()].sort()).toEqual(['node-a', 'node-b']);
    expect(warnings).toEqual([]); // a healthy watch is never taken for a stale one
    let lostB = false;
    m.onChange(() => {
      if (!m.alive().has('node-b')) lostB = true;
    });
    const watchesBefore = watches.length;
    for (const w of watches) w.dead = true;
    // Two Lease durations: a false proof would come after one.
    await sleep(2000);
    await m.stop();
    expect(lostB).toBe(false);
    expect(watches.length).toBeGreaterThan(watchesBefore); // it watched again
    expect([...m.alive()]).toContain('node-b');
  });
});
