// Issue 7 end to end: two speakers peer with a real router (BIRD 2, FRR, GoBGP in turn) on the
// node LAN. The router's second link leads to a client LAN; the client reaches the Service through
// the routed (ECMP) path. Covered across the routers: eBGP 4-octet AS + TCP-MD5 (BIRD), iBGP with
// LOCAL_PREF (FRR), eBGP 2-octet AS + TCP-MD5 (GoBGP); IPv4 and IPv6 prefixes, communities, large
// communities, withdrawal on delete, and the path dropping when a speaker is SIGKILLed.
import type * as k8s from '@kubernetes/client-node';
import { eventually } from '../harness/kube';
import { L2Lab, LAN_V4_PREFIX, LAN_V6_PREFIX } from '../harness/l2-lab';
import { waitForLog } from '../harness/processes';
import { startBird, startFrr, startGobgp, type Rib, type Router, type RouterSpec } from '../harness/routers';
import { haveProgram, type Host } from '../helpers/netns';

jest.setTimeout(300_000);

const NS = 'default';
const RTR_V4 = `${LAN_V4_PREFIX}.254`;
const RTR_V6 = `${LAN_V6_PREFIX}fe`;

interface Case {
  kind: Router['kind'];
  routerASN: number;
  speakerASN: number;
  password?: string;
  start: typeof startBird;
}

const CASES: Case[] = [
  { kind: 'bird', routerASN: 64512, speakerASN: 4200000001, password: 'bird-md5-secret', start: startBird },
  { kind: 'frr', routerASN: 64513, speakerASN: 64513, start: startFrr },
  { kind: 'gobgp', routerASN: 65001, speakerASN: 64600, password: 'gobgp-md5', start: (lab, host, spec) => startGobgp(lab, host, spec) },
];

function config(c: Case): string {
  return `peers:
- peer-address: ${RTR_V4}
  peer-asn: ${c.routerASN}
  my-asn: ${c.speakerASN}
  hold-time: 3s
${c.password ? `  password: ${c.password}\n` : ''}bgp-communities:
  svc: 64512:100
address-pools:
- name: bgp
  protocol: bgp
  addresses:
  - 203.0.113.0/28
  - 2001:db8:200::/124
  bgp-advertisements:
  - communities: [svc, "large:64600:1:2"]
    localpref: 250
`;
}

describe('BGP against real routers', () => {
  let l2: L2Lab;
  let rtr: Host;
  let out: Host;

  beforeAll(async () => {
    for (const tool of ['bird', 'birdc', 'vtysh', 'gobgpd', 'gobgp', 'curl']) {
      if (!haveProgram(tool)) throw new Error(`${tool} is missing: apt-get install -y bird2 frr gobgpd curl`);
    }
    l2 = await L2Lab.create({ nodes: 2 });
    rtr = await l2.lab.addHost('rtr', { ipv4: `${RTR_V4}/24`, ipv6: `${RTR_V6}/64` });
    // The outside client: its bridge port is replaced by a point-to-point link to the router.
    out = await l2.lab.addHost('out');
    await l2.lab.ip(out.ns, ['link', 'del', 'eth0']);
    await l2.lab.ip(rtr.ns, ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out.ns]);
    await l2.lab.ip(rtr.ns, ['addr', 'add', '192.0.2.1/24', 'dev', 'eth1']);
    await l2.lab.ip(rtr.ns, ['-6', 'addr', 'add', '2001:db8:300::1/64', 'dev', 'eth1', 'nodad']);
    await l2.lab.ip(rtr.ns, ['link', 'set', 'eth1', 'up']);
    await l2.lab.ip(out.ns, ['addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
    await l2.lab.ip(out.ns, ['-6', 'addr', 'add', '2001:db8:300::10/64', 'dev', 'eth0', 'nodad']);
    await l2.lab.ip(out.ns, ['link', 'set', 'eth0', 'up']);
    await l2.lab.ip(out.ns, ['route', 'add', 'default', 'via', '192.0.2.1']);
    await l2.lab.ip(out.ns, ['-6', 'route', 'add', 'default', 'via', '2001:db8:300::1']);
    await l2.lab.sysctl(rtr, { 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1', 'net.ipv4.fib_multipath_hash_policy': '1' });
    for (const n of l2.nodes) {
      await l2.lab.ip(n.ns, ['route', 'add', '192.0.2.0/24', 'via', RTR_V4]);
      await l2.lab.ip(n.ns, ['-6', 'route', 'add', '2001:db8:300::/64', 'via', RTR_V6]);
    }
    await l2.kit.applyConfig('ironlb-system', 'config', config(CASES[0]));
    const ctl = l2.startController();
    await waitForLog(ctl, 'caches synced');
    for (const n of l2.nodes) startSpeaker(n);
    await Promise.all(l2.nodes.map((n) => waitForLog(n.speaker!, 'speaker started')));
  });

  afterAll(async () => {
    await l2?.destroy();
  });

  function startSpeaker(n: L2Lab['nodes'][number]): void {
    l2.startSpeaker(n, ['--node-address-v6', n.ipv6 ?? '', '--bgp-graceful-restart-time', '3', '--heartbeat=false']);
  }

  async function service(name: string, ipv6 = false): Promise<string> {
    await l2.kit.createLB(NS, name, { ports: [{ port: 8090, protocol: 'TCP', targetPort: 8090 }], selector: { app: name }, ...(ipv6 ? { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' } : {}) });
    await l2.setEndpoints(NS, name, l2.nodes.map((n) => n.nodeName));
    const [ip] = await l2.kit.waitIPs(NS, name);
    await l2.addServiceAddressEverywhere([ip]);
    return ip;
  }

  /** An Event with this reason on the Node, whose message contains `text`. */
  async function nodeEvent(node: string, reason: string, text: string): Promise<k8s.CoreV1Event> {
    return eventually(`a ${reason} Event on node ${node} mentioning ${text}`, async () =>
      (await l2.kit.events('default', node)).find((e) => e.reason === reason && e.involvedObject.kind === 'Node' && (e.message ?? '').includes(text)), 15_000, 200);
  }

  async function paths(router: Router, prefix: string): Promise<Rib extends Map<string, infer P> ? P : never> {
    const rib = await router.rib(prefix.includes(':') ? 6 : 4);
    return rib.get(prefix) ?? [];
  }

  async function curl(ip: string): Promise<string> {
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const r = await l2.lab.exec(out, ['curl', '-g', '-s', '--max-time', '3', `http://${host}:8090/`], { allowFailure: true, timeoutMs: 10_000 });
    return r.stdout.trim();
  }

  describe.each(CASES)('$kind', (c) => {
    let router: Router;
    const ibgp = c.routerASN === c.speakerASN;

    beforeAll(async () => {
      const spec: RouterSpec = {
        asn: c.routerASN,
        routerId: RTR_V4,
        localAddress: RTR_V4,
        holdTime: 3,
        neighbors: l2.nodes.map((n) => ({ address: n.ipv4 ?? '', asn: c.speakerASN, password: c.password })),
      };
      router = await c.start(l2.lab, rtr, spec);
      await l2.kit.applyConfig('ironlb-system', 'config', config(c));
    });

    afterAll(async () => {
      await l2.kit.deleteAllServices(NS);
      await router?.stop();
    });

    it(`establishes sessions with both speakers (${ibgp ? 'iBGP' : 'eBGP'}, AS ${c.speakerASN}${c.password ? ', TCP-MD5' : ''})`, async () => {
      await eventually('both sessions Established', async () => ((await router.established()).length === 2 ? true : undefined), 30_000, 250);
      // Each speaker says so on its Node (kubectl describe node).
      for (const n of l2.nodes) await nodeEvent(n.nodeName, 'BGPSessionEstablished', `(AS ${c.routerASN})`);
    });

    it('announces an IPv4 Service from both nodes with communities, large communities and local-pref', async () => {
      const ip = await service(`v4-${c.kind}`);
      const prefix = `${ip}/32`;
      const got = await eventually(`${prefix} with two next hops`, async () => {
        const p = await paths(router, prefix);
        return p.length === 2 ? p : undefined;
      }, 30_000, 250);
      expect(got.map((p) => p.nextHop).sort()).toEqual(l2.nodes.map((n) => n.ipv4).sort());
      for (const p of got) {
        expect(p.communities).toContain('64512:100');
        expect(p.largeCommunities).toContain('64600:1:2');
        if (ibgp) expect(p.localPref).toBe(250);
        else expect(p.asPath).toEqual([c.speakerASN]);
      }
      if (router.forwards) {
        await eventually(`curl ${ip} through the router`, async () => ((await curl(ip)).startsWith('node') ? true : undefined), 20_000, 300);
      }
    });

    it('announces an IPv6 Service likewise', async () => {
      const ip = await service(`v6-${c.kind}`, true);
      const prefix = `${ip}/128`;
      const got = await eventually(`${prefix} with two next hops`, async () => {
        const p = await paths(router, prefix);
        return p.length === 2 ? p : undefined;
      }, 30_000, 250);
      expect(got.map((p) => p.nextHop).sort()).toEqual(l2.nodes.map((n) => n.ipv6).sort());
      for (const p of got) expect(p.largeCommunities).toContain('64600:1:2');
      if (router.forwards) {
        await eventually(`curl [${ip}] through the router`, async () => ((await curl(ip)).startsWith('node') ? true : undefined), 20_000, 300);
      }
    });

    it('withdraws the prefix when the Service is deleted', async () => {
      const svc = await l2.kit.get(NS, `v4-${c.kind}`);
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
      await l2.kit.core.deleteNamespacedService({ namespace: NS, name: `v4-${c.kind}` });
      await eventually(`${ip}/32 withdrawn`, async () => ((await paths(router, `${ip}/32`)).length === 0 ? true : undefined), 15_000, 200);
    });

    if (c.kind === 'bird') {
      it('drops the path of a SIGKILLed speaker within the hold time, and gets it back on restart', async () => {
        const ip = await service('kill-bird');
        const prefix = `${ip}/32`;
        await eventually('two paths', async () => ((await paths(router, prefix)).length === 2 ? true : undefined), 30_000, 250);
        const victim = l2.nodes[0];
        const t0 = Date.now();
        await victim.speaker?.kill('SIGKILL');
        await eventually('one path left', async () => {
          const p = await paths(router, prefix);
          return p.length === 1 && p[0].nextHop === l2.nodes[1].ipv4 ? true : undefined;
        }, 15_000, 100);
        const took = Date.now() - t0;
        // Hold time 3 s (graceful-restart time 3 s too: BIRD keeps a closed session's routes that long).
        expect(took).toBeLessThan(6000);
        startSpeaker(victim);
        await eventually('two paths again', async () => ((await paths(router, prefix)).length === 2 ? true : undefined), 45_000, 250);
      });

      it('says BGPSessionDown on each Node when the router goes away', async () => {
        await router.stop();
        for (const n of l2.nodes) {
          const ev = await nodeEvent(n.nodeName, 'BGPSessionDown', `(AS ${c.routerASN})`);
          expect(ev.type).toBe('Warning');
          expect(ev.source?.host).toBe(n.nodeName);
        }
      });
    }
  });

  it('answers a router that sends garbage with a NOTIFICATION, and reconnects', async () => {
    // A "router" that greets every connection with a header whose marker is wrong, and logs
    // the type of each whole message it receives (type 3 = NOTIFICATION: code, subcode follow).
    const fake = `require('net').createServer((s)=>{console.log('connected');let b=Buffer.alloc(0);
      s.on('data',(d)=>{b=Buffer.concat([b,d]);while(b.length>=19){const n=b.readUInt16BE(16);if(b.length<n)break;
        const t=b[18];console.log('type '+t+(t===3?' code '+b[19]+' subcode '+b[20]:''));b=b.subarray(n);}});
      s.on('error',()=>{});setTimeout(()=>s.write(Buffer.alloc(19,0x5a)),200);}).listen(179,${JSON.stringify(RTR_V4)})`;
    const server = l2.lab.spawn(rtr, [process.execPath, '-e', fake]);
    let log = '';
    server.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await l2.kit.applyConfig('ironlb-system', 'config', config({ kind: 'bird', routerASN: 65099, speakerASN: 64600, start: startBird }));
      // OPEN (1), then the NOTIFICATION for the bad marker: Message Header Error (1) / Connection Not Synchronized (1).
      await eventually('a NOTIFICATION 1/1', async () => (log.includes('type 3 code 1 subcode 1') ? true : undefined), 30_000, 100);
      await eventually('a reconnect', async () => ((log.match(/connected/g) ?? []).length >= 4 ? true : undefined), 30_000, 100);
      expect(log).toContain('type 1');
      for (const n of l2.nodes) expect(n.speaker?.child.exitCode).toBeNull();
    } finally {
      server.kill('SIGKILL');
    }
  });
});
