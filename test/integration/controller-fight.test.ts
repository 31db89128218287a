// Defect 2 of issue 13: another writer (think MetalLB's controller left running during a migration)
// keeps rewriting the status of Services the controller serves. The controller must not answer
// every rewrite: it backs off per Service, says so, and keeps serving new Services promptly.
import * as k8s from '@kubernetes/client-node';
import { eventually, testKubeConfig, uniqueName } from '../harness/kube';
import { ServiceKit } from '../harness/services';
import { stopAll, waitForLog } from '../harness/processes';
import { mergePatch } from '../../src/k8s/client';
import { metric, pause, putConfig, startController, waitEventMatching } from './controller-kit';

jest.setTimeout(210_000);

const FOUGHT = 40;
const NEW = 100;
const FIGHT_MS = 20_000;
/**
 * The fight goes on at least FIGHT_MS and until the rival has rewritten each fought Service more
 * than 3 times on average (3 answers of ours: DEFAULT_FIGHT_POLICY answers the 1st foreign change
 * at once, the 2nd after 1 s, the 3rd after 2 s, so ~3 s into the fight on a quiet machine). The
 * repeat matrix saw a run at load ~15 where only 80 rival writes fitted in 20 s; a controller that
 * stopped answering altogether would still fail here, after FIGHT_MAX_MS (20 times the schedule).
 */
const FIGHT_MAX_MS = 60_000;

async function createMany(kit: ServiceKit, ns: string, names: string[], onCreated?: (name: string) => void): Promise<void> {
  for (let i = 0; i < names.length; i += 10) {
    await Promise.all(
      names.slice(i, i + 10).map(async (name) => {
        await kit.createLB(ns, name);
        onCreated?.(name);
      }),
    );
  }
}

/** Rewrites the status of every Service of the namespace to its own address whenever it differs, as fast as the API lets it. */
class RivalWriter {
  writes = 0;
  private stopped = false;
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private informer?: k8s.Informer<k8s.V1Service>;

  constructor(
    private readonly kit: ServiceKit,
    private readonly ns: string,
    private readonly addressOf: (name: string) => string,
  ) {}

  async start(): Promise<void> {
    this.informer = k8s.makeInformer(this.kit.kc, `/api/v1/namespaces/${this.ns}/services`, () => this.kit.core.listNamespacedService({ namespace: this.ns }));
    const look = (svc: k8s.V1Service): void => this.look(svc);
    this.informer.on('add', look);
    this.informer.on('update', look);
    await this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
    await eventually('the rival writer to finish its writes', async () => (this.inFlight.size === 0 ? true : undefined));
  }

  private look(svc: k8s.V1Service): void {
    const name = svc.metadata?.name ?? '';
    if (this.stopped || ServiceKit.ips(svc).join() === this.addressOf(name)) return;
    if (this.inFlight.has(name)) {
      this.dirty.add(name);
      return;
    }
    this.inFlight.add(name);
    this.writes++;
    const body = { status: { loadBalancer: { ingress: [{ ip: this.addressOf(name) }] } } };
    void this.kit.core
      .patchNamespacedServiceStatus({ name, namespace: this.ns, body, fieldManager: 'rival-lb' }, mergePatch)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight.delete(name);
        if (this.dirty.delete(name) && !this.stopped) void this.kit.get(this.ns, name).then((s) => this.look(s), () => undefined);
      });
  }
}

describe('controller against another status writer', () => {
  const kit = new ServiceKit(testKubeConfig());
  const cfgNs = uniqueName('ironlb-system');
  const foughtNs = uniqueName('fight');
  const newNs = uniqueName('fresh');

  afterAll(async () => {
    await stopAll();
    await Promise.all([kit.deleteAllServices(foughtNs), kit.deleteAllServices(newNs)]);
  });

  it('backs off per Service, warns about the fight, and still serves 100 new Services within seconds', async () => {
    await Promise.all([kit.ensureNamespace(foughtNs), kit.ensureNamespace(newNs)]);
    await putConfig(kit, cfgNs, 'address-pools:\n- name: ours\n  protocol: layer2\n  addresses: [198.51.100.0/24]\n');
    const ctl = startController(cfgNs, ['--leader-elect=false']);
    await waitForLog(ctl, 'caches synced');
    const fought = Array.from({ length: FOUGHT }, (_, i) => `f-${i}`);
    await createMany(kit, foughtNs, fought);
    await eventually('the fought Services served', async () => {
      const list = await kit.core.listNamespacedService({ namespace: foughtNs });
      return list.items.filter((s) => ServiceKit.ips(s).length > 0).length === FOUGHT ? true : undefined;
    }, 30_000);
    await pause(1000); // the controller's IPAllocated writes settle
    const writesBefore = (await metric(ctl, 'ironlb_k8s_client_updates_total')) ?? 0;

    const rival = new RivalWriter(kit, foughtNs, (name) => `203.0.113.${Number(name.slice(2)) + 1}`);
    const t0 = Date.now();
    await rival.start();

    // 2 s into the fight, 100 new Services; each one's latency from its creation to its first address.
    await pause(2000);
    const created = new Map<string, number>();
    const served = new Map<string, number>();
    const watch = k8s.makeInformer(kit.kc, `/api/v1/namespaces/${newNs}/services`, () => kit.core.listNamespacedService({ namespace: newNs }));
    watch.on('update', (svc: k8s.V1Service) => {
      const name = svc.metadata?.name ?? '';
      if (ServiceKit.ips(svc).length > 0 && !served.has(name)) served.set(name, Date.now());
    });
    await watch.start();
    const names = Array.from({ length: NEW }, (_, i) => `n-${i}`);
    await createMany(kit, newNs, names, (name) => created.set(name, Date.now()));
    await pause(Math.max(0, FIGHT_MS - (Date.now() - t0)));
    await eventually('the rival to rewrite each fought Service 3 times on average', async () => (rival.writes > 3 * FOUGHT ? true : undefined), Math.max(0, FIGHT_MAX_MS - (Date.now() - t0)), 200).catch(() => undefined);
    const foughtMs = Date.now() - t0;
    await rival.stop();
    const writesAfter = (await metric(ctl, 'ironlb_k8s_client_updates_total')) ?? 0;
    await eventually('every new Service served', async () => (served.size === NEW ? true : undefined), 10_000).catch(() => undefined);
    await watch.stop();

    const ours = writesAfter - writesBefore;
    const latencies = names.map((n) => (served.get(n) ?? Infinity) - (created.get(n) ?? 0)).sort((a, b) => a - b);
    process.stderr.write(
      `fight (${foughtMs} ms): rival wrote ${rival.writes} statuses, the controller ${ours} (for ${FOUGHT} fought + ${NEW} new Services); ` +
        `new Services served p50 ${latencies[NEW / 2]} ms, max ${latencies[NEW - 1]} ms\n`,
    );
    expect(rival.writes).toBeGreaterThan(3 * FOUGHT); // there was a fight to answer
    // Bounded: a few writes per Service involved, not one answer per rewrite.
    expect(ours).toBeLessThanOrEqual(3 * (FOUGHT + NEW));
    // Nothing in the controller delays a new Service (no timer stands between its event and its
    // write); "within a few seconds" leaves room for a loaded 2-core machine.
    expect(latencies[NEW - 1]).toBeLessThanOrEqual(5000);

    const warning = await waitEventMatching(kit, foughtNs, 'f-0', 'StatusFight', /rival-lb/);
    expect(warning.type).toBe('Warning');
    expect((await metric(ctl, 'ironlb_controller_foreign_status_changes_total')) ?? 0).toBeGreaterThan(0);
  });
});
