// bench:bgp — BGP advertisement throughput and latency against a real BIRD 2 in a namespace.
//  1. 10 000 /32 prefixes: time from Established until BIRD holds all of them (BgpSession
//     driven directly, polling `birdc show route count`).
//  2. One new Service through the whole speaker (API server + controller + speaker): time from
//     its status being written until BIRD holds its prefix.
// Needs root, iproute2, bird2 and the test API server (npm run setup).
import { L2Lab, LAN_V4_PREFIX } from '../test/harness/l2-lab';
import { waitForLog } from '../test/harness/processes';
import { startBird } from '../test/harness/routers';
import { eventually } from '../test/harness/kube';

const N = Number(process.env.BENCH_BGP_PREFIXES ?? 10_000);
const RTR = `${LAN_V4_PREFIX}.254`;

async function main(): Promise<void> {
  const l2 = await L2Lab.create({ nodes: 1, backends: false });
  try {
    const rtr = await l2.lab.addHost('rtr', { ipv4: `${RTR}/24` });
    const node = l2.nodes[0];
    const bird = await startBird(l2.lab, rtr, { asn: 64512, routerId: RTR, localAddress: RTR, holdTime: 9, neighbors: [{ address: node.ipv4 ?? '', asn: 64600 }] });

    // ---- 1: 10k prefixes through one session, run inside the node namespace via a child script.
    const script = `
      const { BgpSession } = require('./src/speaker/bgp/session');
      const { createLogger } = require('./src/util/log');
      const routes = new Map();
      for (let i = 0; i < ${N}; i++) {
        const addr = (10n << 24n) + BigInt(i);
        const text = [24, 16, 8, 0].map((s) => Number((addr >> BigInt(s)) & 255n)).join('.') + '/32';
        routes.set(text, { prefix: { family: 4, addr, length: 32 }, communities: [0xfc000001], largeCommunities: [] });
      }
      const s = new BgpSession({ peerAddress: '${RTR}', peerPort: 179, myASN: 64600, peerASN: 64512, holdTimeSeconds: 9,
        routerID: '${node.ipv4}', ebgpMultihop: false, gracefulRestartSeconds: 0, log: createLogger({ write: () => {} }),
        observer: { state: (st) => { if (st === 'Established') console.log('ESTABLISHED ' + Date.now()); } } });
      s.setRoutes(routes);
      s.start();
      process.on('SIGTERM', () => s.stop().then(() => process.exit(0)));
    `;
    const child = l2.lab.spawn(node, [process.execPath, '-r', 'ts-node/register/transpile-only', '-e', script], { cwd: process.cwd(), env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' } });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const established = await eventually('session Established', async () => {
      const m = /ESTABLISHED (\d+)/.exec(out);
      return m ? Number(m[1]) : undefined;
    }, 30_000, 20);
    let last = 0;
    const all = await eventually(`BIRD holds ${N} routes`, async () => {
      const m = /(\d+) of (\d+) routes/.exec(await bird.cli('show route count'));
      last = m ? Number(m[1]) : 0;
      return last >= N ? Date.now() : undefined;
    }, 60_000, 20);
    process.stdout.write(`${N} /32 prefixes: Established → all in BIRD: ${all - established} ms (${Math.round((N / (all - established)) * 1000)} prefixes/s)\n`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await bird.stop();

    // ---- 2: one Service through controller + speaker.
    const bird2 = await startBird(l2.lab, rtr, { asn: 64512, routerId: RTR, localAddress: RTR, holdTime: 9, neighbors: [{ address: node.ipv4 ?? '', asn: 64600 }] });
    await l2.kit.applyConfig(
      'ironlb-system',
      'config',
      `peers:\n- peer-address: ${RTR}\n  peer-asn: 64512\n  my-asn: 64600\naddress-pools:\n- name: bgp\n  protocol: bgp\n  addresses: [203.0.113.0/24]\n`,
    );
    const ctl = l2.startController();
    await waitForLog(ctl, 'caches synced');
    const sp = l2.startSpeaker(node, ['--heartbeat=false']);
    await waitForLog(sp, 'speaker started');
    await waitForLog(sp, 'BGP session established', 30_000);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `bench-${i}`;
      await l2.kit.createLB('default', name, { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] });
      await l2.setEndpoints('default', name, [node.nodeName]);
      const [ip] = await l2.kit.waitIPs('default', name);
      const written = Date.now();
      const seen = await eventually(`${ip} at BIRD`, async () => {
        const r = await bird2.cli(`show route ${ip}/32`).catch(() => '');
        return r.includes(`${ip}/32`) ? Date.now() : undefined;
      }, 20_000, 5);
      samples.push(seen - written);
    }
    samples.sort((a, b) => a - b);
    process.stdout.write(`new Service: status written (seen by the test) → prefix in BIRD: median ${samples[2]} ms, max ${samples[4]} ms (5 samples, 5 ms polling)\n`);
    await bird2.stop();
  } finally {
    await l2.destroy();
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
