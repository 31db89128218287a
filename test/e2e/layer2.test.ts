// Issue 5 end to end: the seed's flow on a LAN of network namespaces. A client pings and curls the
// EXTERNAL-IP; exactly one node (the elected one) answers ARP/NDP for it; ownership moves when the
// owner stops, dies or loses its link.
import { eventually } from '../harness/kube';
import { L2Lab, type NodeHost } from '../harness/l2-lab';
import { haveProgram } from '../helpers/netns';
import { waitForLog } from '../harness/processes';

jest.setTimeout(240_000);

const NS = 'default';
const CONFIG = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 198.51.100.90-198.51.100.100
  - 2001:db8:100::90-2001:db8:100::a0
- name: elsewhere
  protocol: layer2
  auto-assign: false
  interfaces: [eth9]
  addresses:
  - 198.51.100.80-198.51.100.81
`;

describe('layer 2 end to end', () => {
  let l2: L2Lab;

  beforeAll(async () => {
    for (const tool of ['arping', 'ndisc6', 'curl', 'ping', 'tcpdump']) {
      if (!haveProgram(tool)) throw new Error(`${tool} is missing: run scripts/setup.sh`);
    }
    l2 = await L2Lab.create();
    await l2.kit.applyConfig('ironlb-system', 'config', CONFIG);
    const ctl = l2.startController();
    const speakers = l2.nodes.map((n) => l2.startSpeaker(n));
    await waitForLog(ctl, 'caches synced');
    await Promise.all(speakers.map((s) => waitForLog(s, 'speaker started')));
  });

  afterAll(async () => {
    await l2?.destroy();
  });

  async function serviceWithEndpoints(name: string, opts: { ipv6?: boolean; local?: boolean; endpoints?: string[]; annotations?: Record<string, string>; port?: number } = {}): Promise<string> {
    await l2.kit.createLB(
      NS,
      name,
      {
        ports: [{ port: opts.port ?? 8090, protocol: 'TCP', targetPort: 8090 }],
        selector: { app: name },
        ...(opts.ipv6 ? { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' } : {}),
        ...(opts.local ? { externalTrafficPolicy: 'Local' } : {}),
      },
      opts.annotations,
    );
    await l2.setEndpoints(NS, name, opts.endpoints ?? l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs(NS, name);
    await l2.addServiceAddressEverywhere([ip]);
    return ip;
  }

  /** MACs that answer ARP for ip, seen from the client. */
  async function arpingMacs(ip: string, count = 3): Promise<string[]> {
    const r = await l2.lab.exec(l2.client, ['arping', '-c', String(count), '-w', String(count + 2), '-I', 'eth0', ip], { allowFailure: true, timeoutMs: 15_000 });
    return [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1].toLowerCase()))];
  }

  async function announcer(ip: string): Promise<NodeHost> {
    return eventually(`one node answering ARP for ${ip}`, async () => {
      const macs = await arpingMacs(ip, 2);
      return macs.length === 1 ? l2.nodeByMac(macs[0]) : undefined;
    }, 30_000, 200);
  }

  async function curl(ip: string, port = 8090): Promise<string> {
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const r = await l2.lab.exec(l2.client, ['curl', '-g', '-s', '--max-time', '3', `http://${host}:${port}/`], { allowFailure: true, timeoutMs: 10_000 });
    return r.stdout.trim();
  }

  async function clientNeighbourMac(ip: string): Promise<string | undefined> {
    const fam = ip.includes(':') ? 6 : 4;
    return (await l2.lab.neighbours(l2.client, fam)).find((n) => n.dst === ip)?.lladdr?.toLowerCase();
  }

  it("serves the seed's flow over IPv4: EXTERNAL-IP, ping, curl, and exactly one MAC answering ARP", async () => {
    const ip = await serviceWithEndpoints('nginx-metallb');
    expect(ip).toBe('198.51.100.90');
    const owner = await announcer(ip);
    const macs = await arpingMacs(ip, 3);
    expect(macs).toEqual([owner.mac]);
    await l2.lab.exec(l2.client, ['ping', '-c', '3', '-W', '2', ip]);
    expect(await curl(ip)).toBe(owner.nodeName);
    const ev = await l2.kit.waitEvent(NS, 'nginx-metallb', 'nodeAssigned');
    expect(ev.message).toContain(owner.nodeName);
  });

  it('serves IPv6: NDP answered by one node, ping -6, curl -g, and unicast NUD probes answered', async () => {
    const ip = await serviceWithEndpoints('web6', { ipv6: true });
    expect(ip).toBe('2001:db8:100::90');
    const nd = await eventually('an NDP answer', async () => {
      const r = await l2.lab.exec(l2.client, ['ndisc6', '-1', '-r', '3', '-w', '500', ip, 'eth0'], { allowFailure: true, timeoutMs: 10_000 });
      const m = /Target link-layer address: ([0-9A-F:]{17})/i.exec(r.stdout);
      return m ? m[1].toLowerCase() : undefined;
    }, 30_000, 200);
    const owner = l2.nodeByMac(nd);
    expect(owner).toBeDefined();
    await l2.lab.exec(l2.client, ['ping', '-6', '-c', '3', '-W', '2', ip]);
    expect(await curl(ip)).toBe(owner?.nodeName);

    // Make the client re-confirm the neighbour as it would once its reachable time runs out: a
    // STALE entry in use goes to DELAY, then PROBE, which sends unicast NS (without a source
    // link-layer option) straight to the cached MAC. MetalLB leaves those unanswered (#2920).
    await l2.lab.sysctl(l2.client, { 'net.ipv6.neigh.eth0.delay_first_probe_time': '1' });
    await l2.lab.ip(l2.client.ns, ['-6', 'neigh', 'change', ip, 'dev', 'eth0', 'lladdr', nd, 'nud', 'stale']);
    const dump = l2.lab.spawn(l2.client, ['tcpdump', '--immediate-mode', '-i', 'eth0', '-n', '-l', '-c', '200', 'icmp6 and (ip6[40] == 135 or ip6[40] == 136)']);
    let captured = '';
    dump.stdout?.on('data', (d: Buffer) => (captured += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    // UDP, not ping: iputils ping confirms the neighbour with MSG_CONFIRM and would never probe.
    const sender = `const s=require('dgram').createSocket('udp6');let n=0;const t=setInterval(()=>{s.send('x',9,${JSON.stringify(ip)});if(++n>=20){clearInterval(t);s.close()}},200)`;
    await l2.lab.exec(l2.client, [process.execPath, '-e', sender], { timeoutMs: 20_000 });
    const dumped = new Promise((r) => dump.once('exit', r));
    dump.kill('SIGINT');
    await dumped;
    const lines = captured.split('\n');
    const probes = lines.map((l) => new RegExp(`IP6 (\\S+) > ${ip}: ICMP6, neighbor solicitation`).exec(l)?.[1]).filter((src): src is string => !!src);
    if (probes.length === 0) throw new Error(`no unicast NUD probe captured:\n${captured}`);
    for (const src of probes) {
      if (!lines.some((l) => l.includes(`${ip} > ${src}: ICMP6, neighbor advertisement`))) throw new Error(`unicast NUD probe from ${src} unanswered:\n${captured}`);
    }
    const entry = (await l2.lab.neighbours(l2.client, 6)).find((n) => n.dst === ip);
    expect(entry?.state).not.toContain('FAILED');
  });

  it('moves the address when the owner stops (SIGTERM): gratuitous ARP updates the client, curl reaches the new node', async () => {
    const ip = await serviceWithEndpoints('move-term');
    const owner = await announcer(ip);
    await l2.lab.exec(l2.client, ['ping', '-c', '1', '-W', '2', ip]);
    expect(await clientNeighbourMac(ip)).toBe(owner.mac);
    await owner.speaker?.kill('SIGTERM');
    const next = await eventually('another node to answer', async () => {
      const mac = await clientNeighbourMac(ip); // updated by the new owner's gratuitous ARP, no traffic needed
      return mac && mac !== owner.mac ? l2.nodeByMac(mac) : undefined;
    }, 15_000, 100);
    expect(next.nodeName).not.toBe(owner.nodeName);
    expect(await curl(ip)).toBe(next.nodeName);
    await waitForLog(l2.startSpeaker(owner), 'speaker started'); // the next test starts from a settled cluster
  });

  it('moves the address when the owner is SIGKILLed (after its Lease expires)', async () => {
    const ip = await serviceWithEndpoints('move-kill');
    const owner = await announcer(ip);
    await owner.speaker?.kill('SIGKILL');
    const next = await announcer(ip).then(async (n) => (n.nodeName === owner.nodeName ? eventually('a new owner', async () => {
      const x = await announcer(ip);
      return x.nodeName !== owner.nodeName ? x : undefined;
    }, 20_000, 200) : n));
    expect(next.nodeName).not.toBe(owner.nodeName);
    expect(await curl(ip)).toBe(next.nodeName);
    await waitForLog(l2.startSpeaker(owner), 'speaker started'); // the next test starts from a settled cluster
  });

  it('moves the address when the owner loses its link', async () => {
    const ip = await serviceWithEndpoints('move-link');
    const owner = await announcer(ip);
    await l2.lab.ip(owner.ns, ['link', 'set', 'eth0', 'down']);
    try {
      const next = await eventually('a new owner', async () => {
        const x = await announcer(ip);
        return x.nodeName !== owner.nodeName ? x : undefined;
      }, 30_000, 200);
      expect(await curl(ip)).toBe(next.nodeName);
    } finally {
      await l2.lab.ip(owner.ns, ['link', 'set', 'eth0', 'up']);
    }
  });

  it('with externalTrafficPolicy Local, only a node with a local endpoint announces', async () => {
    const ip = await serviceWithEndpoints('local', { local: true, endpoints: ['node2'] });
    const owner = await announcer(ip);
    expect(owner.nodeName).toBe('node2');
    await l2.setEndpoints(NS, 'local', ['node3']);
    await eventually('node3 to take over', async () => ((await announcer(ip)).nodeName === 'node3' ? true : undefined), 15_000, 200);
  });

  it('announces Services sharing an address from one node', async () => {
    const share = { 'ironlb.io/allow-shared-ip': 'shared', 'ironlb.io/loadBalancerIPs': '198.51.100.99' };
    const a = await serviceWithEndpoints('share-a', { annotations: share, port: 8090 });
    const b = await serviceWithEndpoints('share-b', { annotations: share, port: 8091 });
    expect(a).toBe('198.51.100.99');
    expect(b).toBe(a);
    const macs = await arpingMacs(a, 3);
    expect(macs.length).toBe(1);
    const evA = await l2.kit.waitEvent(NS, 'share-a', 'nodeAssigned');
    const evB = await l2.kit.waitEvent(NS, 'share-b', 'nodeAssigned');
    expect(evA.source?.host).toBe(evB.source?.host);
    expect(l2.nodeByMac(macs[0])?.nodeName).toBe(evA.source?.host);
  });

  it("says announceFailed when the elected node lacks the pool's interfaces, and answers nothing", async () => {
    const ip = await serviceWithEndpoints('no-iface', { annotations: { 'ironlb.io/address-pool': 'elsewhere' } });
    expect(ip).toBe('198.51.100.80');
    const ev = await l2.kit.waitEvent(NS, 'no-iface', 'announceFailed');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain("the pool's interfaces (eth9)");
    expect(ev.message).toContain('usable layer-2 interfaces here: eth0');
    const nodeAssigned = await l2.kit.waitEvent(NS, 'no-iface', 'nodeAssigned');
    expect(ev.source?.host).toBe(nodeAssigned.source?.host);
    expect(await arpingMacs(ip, 2)).toEqual([]);
  });

  it('announces nothing for a Service without ready endpoints', async () => {
    const ip = await serviceWithEndpoints('no-endpoints', { endpoints: [] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await arpingMacs(ip, 2)).toEqual([]);
  });
});
