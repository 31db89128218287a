// One controller replica on fakes: the real Reconciler and ConfigGate, wired as
// src/controller/controller.ts wires them, to a FakeServices API, a FakeClock and a FakeGate.
import { ConfigGate } from '../../../src/k8s/config-gate';
import { Reconciler } from '../../../src/controller/reconciler';
import { StatusFights } from '../../../src/controller/fights';
import { nullLogger } from '../../../src/util/log';
import { FakeClock } from '../../support/fake-clock';
import { FakeEvents, FakeGate, FakeMetrics, type FakeServices } from './fakes';

export interface ConfigMapState {
  text?: string;
  annotations?: Record<string, string>;
}

export class Replica {
  readonly events = new FakeEvents();
  readonly gate = new FakeGate();
  readonly metrics = new FakeMetrics();
  readonly configWarnings: { reason: string; message: string }[] = [];
  readonly reconciler: Reconciler;
  readonly config: ConfigGate;
  stale = false;
  private stopped = false;

  constructor(
    readonly api: FakeServices,
    readonly clock: FakeClock,
    opts: { writeConcurrency?: number; fights?: StatusFights; soleWriter?: boolean; conditions?: boolean } = {},
  ) {
    const cache = api.cache();
    this.reconciler = new Reconciler({
      services: cache,
      writer: api,
      events: this.events,
      gate: this.gate,
      clock,
      log: nullLogger,
      metrics: this.metrics,
      fieldManager: 'ironlb-controller',
      writeConcurrency: opts.writeConcurrency ?? 4,
      fights: opts.fights,
      soleWriter: opts.soleWriter,
      conditions: opts.conditions,
      blockerChanged: () => setImmediate(() => !this.stopped && this.config.recheck()),
    });
    cache.on((svc, event) => !this.stopped && this.reconciler.onService(svc, event));
    this.config = new ConfigGate({
      where: 'ironlb-system/config',
      log: nullLogger,
      onConfig: (c, meta) => this.reconciler.setConfig(c, meta),
      onMeta: (meta) => this.reconciler.setMeta(meta),
      onStaleChange: (s) => (this.stale = s.stale),
      warn: (reason, message) => this.configWarnings.push({ reason, message }),
      vet: (c, meta) => this.reconciler.vetConfig(c, meta),
    });
  }

  offer(cm: ConfigMapState): void {
    this.config.offer(cm.text, cm.annotations);
  }

  lead(resumed = false): void {
    this.gate.lead();
    this.reconciler.startLeading(resumed);
  }

  stepDown(): void {
    this.gate.end();
    this.reconciler.stopLeading();
  }

  /** A SIGKILL: nothing more from this replica. */
  kill(): void {
    this.stopped = true;
    this.gate.end();
    this.reconciler.stop();
  }
}

/** Runs every replica until nothing is queued, in flight or waiting to be delivered; time moves in 50 ms steps. */
export async function settle(api: FakeServices, clock: FakeClock, replicas: readonly Replica[], maxMs = 120_000): Promise<void> {
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
  };
  for (let waited = 0; waited <= maxMs; waited += 50) {
    await flush();
    const quiet = api.deliveriesPending === 0 && replicas.every((r) => r.reconciler.idle);
    if (quiet) {
      await flush();
      if (api.deliveriesPending === 0 && replicas.every((r) => r.reconciler.idle)) return;
    }
    clock.advance(50);
  }
  throw new Error(`the controller did not settle within ${maxMs} ms of fake time`);
}
