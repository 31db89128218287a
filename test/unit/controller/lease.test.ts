// The controller Lease on a fake API and a fake clock: the leader fences itself at its renew
// deadline even when its calls hang, and a standby cannot acquire before that.
import type * as k8s from '@kubernetes/client-node';
import { LeaderElector, type LeaseApi } from '../../../src/k8s/lease';
import type { Clock } from '../../../src/util/clock';
import { nullLogger } from '../../../src/util/log';
import { FakeClock } from '../../support/fake-clock';

class FakeLeases {
  lease?: k8s.V1Lease;
  private rv = 0;
  /** Callers whose calls hang (a black-holed connection) until aborted or the cut heals. */
  private readonly cutOff = new Map<string, Array<() => void>>();

  cut(who: string): void {
    this.cutOff.set(who, []);
  }

  /** The held calls go through now, as TCP delivers them when a partition heals. */
  heal(who: string): void {
    const held = this.cutOff.get(who) ?? [];
    this.cutOff.delete(who);
    for (const go of held) go();
  }

  api(who: string): LeaseApi {
    const run = <T>(signal: AbortSignal, fn: () => T): Promise<T> => {
      const held = this.cutOff.get(who);
      if (!held) return Promise.resolve().then(fn);
      return new Promise<T>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        held.push(() => {
          if (!signal.aborted) Promise.resolve().then(fn).then(resolve, reject);
        });
      });
    };
    return {
      read: (_ns, _name, signal) =>
        run(signal, () => {
          if (!this.lease) throw Object.assign(new Error('not found'), { code: 404 });
          return structuredClone(this.lease);
        }),
      create: (_ns, body, signal) =>
        run(signal, () => {
          if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
          this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
          return structuredClone(this.lease);
        }),
      replace: (_ns, _name, body, signal) =>
        run(signal, () => {
          if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
          this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
          return structuredClone(this.lease);
        }),
    };
  }
}

/** `timers`: the clock the elector sees, when it is not the fake clock itself. */
function elector(leases: FakeLeases, clock: FakeClock, identity: string, log: string[], timers: Clock = clock): LeaderElector {
  return new LeaderElector({
    api: leases.api(identity),
    namespace: 'ironlb-system',
    name: 'ironlb-controller',
    identity,
    clock: timers,
    log: nullLogger,
    onStartedLeading: () => log.push(`${clock.now()} ${identity} leads`),
    onStoppedLeading: () => log.push(`${clock.now()} ${identity} stops`),
  });
}

/** Replica "a" started on a fresh fake Lease API and leading. */
async function leading(timers?: (clock: FakeClock) => Clock): Promise<{ clock: FakeClock; leases: FakeLeases; log: string[]; a: LeaderElector }> {
  const clock = new FakeClock();
  const leases = new FakeLeases();
  const log: string[] = [];
  const a = elector(leases, clock, 'a', log, timers?.(clock));
  a.start();
  await run(clock, 100);
  return { clock, leases, log, a };
}

async function run(clock: FakeClock, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
    clock.advance(step);
  }
}

describe('LeaderElector', () => {
  it('refuses a renew deadline that is not shorter than the Lease duration', () => {
    const make = (renewDeadlineMs: number): LeaderElector =>
      new LeaderElector({ api: new FakeLeases().api('a'), namespace: 'n', name: 'l', identity: 'a', renewDeadlineMs, leaseDurationSeconds: 3, log: nullLogger, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    expect(() => make(3000)).toThrow(/renew deadline/);
    expect(() => make(2000)).not.toThrow();
  });

  it('leads with a write term that ends at its renew deadline when its calls hang, before a standby can acquire', async () => {
    const { clock, leases, log, a } = await leading();
    expect(a.isLeader).toBe(true);
    const term = a.term();
    expect(term?.aborted).toBe(false);
    const b = elector(leases, clock, 'b', log);
    b.start();
    await run(clock, 1000);
    expect(b.isLeader).toBe(false);

    leases.cut('a'); // a's connection black-holes: its next renewal never returns
    const cutAt = clock.now();
    await run(clock, 6000);
    const aStops = log.find((l) => l.endsWith('a stops'));
    const bLeads = log.find((l) => l.endsWith('b leads'));
    expect(aStops).toBeDefined();
    expect(bLeads).toBeDefined();
    const stopAt = Number(aStops?.split(' ')[0]);
    const takeoverAt = Number(bLeads?.split(' ')[0]);
    // a renewed at most one retry period (500 ms) before the cut; it stops 2 s after that renewal.
    expect(stopAt).toBeLessThanOrEqual(cutAt + 2000);
    expect(takeoverAt).toBeGreaterThan(stopAt);
    expect(takeoverAt - stopAt).toBeGreaterThanOrEqual(900); // the 1 s between deadline and duration, less one clock step
    expect(term?.aborted).toBe(true);
    expect(a.term()).toBeUndefined();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('steps down at the fence even when timers fire a little early (a millisecond loop clock)', async () => {
    // libuv compares whole milliseconds of a cached loop time: a timer may run up to 1 ms before
    // performance.now() reaches its due time (but never before the next millisecond tick).
    const early = (clock: FakeClock): Clock => ({
      now: () => clock.now(),
      wallNow: () => clock.wallNow(),
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms > 1 ? ms - 1 : ms),
      clearTimeout: (h) => clock.clearTimeout(h),
    });
    const { clock, leases, log, a } = await leading(early);
    leases.cut('a');
    const cutAt = clock.now();
    await run(clock, 2600);
    expect(log).toHaveLength(2);
    expect(Number(log[1].split(' ')[0])).toBeLessThanOrEqual(cutAt + 2000);
    await a.stop();
  });

  it('keeps leading through a short hang that ends before its renew deadline', async () => {
    const { clock, leases, log, a } = await leading();
    leases.cut('a');
    await run(clock, 700);
    leases.heal('a');
    await run(clock, 3000);
    expect(log.filter((l) => l.includes(' a '))).toEqual([expect.stringMatching(/a leads$/)]);
    await a.stop();
  });

  it('a stop that aborts its own renewal in flight is no failure: nothing is logged as one', async () => {
    const clock = new FakeClock();
    const leases = new FakeLeases();
    const warnings: string[] = [];
    const log = { ...nullLogger, warn: (msg: string) => warnings.push(msg), error: (msg: string) => warnings.push(msg) };
    const a = new LeaderElector({ api: leases.api('a'), namespace: 'ironlb-system', name: 'ironlb-controller', identity: 'a', clock, log, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
    a.start();
    await run(clock, 100);
    expect(a.isLeader).toBe(true);
    leases.cut('a'); // the next renewal is sent and stays in flight
    await run(clock, 600);
    const stopping = a.stop(); // SIGTERM now: the renewal is aborted by the stop itself
    leases.heal('a');
    await run(clock, 100);
    await stopping;
    expect(warnings).toEqual([]);
    expect(leases.lease?.spec?.holderIdentity).toBe(''); // released for a standby
  });
});
