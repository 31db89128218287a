// End-to-end check of the layer-2 responder on a namespace LAN:
//
//   client (198.51.100.10, 2001:db8:100::10) ---- br0 ---- n1 (198.51.100.11, 2001:db8:100::11)
//                                                           lo: 198.51.100.90, 2001:db8:100::90
//
// The service addresses sit on n1's lo with arp_ignore=1/arp_announce=2, so n1's kernel accepts
// their traffic but never answers ARP/NS for them: only the responder (running in n1 through
// test/helpers/responder-host.ts) makes them reachable. Needs root, iproute2, arping, ndisc6,
// ping and the native addon; skipped with a message otherwise.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tryLoadNative } from '../../src/net/native';
import { BROADCAST_MAC, formatMac, parseIPv4, parseIPv6, parseMac } from '../../src/protocol/address';
import { ArpOperation, buildArpRequest, decodeArpFrame } from '../../src/protocol/arp';
import { buildNeighborSolicitation, decodeNdpFrame, findLinkLayerAddress } from '../../src/protocol/ndp';
import { DEFAULT_TIMING, type ResponderStats } from '../../src/speaker/layer2/responder';
import { haveProgram, Host, Lab, labUnavailableReason } from '../helpers/netns';
import { probe, ResponderHost } from '../helpers/responder-host';

const VIP4 = '198.51.100.90';
const VIP6 = '2001:db8:100::90';
const STALE_MAC = '02:00:5e:00:00:99';

function skipReason(): string | undefined {
  const lab = labUnavailableReason();
  if (lab) return lab;
  if (!tryLoadNative()) return 'native addon not built (npm run build:native)';
  for (const p of ['arping', 'ndisc6', 'ping']) if (!haveProgram(p)) return `${p} is not installed`;
  return undefined;
}

const reason = skipReason();
if (reason) {
  console.warn(`skipping net-responder e2e: ${reason}`);
}
const d = reason ? describe.skip : describe;

/** Habets arping (Debian "arping") or iputils arping: different flags and output. */
function arpingFlavour(): 'habets' | 'iputils' {
  let help = '';
  try {
    help = execFileSync('arping', ['--help'], { stdio: 'pipe' }).toString();
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    help = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  return /habets/i.test(help) ? 'habets' : 'iputils';
}

d('layer-2 responder in network namespaces', () => {
  jest.setTimeout(120_000);
  let lab: Lab;
  let client: Host;
  let node: Host;
  let responder: ResponderHost;
  let attacker: Host;
  /** bench/arp-flood.c, built for the flood test (undefined without gcc). */
  let flooder: string | undefined;
  const flavour = reason ? 'habets' : arpingFlavour();

  /** MACs of the ARP replies arping saw for `ip`. */
  async function arping(ip: string, count: number): Promise<string[]> {
    const argv =
      flavour === 'habets'
        ? ['arping', '-c', String(count), '-W', '0.3', '-i', client.ifname, ip]
        : ['arping', '-c', String(count), '-w', String(count), '-I', client.ifname, ip];
    const r = await lab.exec(client, argv, { allowFailure: true, timeoutMs: 20_000 });
    return r.stdout
      .split('\n')
      .filter((l) => l.includes(ip) && /bytes from|reply from/i.test(l))
      .map((l) => (/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i.exec(l)?.[1] ?? '').toLowerCase());
  }

  async function ndisc(ip: string): Promise<string | undefined> {
    const r = await lab.exec(client, ['ndisc6', '-1', '-q', '-r', '2', '-w', '400', ip, client.ifname], { allowFailure: true });
    return r.code === 0 ? r.stdout.trim().toLowerCase() : undefined;
  }

  async function stats(): Promise<ResponderStats> {
    return responder.stats<ResponderStats>();
  }

  async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  beforeAll(async () => {
    lab = await Lab.create();
    client = await lab.addHost('client', { ipv4: '198.51.100.10/24', ipv6: '2001:db8:100::10/64' });
    node = await lab.addHost('n1', { ipv4: '198.51.100.11/24', ipv6: '2001:db8:100::11/64' });
    attacker = await lab.addHost('atk', { ipv4: '198.51.100.66/24' });
    await lab.addServiceAddress(node, { ipv4: VIP4, ipv6: VIP6 });
    responder = await ResponderHost.start(lab, node, { timing: { refreshIntervalMs: 0, statsIntervalMs: 200 } });
    if (haveProgram('gcc')) {
      flooder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ironlb-arp-flood-')), 'arp-flood');
      execFileSync('gcc', ['-O2', '-o', flooder, path.join(__dirname, '..', '..', 'bench', 'arp-flood.c')]);
    }
  });

  afterAll(async () => {
    await responder?.stop();
    await lab?.destroy();
    if (flooder) fs.rmSync(path.dirname(flooder), { recursive: true, force: true });
  });

  it('listens on the node NIC (the exclude list is overridable: eth0 is a veth peer here)', () => {
    const eth0 = responder.interfaces.find((i) => i.name === 'eth0');
    expect(eth0).toMatchObject({ ifindex: node.ifindex, mac: node.mac });
  });

  it('baseline: nothing answers for the service address before it is owned', async () => {
    expect(await arping(VIP4, 2)).toEqual([]);
    expect(await ndisc(VIP6)).toBeUndefined();
  });

  it('answers ARP for an owned address, exactly once per request, with the node MAC', async () => {
    await responder.setAddresses([VIP4, VIP6]);
    const macs = await arping(VIP4, 3);
    expect(macs).toEqual([node.mac, node.mac, node.mac]);
  });

  it('makes the address reachable: ping over IPv4 and IPv6', async () => {
    await lab.exec(client, ['ping', '-c', '2', '-i', '0.2', '-W', '2', VIP4]);
    await lab.exec(client, ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', VIP6]);
  });

  it('answers multicast NS (ndisc6) with the node MAC', async () => {
    expect(await ndisc(VIP6)).toBe(node.mac);
  });

  it('answers a unicast NUD probe without a source link-layer option, to the Ethernet source', async () => {
    const ns = buildNeighborSolicitation({
      sourceMac: parseMac(client.mac),
      sourceIp: parseIPv6(client.ipv6!),
      target: parseIPv6(VIP6),
      destinationIp: parseIPv6(VIP6),
      destinationMac: parseMac(node.mac),
      includeSourceLinkLayer: false,
    });
    const r = await probe(lab, client, { frames: [ns.toString('hex')], expect: 'neighborAdvertisement', waitMs: 500 });
    const nas = r.received.map((x) => decodeNdpFrame(Buffer.from(x.hex, 'hex'))).filter((x) => x.ok);
    // Only answers for VIP6 addressed to the client (gratuitous NAs of the ongoing burst go to
    // ff02::1). The node's kernel also answers the client kernel's own NUD probes for the node's
    // link-local address, solicited NAs from the same MAC, whenever that entry goes stale during
    // the capture (seen in 2 of 10 repeat runs at load ~6): those are not ours to count.
    const vip6 = parseIPv6(VIP6);
    const fromNode = nas.filter(
      (x) =>
        x.ok &&
        formatMac(x.value.ethernet.source) === node.mac &&
        x.value.message.type === 'neighborAdvertisement' &&
        x.value.message.solicited &&
        x.value.message.targetAddress.equals(vip6),
    );
    expect(fromNode).toHaveLength(1);
    const na = fromNode[0];
    if (!na.ok || na.value.message.type !== 'neighborAdvertisement') throw new Error('unreachable');
    expect(formatMac(na.value.ethernet.destination)).toBe(client.mac);
    expect(na.value.message).toMatchObject({ solicited: true, override: true });
    expect(formatMac(findLinkLayerAddress(na.value.message.options, 'targetLinkLayerAddress')!)).toBe(node.mac);
  });

  it('answers a unicast ARP request to its MAC and drops one addressed to another MAC', async () => {
    const before = await stats();
    const toUs = buildArpRequest(parseMac(client.mac), parseIPv4(client.ipv4!), parseIPv4(VIP4), parseMac(node.mac));
    const toOther = buildArpRequest(parseMac(client.mac), parseIPv4(client.ipv4!), parseIPv4(VIP4), parseMac('02:00:5e:00:00:01'));
    const r = await probe(lab, client, { frames: [toUs.toString('hex'), toOther.toString('hex')], expect: 'arpReply', waitMs: 500 });
    // Only answers addressed to the client (gratuitous replies of the ongoing burst are broadcast).
    const replies = r.received
      .map((x) => decodeArpFrame(Buffer.from(x.hex, 'hex')))
      .filter((x) => x.ok && formatMac(x.value.arp.targetHardwareAddress) === client.mac);
    expect(replies).toHaveLength(1);
    const reply = replies[0];
    if (!reply.ok) throw new Error('unreachable');
    expect(reply.value.arp.operation).toBe(ArpOperation.Reply);
    expect(formatMac(reply.value.arp.senderHardwareAddress)).toBe(node.mac);
    expect(formatMac(reply.value.ethernet.destination)).toBe(client.mac);
    await waitFor('badDst counter', async () => (await stats()).counters.drops.badDst > before.counters.drops.badDst);
  });

  it('announce() sends at once, also while a burst is running', async () => {
    // A burst that has sent its last frame may still have its window open for up to one interval;
    // an announce() then used to only extend the window and send nothing at all.
    await responder.setAddresses([]);
    await responder.setAddresses([VIP4, VIP6]); // a gain: a burst starts now
    const before = await stats();
    expect(before.announcing).toBe(2);
    await responder.announce(); // the worker sends before it acknowledges
    const after = await stats();
    expect(after.counters.gratuitous.arp - before.counters.gratuitous.arp).toBe(2); // request + reply
    expect(after.counters.gratuitous.ndp - before.counters.gratuitous.ndp).toBe(1);
  });

  it('a gratuitous burst replaces a stale MAC in the client neighbour table', async () => {
    await lab.ip(client.ns, ['neigh', 'replace', VIP4, 'lladdr', STALE_MAC, 'dev', client.ifname, 'nud', 'stale']);
    await lab.ip(client.ns, ['-6', 'neigh', 'replace', VIP6, 'lladdr', STALE_MAC, 'dev', client.ifname, 'nud', 'stale']);
    const mac = async (family: 4 | 6, ip: string) => (await lab.neighbours(client, family)).find((n) => n.dst === ip)?.lladdr;
    expect(await mac(4, VIP4)).toBe(STALE_MAC);
    const before = await stats();
    await responder.announce();
    // The first frames are on the wire before announce() resolves, and Linux applies a gratuitous
    // ARP request (sender IP = target IP) and an NA with the override flag whatever its locktime;
    // should a frame be lost, the burst repeats it one burstIntervalMs later: two intervals bound it.
    const bound = 2 * DEFAULT_TIMING.burstIntervalMs;
    await waitFor('IPv4 neighbour update', async () => (await mac(4, VIP4)) === node.mac, bound);
    await waitFor('IPv6 neighbour update', async () => (await mac(6, VIP6)) === node.mac, bound);
    const after = await stats();
    expect(after.counters.gratuitous.arp).toBeGreaterThanOrEqual(before.counters.gratuitous.arp + 2);
    expect(after.counters.gratuitous.ndp).toBeGreaterThanOrEqual(before.counters.gratuitous.ndp + 1);
  });

  it('hears link changes from the route monitor at once', async () => {
    const before = (await stats()).counters.linkEvents;
    const tmp = `${node.ifname.slice(0, 8)}m`;
    await lab.ip(node.ns, ['link', 'add', tmp, 'type', 'veth', 'peer', 'name', `${tmp}p`]);
    try {
      await waitFor('a link event', async () => (await stats()).counters.linkEvents > before, 2000);
    } finally {
      await lab.ip(node.ns, ['link', 'del', tmp]);
    }
  });

  it('announces owned addresses at once on an interface that comes back', async () => {
    await responder.setTiming({ burstDurationMs: 0 }); // no new bursts: every gratuitous frame below is the comeback's
    try {
      await waitFor('the earlier burst to end', async () => (await stats()).announcing === 0, 8000);
      await responder.setInterfaces([]);
      await lab.ip(client.ns, ['neigh', 'replace', VIP4, 'lladdr', STALE_MAC, 'dev', client.ifname, 'nud', 'stale']);
      const before = await stats();
      await responder.setInterfaces('scan');
      const after = await stats();
      expect(after.interfaces.map((i) => i.name)).toContain('eth0');
      expect(after.counters.gratuitous.arp).toBeGreaterThanOrEqual(before.counters.gratuitous.arp + 2);
      expect(after.counters.gratuitous.ndp).toBeGreaterThanOrEqual(before.counters.gratuitous.ndp + 1);
      const mac = async () => (await lab.neighbours(client, 4)).find((n) => n.dst === VIP4)?.lladdr;
      await waitFor('the client to learn the node MAC again', async () => (await mac()) === node.mac, 1000);
      // Unchanged interfaces are not re-announced.
      const again = await stats();
      await responder.setInterfaces('scan');
      expect((await stats()).counters.gratuitous.arp).toBe(again.counters.gratuitous.arp);
    } finally {
      await responder.setTiming({ burstDurationMs: 5000 });
    }
  });

  it('honours per-address interface limits (interfaceNotAllowed)', async () => {
    const before = await stats();
    await responder.setAddresses([{ address: VIP4, interfaces: ['nosuchif0'] }]);
    expect(await arping(VIP4, 1)).toEqual([]);
    const after = await stats();
    expect(after.counters.drops.interfaceNotAllowed).toBeGreaterThan(before.counters.drops.interfaceNotAllowed);
  });

  it('answers one source at most its burst at once (per-source limit, issue 14 item 7)', async () => {
    await responder.setAddresses([VIP4, VIP6]);
    const before = await stats();
    // 400 requests at once from one sender hardware address: the limit (100/s, burst 200,
    // DEFAULT_REPLY_LIMIT) lets the burst through, plus what refills while they arrive.
    const sha = '02:00:5e:00:00:42';
    const req = buildArpRequest(parseMac(sha), parseIPv4(client.ipv4!), parseIPv4(VIP4));
    const r = await probe(lab, client, { frames: Array.from({ length: 400 }, () => req.toString('hex')), expect: 'arpReply', waitMs: 500 });
    const replies = r.received.map((x) => decodeArpFrame(Buffer.from(x.hex, 'hex'))).filter((x) => x.ok && formatMac(x.value.arp.targetHardwareAddress) === sha);
    expect(replies.length).toBeGreaterThanOrEqual(200);
    expect(replies.length).toBeLessThan(260);
    await waitFor('rateLimited counter', async () => (await stats()).counters.drops.rateLimited - before.counters.drops.rateLimited >= 140);
  });

  it('does not reflect: a request with a broadcast sender hardware address gets no reply', async () => {
    const before = await stats();
    const req = buildArpRequest(parseMac(client.mac), parseIPv4(client.ipv4!), parseIPv4(VIP4));
    BROADCAST_MAC.copy(req, 22); // sender hardware address: where the reply would go
    const r = await probe(lab, client, { frames: [req.toString('hex')], expect: 'arpReply', waitMs: 300 });
    expect(r.received.filter((x) => x.hex.startsWith('ffffffffffff') && x.hex.slice(40, 44) === '0002' && x.hex.slice(64, 76) === 'ffffffffffff')).toEqual([]);
    await waitFor('badSender counter', async () => (await stats()).counters.drops.badSender > before.counters.drops.badSender);
  });

  it('keeps answering during a flood of requests for addresses it does not own', async () => {
    if (!flooder) {
      console.warn('skipped: no C compiler for bench/arp-flood.c');
      return;
    }
    const before = await stats();
    // 100k requests/s (the figure) for 3 s, bounded by timeout; sent to the node's MAC so
    // that the bridge does not copy them to every port.
    const flood = lab.exec(attacker, ['timeout', '6', flooder, String(attacker.ifindex), node.mac, '100000', '3', '198.51.100'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const macs = await arping(VIP4, 10);
    const sent = Number(/sent (\d+)/.exec((await flood).stdout)?.[1] ?? 0);
    expect(macs).toEqual(Array(10).fill(node.mac));
    const after = await stats();
    const reached = after.counters.requests.arp - before.counters.requests.arp;
    const queueDrops = after.counters.socketDrops - before.counters.socketDrops;
    process.stderr.write(`flood: ${sent} requests sent, ${reached} ARP requests reached the worker, ${queueDrops} socket-queue drops\n`);
    // The socket's kernel filter (bpf.ts arpFilterFor) drops requests for addresses the node does
    // not answer before they queue: the flood never reaches the worker, so it cannot crowd out the
    // legitimate requests (before the filter, 3 of 10 repeat runs at load ~6 lost one of them).
    expect(sent).toBeGreaterThan(10_000);
    expect(reached).toBeLessThan(100);
    expect(queueDrops).toBe(0);
  });

  it('stops answering at once when the address is lost', async () => {
    // Counters are cumulative over the file: only what happens here is checked.
    const before = await stats();
    await responder.setAddresses([VIP4, VIP6]);
    expect(await arping(VIP4, 1)).toEqual([node.mac]);
    await responder.setAddresses([]);
    const lost = await stats();
    expect(await arping(VIP4, 2)).toEqual([]);
    expect(await ndisc(VIP6)).toBeUndefined();
    const s = await stats();
    expect(s.ownedV4 + s.ownedV6).toBe(0);
    // The ARP requests and the Neighbor Solicitations were dropped by the sockets' kernel filters
    // (bpf.ts arpFilterFor, neighborDiscoveryFilterFor), updated with the owned set: none reached
    // the worker. (Before the NDP sockets filtered by target, the NSs did.)
    expect(s.counters.requests.arp).toBe(lost.counters.requests.arp);
    expect(s.counters.requests.ndp).toBe(lost.counters.requests.ndp);
    expect(s.counters.sendFailures - before.counters.sendFailures).toBe(0);
    expect(s.counters.socketDrops - before.counters.socketDrops).toBe(0);
  });

  it('reports counters periodically without being asked', async () => {
    const s = await stats();
    expect(s.interfaces.find((i) => i.name === 'eth0')).toMatchObject({ arp: true, ndp: true });
    expect(s.counters.requests.arp).toBeGreaterThan(0);
    expect(s.counters.replies.arp).toBeGreaterThan(0);
    expect(s.counters.replies.ndp).toBeGreaterThan(0);
    expect(BROADCAST_MAC).toHaveLength(6);
  });

  it('stops promptly', async () => {
    const t = Date.now();
    await responder.stop();
    expect(Date.now() - t).toBeLessThan(3000);
  });
});
