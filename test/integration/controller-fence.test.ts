// Defect 3 of issue 13: two writing leaders. The leader's API connections go through a TCP relay
// that can black-hole them: first only the connections that carry a request during 1.5 s (among
// them the Lease renewal's pooled connection: the classic half-dead keep-alive socket), then every
// connection. Meanwhile Services keep being created. An independent checker watches every
// Service: no address is ever shown by two of them, and no Service's address ever changes.
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { eventually, testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog, type IronlbProcess } from '../harness/processes';
import { duplicateAddresses, keyOf, pause, putConfig, startController } from './controller-kit';

jest.setTimeout(180_000);

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  holed: boolean;
}

/**
 * Forwards TCP to the API server. A black-holed connection stays open but nothing crosses it
 * any more in either direction, as when packets are dropped; healing resets those connections.
 */
class BlackHoleRelay {
  private readonly links = new Set<Link>();
  private mode: 'pass' | 'catch' | 'isolate' = 'pass';
  private readonly server: net.Server;
  holed = 0;

  constructor(private readonly host: string, private readonly port: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** For `ms`, every connection that carries a request is black-holed from its first byte on. */
  async catchActive(ms: number): Promise<void> {
    this.mode = 'catch';
    await pause(ms);
    if (this.mode === 'catch') this.mode = 'pass';
  }

  /** Every connection, open or new, is black-holed until heal(). */
  isolate(): void {
    this.mode = 'isolate';
    for (const l of this.links) this.hole(l);
  }

  heal(): void {
    this.mode = 'pass';
    for (const l of this.links) {
      if (!l.holed) continue;
      l.client.resetAndDestroy();
      l.upstream.destroy();
      this.links.delete(l);
    }
  }

  async close(): Promise<void> {
    for (const l of this.links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private hole(l: Link): void {
    if (!l.holed) this.holed++;
    l.holed = true;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.port, this.host);
    const link: Link = { client, upstream, holed: false };
    this.links.add(link);
    if (this.mode === 'isolate') this.hole(link);
    client.on('data', (d) => {
      if (this.mode === 'catch') this.hole(link);
      if (!link.holed) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!link.holed) client.write(d);
    });
    const drop = (): void => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    // A black hole hides the other side's close too: the client just waits.
    client.on('close', drop);
    upstream.on('close', () => {
      if (!link.holed) drop();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}

/** Watches every Service of the namespace; records any address shown by two Services and any address change. */
class Checker {
  private readonly current = new Map<string, k8s.V1Service>();
  private readonly first = new Map<string, string>();
  readonly duplicates: string[] = [];
  readonly moves: string[] = [];
  private informer?: k8s.Informer<k8s.V1Service>;

  constructor(private readonly kit: ServiceKit, private readonly ns: string) {}

  async start(): Promise<void> {
    this.informer = k8s.makeInformer(this.kit.kc, `/api/v1/namespaces/${this.ns}/services`, () => this.kit.core.listNamespacedService({ namespace: this.ns }));
    this.informer.on('add', (s: k8s.V1Service) => this.see(s));
    this.informer.on('update', (s: k8s.V1Service) => this.see(s));
    this.informer.on('delete', (s: k8s.V1Service) => this.current.delete(keyOf(s)));
    await this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  served(): number {
    return [...this.current.values()].filter((s) => ServiceKit.ips(s).length > 0).length;
  }

  private see(svc: k8s.V1Service): void {
    const key = keyOf(svc);
    this.current.set(key, svc);
    const ips = ServiceKit.ips(svc).join(',');
    const was = this.first.get(key);
    if (ips !== '' && was === undefined) this.first.set(key, ips);
    if (was !== undefined && ips !== was) this.moves.push(`${key}: ${was} -> ${ips || 'nothing'}`);
    for (const d of duplicateAddresses([...this.current.values()])) {
      if (!this.duplicates.includes(d)) this.duplicates.push(d);
    }
  }
}

describe('controller leader behind a black-holed connection', () => {
  const kc = testKubeConfig();
  const kit = new ServiceKit(kc);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const cfgNs = uniqueName('ironlb-system');
  const ns = uniqueName('fence');
  const leaseName = uniqueName('ironlb-controller');
  let relay: BlackHoleRelay | undefined;
  let tmp = '';

  afterAll(async () => {
    await stopAll();
    await relay?.close();
    await kit.deleteAllServices(ns);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('never lets two replicas write: no address on two Services, none moved, all served', async () => {
    await kit.ensureNamespace(ns);
    await putConfig(kit, cfgNs, 'address-pools:\n- name: big\n  protocol: layer2\n  addresses: [198.51.100.0/24, 203.0.113.0/24]\n');
    const server = new URL(kc.getCurrentCluster()?.server ?? '');
    relay = new BlackHoleRelay(server.hostname, Number(server.port));
    const relayPort = await relay.listen();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ironlb-fence-'));
    const relayed = path.join(tmp, 'kubeconfig');
    const original = await fs.readFile(process.env.IRONLB_TEST_KUBECONFIG ?? '', 'utf8');
    await fs.writeFile(relayed, original.replace(server.origin, `https://127.0.0.1:${relayPort}`));

    const holder = async (): Promise<string | undefined> => (await coord.readNamespacedLease({ name: leaseName, namespace: cfgNs }).catch(() => undefined))?.spec?.holderIdentity ?? undefined;
    const lease = ['--lease-name', leaseName];
    const a: IronlbProcess = startController(cfgNs, [...lease, '--identity', 'relayed'], relayed);
    // Bounded by process start-up (ts-node on a loaded machine), not by a product timer.
    await eventually('the relayed replica to lead', async () => ((await holder()) === 'relayed' ? true : undefined), 90_000);
    const checker = new Checker(kit, ns);
    await checker.start();
    let created = 0;
    const burst = (): Promise<unknown> => Promise.all(Array.from({ length: 4 }, () => kit.createLB(ns, `s-${created++}`)));
    for (let i = 0; i < 5; i++) await burst();
    await eventually('the first Services served', async () => (checker.served() >= 20 ? true : undefined), 30_000);

    // Phase 1: for 1.5 s every connection the relayed leader sends a request on goes dead: its
    // Lease renewal (every 500 ms) and its status writes for Services created now; its watches
    // (which send nothing) and the connections it opens afterwards keep working. Those Services
    // are named so that their creation order (which the relayed leader follows) is not the order
    // a replica starting afterwards lists them in (b-10 < b-11 < b-9), and the Service on the
    // lowest address goes away meanwhile: two writers now hold different views of what is free.
    const caughtAt = Date.now();
    const window = relay.catchActive(1500);
    for (const n of [9, 10, 11, 12]) {
      await kit.createLB(ns, `b-${n}`);
      created++;
    }
    await window;
    expect(relay.holed).toBeGreaterThan(0);
    await kit.core.deleteNamespacedService({ name: 's-0', namespace: ns });
    created--;
    const b = startController(cfgNs, [...lease, '--identity', 'direct']);
    await waitForLog(b, 'caches synced');
    // A takeover, if there is one, happens within one Lease duration (3 s) plus a retry period.
    await pause(4000);
    if ((await holder()) === 'direct') await waitForLog(b, 'allocator rebuilt');

    let driving = true;
    // Bursts of concurrent creations meanwhile.
    const driver = (async () => {
      while (driving) {
        await burst();
        await pause(400);
      }
    })();
    const holders = new Set<string>();
    let isolatedAt = 0;
    let leaderBeforeIsolation: string | undefined;
    let healedAt = 0;
    const leaseWatch = setInterval(() => void holder().then((h) => h && holders.add(h)), 200);

    try {
      // The Lease lasts 3 s after the last renewal; three Lease periods of creations.
      await pause(9000);

      // Phase 2: the relayed replica cut off completely for two Lease periods, then healed.
      leaderBeforeIsolation = await holder();
      relay.isolate();
      isolatedAt = Date.now();
      await pause(6000);
      healedAt = Date.now();
      relay.heal();
      await pause(5000);
    } finally {
      driving = false;
      await driver;
      clearInterval(leaseWatch);
    }
    await eventually(`all ${created} Services served`, async () => (checker.served() === created ? true : undefined), 30_000);
    await checker.stop();
    process.stderr.write(`fence: ${created} Services, lease holders seen ${[...holders].join(', ')}, ${relay.holed} connections black-holed\n`);
    // The leadership timeline of both replicas, relative to the start of phase 1.
    const timeline = (p: IronlbProcess, name: string): string =>
      p
        .logs()
        .filter((l) => ['became leader', 'stopped leading'].includes(String(l.msg)))
        .map((l) => `${name} ${String(l.msg)} at ${Date.parse(String(l.ts)) - caughtAt} ms`)
        .join('; ');
    process.stderr.write(`fence: isolated at ${isolatedAt - caughtAt} ms, healed at ${healedAt - caughtAt} ms; ${timeline(a, 'relayed')}; ${timeline(b, 'direct')}\n`);
    expect(checker.duplicates).toEqual([]);
    expect(checker.moves).toEqual([]);
    // The cut-off leader gave up writing on its own while it was cut off, not when its connections came back.
    const stepDowns = a.logs().filter((l) => l.msg === 'stopped leading').map((l) => Date.parse(String(l.ts)));
    expect(stepDowns.some((t) => t > caughtAt && t < isolatedAt)).toBe(true);
    if (leaderBeforeIsolation === 'relayed') expect(stepDowns.some((t) => t > isolatedAt && t < healedAt)).toBe(true);
    expect(holders.has('direct')).toBe(true);
  });
});
