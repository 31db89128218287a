// Issue 14 item 6 end to end: one BGP peer must not starve the speaker. Two speakers with
// heartbeats on (sub-second failover: a peer is dead after 5 missed 100 ms heartbeats) peer with
//  1. a real BIRD 2 that exports a full table of 1,000,000 IPv4 routes to them (static routes, one
//     UPDATE each):
//     each speaker's event-loop lag, as Node's own monitor (perf_hooks.monitorEventLoopDelay, read
//     through prom-client's nodejs_eventloop_lag_* metrics) measures it, must stay under 100 ms at
//     p99, and no membership change may happen;
//  2. a hostile peer that sends ROUTE-REFRESH in a loop and never reads: the speakers' resident
//     memory must stay bounded, and again no membership change may happen.
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { eventually } from '../harness/kube';
import { L2Lab, LAN_V4_PREFIX, type NodeHost } from '../harness/l2-lab';
import { waitForLog } from '../harness/processes';
import { startBird, type Router } from '../harness/routers';
import { metric, routeRefreshFlooder, rssBytes, scrape, writeFullTable } from '../harness/bgp-attack';
import { haveProgram, type Host } from '../helpers/netns';

jest.setTimeout(600_000);

const RTR_V4 = `${LAN_V4_PREFIX}.254`;
const ROUTER_ASN = 64512;
const SPEAKER_ASN = 64600;
const HOLD_SECONDS = 9;
const FULL_TABLE = 1_000_000;
/** The bound of issue 14: event-loop lag p99 while the full table arrives. */
const LAG_P99_LIMIT_MS = 100;
/** Resident memory a speaker may gain during the ROUTE-REFRESH flood (GC slack; unbounded growth runs far past it). */
const RSS_GROWTH_LIMIT = 48 * 1024 * 1024;
const FLOOD_SECONDS = 30;
const STARTUP_MS = 180_000;

const POOLS = `address-pools:
- name: bgp
  protocol: bgp
  addresses: [203.0.113.0/28]
`;
const WITH_PEER = `peers:
- peer-address: ${RTR_V4}
  peer-asn: ${ROUTER_ASN}
  my-asn: ${SPEAKER_ASN}
  hold-time: ${HOLD_SECONDS}s
${POOLS}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('BGP: a hostile router cannot starve the speaker', () => {
  let l2: L2Lab;
  let rtr: Host;
  let dir: string;
  const base = (n: NodeHost): string => `http://${n.ipv4}:7472`;

  beforeAll(async () => {
    if (!haveProgram('bird') || !haveProgram('ss')) throw new Error('bird or ss is missing: apt-get install -y bird2 iproute2');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-hostile-'));
    await fs.chmod(dir, 0o755);
    await writeFullTable(path.join(dir, 'full-table.conf'), FULL_TABLE);
    l2 = await L2Lab.create({ nodes: 2 });
    rtr = await l2.lab.addHost('rtr', { ipv4: `${RTR_V4}/24` });
    await l2.kit.applyConfig('ironlb-system', 'config', POOLS);
    // Start-up waits are generous: on a loaded 2-core machine ts-node alone can take a minute.
    await waitForLog(l2.startController(), 'caches synced', STARTUP_MS);
    for (const n of l2.nodes) l2.startSpeaker(n, ['--metrics-addr', `${n.ipv4}:7472`]);
    await Promise.all(l2.nodes.map((n) => waitForLog(n.speaker!, 'speaker started', STARTUP_MS)));
    // Routes to send (and re-send on ROUTE-REFRESH): four Services of the bgp pool.
    for (let i = 0; i < 4; i++) {
      await l2.kit.createLB('default', `svc-${i}`, { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] });
      await l2.setEndpoints('default', `svc-${i}`, l2.nodes.map((n) => n.nodeName));
      await l2.kit.waitIPs('default', `svc-${i}`);
    }
    for (const n of l2.nodes) {
      await eventually(`${n.nodeName} sees both speakers`, async () => (metric(await scrape(base(n)), 'ironlb_speaker_members_alive') === 2 ? true : undefined), 30_000, 200);
    }
  });

  afterAll(async () => {
    await l2?.destroy();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** Membership changes (or isolation) a speaker logged since record `from`. */
  function membershipChanges(n: NodeHost, from: number): Array<Record<string, unknown>> {
    return (n.speaker?.logs() ?? []).slice(from).filter((l) => l.msg === 'speaker membership changed' || String(l.msg).startsWith('isolated'));
  }

  /** Send-Q of BIRD's and Recv-Q of the speakers' BGP connections: both 0 once a speaker has read everything. */
  async function queued(): Promise<number> {
    const lines = async (ns: string, filter: string): Promise<number[]> =>
      (await l2.lab.exec(ns, ['ss', '-Htn', 'state', 'established', filter])).stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.trim().split(/\s+/))
        .map((cols) => Number(cols[0]) + Number(cols[1]));
    const counts = [...(await lines(rtr.ns, '( sport = :179 )')), ...(await Promise.all(l2.nodes.map((n) => lines(n.ns, '( dport = :179 )')))).flat()];
    return counts.length === 2 * l2.nodes.length ? counts.reduce((a, b) => a + b, 0) : -1;
  }

  /** True once BIRD has exported the whole table to every speaker and every octet has been read. */
  async function fullTableDelivered(router: Router, deadline: number): Promise<boolean> {
    let quiet = 0;
    while (Date.now() < deadline) {
      const exported = await Promise.all(l2.nodes.map(async (_, i) => Number(/(\d+) exported/.exec(await router.cli(`show protocols all n${i + 1}`))?.[1] ?? 0)));
      quiet = exported.every((e) => e >= FULL_TABLE) && (await queued()) === 0 ? quiet + 1 : 0;
      if (quiet >= 3) return true;
      await sleep(500);
    }
    return false;
  }

  it(`keeps event-loop lag p99 under ${LAG_P99_LIMIT_MS} ms and membership unchanged while BIRD sends ${FULL_TABLE} routes`, async () => {
    const router = await startBird(l2.lab, rtr, {
      asn: ROUTER_ASN,
      routerId: RTR_V4,
      localAddress: RTR_V4,
      holdTime: HOLD_SECONDS,
      neighbors: l2.nodes.map((n) => ({ address: n.ipv4 ?? '', asn: SPEAKER_ASN })),
      birdExtraConfig: `include "${path.join(dir, 'full-table.conf')}";`,
      birdExportV4: 'where proto = "full"',
      // Parsing a million routes takes BIRD ~10 s alone; far more on a loaded machine.
      startTimeoutMs: 180_000,
    });
    try {
      for (const n of l2.nodes) await scrape(base(n)); // prom-client restarts its event-loop histogram on each scrape
      const marks = l2.nodes.map((n) => n.speaker?.logs().length ?? 0);
      const t0 = Date.now();
      await l2.kit.applyConfig('ironlb-system', 'config', WITH_PEER);
      const delivered = await fullTableDelivered(router, t0 + 240_000);
      const took = Date.now() - t0;
      const texts = await Promise.all(l2.nodes.map((n) => scrape(base(n))));
      const report = l2.nodes.map((n, i) => ({
        node: n.nodeName,
        loopLagP99Ms: Math.round(metric(texts[i], 'ironlb_speaker_nodejs_eventloop_lag_p99_seconds') * 1000),
        loopLagMaxMs: Math.round(metric(texts[i], 'ironlb_speaker_nodejs_eventloop_lag_max_seconds') * 1000),
        updates: metric(texts[i], 'ironlb_bgp_messages_received_total', { type: 'update' }),
        membershipChanges: membershipChanges(n, marks[i]).length,
      }));
      process.stdout.write(`full table (${FULL_TABLE} routes) ${delivered ? 'delivered' : 'NOT delivered'} in ${took} ms: ${JSON.stringify(report)}\n`);
      expect(delivered).toBe(true);
      for (const r of report) expect(r.loopLagP99Ms).toBeLessThan(LAG_P99_LIMIT_MS);
      for (const [i, n] of l2.nodes.entries()) expect(membershipChanges(n, marks[i])).toEqual([]);
      expect((await router.established()).length).toBe(l2.nodes.length);
    } finally {
      await router.stop();
    }
  });

  it('keeps memory bounded and membership unchanged under a ROUTE-REFRESH flood from a peer that never reads', async () => {
    const flooder = l2.lab.spawn(rtr, [process.execPath, '-e', routeRefreshFlooder(RTR_V4, ROUTER_ASN, HOLD_SECONDS)]);
    let out = '';
    flooder.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    flooder.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // The speakers dial the address BIRD had (after the first test: redial, backoff from 1 s).
      await l2.kit.applyConfig('ironlb-system', 'config', WITH_PEER);
      for (const n of l2.nodes) {
        await eventually(`${n.nodeName} Established with the flooder`, async () => {
          const up = metric(await scrape(base(n)), 'ironlb_bgp_session_up', { peer: `${RTR_V4}:179` });
          return up === 1 && out.includes('connected') ? true : undefined;
        }, 60_000, 250);
      }
      await sleep(3000); // let the kernel's socket buffers fill up first
      const marks = l2.nodes.map((n) => n.speaker?.logs().length ?? 0);
      const before = await Promise.all(l2.nodes.map((n) => rssBytes(n.speaker!.pid)));
      const peak = [...before];
      for (let s = 0; s < FLOOD_SECONDS; s++) {
        await sleep(1000);
        const now = await Promise.all(l2.nodes.map((n) => rssBytes(n.speaker!.pid)));
        now.forEach((v, i) => (peak[i] = Math.max(peak[i], v)));
      }
      const texts = await Promise.all(l2.nodes.map((n) => scrape(base(n))));
      const report = l2.nodes.map((n, i) => ({
        node: n.nodeName,
        rssBeforeMB: Math.round(before[i] / 2 ** 20),
        rssPeakMB: Math.round(peak[i] / 2 ** 20),
        refreshesReceived: metric(texts[i], 'ironlb_bgp_messages_received_total', { type: 'route-refresh' }),
        updatesSent: metric(texts[i], 'ironlb_bgp_messages_sent_total', { type: 'update' }),
        sessionDowns: texts[i].split('\n').filter((l) => l.startsWith('ironlb_bgp_session_down_total{')).join(' '),
        membershipChanges: membershipChanges(n, marks[i]).length,
      }));
      process.stdout.write(`ROUTE-REFRESH flood for ${FLOOD_SECONDS} s: ${JSON.stringify(report)}\n`);
      for (const [i, n] of l2.nodes.entries()) {
        expect(n.speaker?.child.exitCode).toBeNull();
        expect(peak[i] - before[i]).toBeLessThan(RSS_GROWTH_LIMIT);
        expect(membershipChanges(n, marks[i])).toEqual([]);
      }
    } finally {
      flooder.kill('SIGKILL');
    }
  });
});
