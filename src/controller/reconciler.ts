// The apply step: runs decide() for Services as they change and carries out the result through
// narrow interfaces (ports.ts): status writer, event sink, clock, write gate. It owns per-Service
// backoff against other status writers and the allocator rebuilt from status when this replica
// leads. The queue of Services (several writes in flight, never two for one Service, delays and
// retry backoff) is work-queue.ts; one write and its conflict retries are status-write.ts.
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { Allocator } from '../ipam/allocator';
import type { PoolStats } from '../ipam/types';
import type { ConfigMeta, Verdict } from '../k8s/config-gate';
import { configCompatibility } from './config-compat';
import { decide, type DecideContext, type Decision } from './decide';
import { ForeignWrites, StatusFights, fightWarning } from './fights';
import { QuietEvents } from './quiet-events';
import type { ReconcilerOptions } from './ports';
import { restoreFromStatus, restoredAllocator } from './restore';
import { AddressHolds } from './address-holds';
import { ingressIPs, lastStatusWriter, serviceKey } from './service-request';
import { writeStatus } from './status-write';
import { WorkQueue } from './work-queue';

export class Reconciler {
  private allocator = new Allocator();
  private ctx: DecideContext;
  private leading = false;
  private rebuilt = false;
  private rebuilding = false;
  /** The allocator is the one of this replica's last term (see startLeading). */
  private resumable = false;
  /** The configuration the allocator's pools come from. */
  private allocatorConfig?: Config;
  private epoch = 0;
  private stopped = false;

  private readonly queue: WorkQueue;
  private readonly firstSeen = new Map<string, number>();
  /** Services that could not get an address; decided again whenever an address is freed. */
  private readonly waiting = new Set<string>();
  private readonly events: QuietEvents;
  private readonly foreign: ForeignWrites;
  private blockers: ReadonlySet<string> = new Set<string>();
  /** Quarantined addresses and deleted Services' held ones. */
  private readonly holds: AddressHolds;

  constructor(private readonly opts: ReconcilerOptions) {
    this.holds = new AddressHolds({
      allocator: () => this.allocator,
      services: opts.services,
      clock: opts.clock,
      log: opts.log,
      config: () => this.ctx.config,
      leading: () => this.isLeading,
      decideAgain: (key) => this.queue.add(key),
      later: (name, ms, fn) => this.queue.later(name, ms, fn),
      afterRelease: () => this.afterRelease(),
      conflictHoldMs: opts.conflictHoldMs,
      persist: opts.stickyStore && ((encoded) => opts.stickyStore?.write(encoded)),
    });
    this.ctx = { lbClass: opts.lbClass, allowAddressChanges: false, namespaceLabels: opts.namespaceLabels, conditions: opts.conditions };
    this.foreign = new ForeignWrites(opts.fights ?? new StatusFights());
    this.events = new QuietEvents(opts.events, opts.log);
    this.queue = new WorkQueue({
      clock: opts.clock,
      concurrency: opts.writeConcurrency ?? 32,
      retry: { initialMs: 200, maxMs: 30_000 },
      admit: (key) => {
        if (!this.isLeading || this.stopped) return false;
        if (!this.firstSeen.has(key)) this.firstSeen.set(key, this.opts.clock.now());
        return true;
      },
      running: () => this.isLeading,
      work: (key) => this.process(key),
    });
  }

  get isLeading(): boolean {
    return this.leading && this.rebuilt;
  }

  /** Nothing queued, in flight or being rebuilt (tests wait for this). */
  get idle(): boolean {
    return this.queue.idle && !this.rebuilding;
  }

  /** Status writes queued or in flight: Events wait behind them. */
  get busy(): boolean {
    return this.queue.busy;
  }

  get config(): Config | undefined {
    return this.ctx.config;
  }

  // ---- configuration ------------------------------------------------------------------------

  /**
   * May this configuration replace the one in force? Not if it would take a live Service's
   * address away (MetalLB v0.12's "new config not compatible with assigned IPs"), unless the
   * ConfigMap opts into address changes.
   */
  vetConfig(config: Config, meta: ConfigMeta): Verdict {
    if (!this.ctx.config) return { ok: true }; // nothing in force to keep; decide() still keeps addresses outside it
    const holding = this.isLeading ? this.allocator : restoredAllocator(this.ctx.config, this.opts.services.list(), this.ctx.lbClass).allocator;
    const { verdict, blockers } = configCompatibility(holding, config, meta, this.opts.services.list(), this.ctx.lbClass);
    this.blockers = blockers;
    return verdict;
  }

  /**
   * The ConfigMap's annotations changed (whatever its configuration): the opt-in into address
   * changes is the operator's current word, also while an older configuration stays in force.
   */
  setMeta(meta: ConfigMeta): void {
    if (meta.allowAddressChanges === this.ctx.allowAddressChanges && meta.optInWhere === this.ctx.optInWhere) return;
    this.ctx = { ...this.ctx, allowAddressChanges: meta.allowAddressChanges, optInWhere: meta.optInWhere };
    this.enqueueAll(this.opts.services.list());
  }

  /** A configuration was accepted. */
  setConfig(config: Config, meta: ConfigMeta): void {
    this.ctx = { ...this.ctx, config, allowAddressChanges: meta.allowAddressChanges, optInWhere: meta.optInWhere };
    this.blockers = new Set();
    if (!this.leading) return;
    if (!this.rebuilt) {
      void this.rebuild('configuration loaded');
      return;
    }
    // Keep what is still valid (including decisions whose writes are in flight); what fell out of
    // every pool (only with the opt-in) is released and its Services decided again below.
    const { invalidated } = this.allocator.setPools(config.pools);
    this.allocatorConfig = config;
    restoreFromStatus(this.allocator, this.opts.services.list(), this.ctx.lbClass);
    this.opts.log.info('configuration applied', { invalidated: invalidated.length, allowAddressChanges: meta.allowAddressChanges });
    this.enqueueAll(this.opts.services.list());
  }

  // ---- leadership -----------------------------------------------------------------------------

  /**
   * `resumed`: this replica took its own Lease back after stepping down at its deadline; nobody
   * else wrote meanwhile, so its allocator (kept through the pause, deletions applied) is still
   * right and a list of every Service is not needed, unless the configuration changed meanwhile.
   */
  startLeading(resumed = false): void {
    this.leading = true;
    this.epoch++;
    if (resumed && this.resumable && this.allocatorConfig === this.ctx.config) {
      this.rebuilt = true;
      this.holds.reapply(false);
      this.opts.log.info('leading again with the allocator of the previous term');
      this.enqueueAll(this.opts.services.list());
      return;
    }
    void this.rebuild('became leader');
  }

  stopLeading(): void {
    this.resumable = this.rebuilt;
    this.leading = false;
    this.rebuilt = false;
    this.epoch++;
    this.queue.clear();
    this.foreign.clear();
  }

  stop(): void {
    this.stopped = true;
    this.stopLeading();
    this.resumable = false;
  }

  /**
   * A fresh allocator from a list read from the API after this replica acquired the Lease: the
   * old leader stopped writing before that (lease.ts), so the list holds all it wrote, even what
   * this replica's watch has not delivered yet.
   */
  private async rebuild(why: string): Promise<void> {
    if (!this.ctx.config) this.opts.log.info('no valid configuration yet: nothing is allocated until one is loaded', { why });
    const term = this.opts.gate.term();
    if (!term || this.rebuilding) return;
    const epoch = this.epoch;
    this.rebuilding = true;
    this.opts.log.debug('listing every Service to rebuild the allocator', { why });
    let services: k8s.V1Service[];
    try {
      services = this.opts.soleWriter ? [...this.opts.services.list()] : await this.opts.writer.list(term);
    } catch (e) {
      this.rebuilding = false;
      this.opts.log.warn('could not list Services to rebuild the allocator; retrying', { error: e instanceof Error ? e.message : String(e) });
      if (epoch === this.epoch) this.queue.later('rebuild', 1000, () => void this.rebuild(why));
      return;
    }
    this.rebuilding = false;
    if (epoch !== this.epoch || !this.leading) return;
    // Without a configuration nothing is handed out, but what status shows is held (decide() notices a Service that may no longer share its address).
    this.allocator = restoredAllocator(this.ctx.config, services, this.ctx.lbClass).allocator;
    this.allocatorConfig = this.ctx.config;
    this.rebuilt = true;
    this.holds.reapply(true);
    this.holds.restoreSticky(this.opts.stickyStore?.read());
    this.opts.log.info('allocator rebuilt from Service status', { why, services: services.length, pools: this.ctx.config?.pools.length ?? 0 });
    this.enqueueAll([...services, ...this.opts.services.list()]);
  }

  // ---- address conflicts and sticky addresses (address-holds.ts) -------------------------------

  /** Addresses the speakers found in use by another host, with the MAC (ConflictSource). */
  setConflicts(reported: ReadonlyMap<string, string>): void {
    this.holds.setConflicts(reported);
  }

  /** Quarantined addresses (for status and tests). */
  quarantined(): string[] {
    return this.holds.quarantined();
  }

  // ---- Service events and the queue ------------------------------------------------------------

  onService(svc: k8s.V1Service, event: 'add' | 'update' | 'delete'): void {
    const key = serviceKey(svc);
    if (event === 'delete') {
      // Also between terms: the allocator may be resumed.
      if (!this.holds.holdDeleted(svc) && this.allocator.release(key) && this.isLeading) this.afterRelease();
      this.events.forget(key);
      this.waiting.delete(key);
      this.firstSeen.delete(key);
      this.foreign.forget(key);
      if (this.blockers.has(key)) this.opts.blockerChanged?.();
      return;
    }
    if (event === 'update' && this.isLeading) {
      // The watch's echo of our own write (the resourceVersion that write returned) is not decided
      // again: it is the version we decided on plus our own patch, which the resourceVersion guard
      // let through only because nothing changed in between, so deciding it writes nothing. Every
      // other thing that could change the decision (configuration, namespace labels, a freed or
      // quarantined address) enqueues the Service itself; any newer version, even one showing the
      // status we wrote, is decided as usual. In a burst this saves the second decision per Service when the echo comes after the response.
      if (!this.queue.working(key) && !this.blockers.has(key) && this.foreign.isOwnEcho(key, svc.metadata?.resourceVersion)) return;
      this.noticeForeignWrite(svc);
    }
    // The leader looks again after deciding (process); a standby does not decide.
    if (!this.isLeading && this.blockers.has(key)) this.opts.blockerChanged?.();
    this.queue.add(key);
  }

  /** A namespace's labels changed: its Services may now be served by other pools. */
  onNamespace(namespace: string): void {
    this.enqueueAll(this.opts.services.list().filter((s) => s.metadata?.namespace === namespace));
  }

  private enqueueAll(services: readonly k8s.V1Service[]): void {
    for (const svc of services) this.queue.add(serviceKey(svc));
  }

  private afterRelease(): void {
    for (const key of this.waiting) this.queue.add(key);
  }

  // ---- deciding and applying --------------------------------------------------------------------

  /** Decides synchronously; returns the write to wait for, if any. */
  private process(key: string, fresh?: k8s.V1Service, attempt = 0): Promise<void> | undefined {
    const [namespace, name] = key.split('/', 2);
    const svc = fresh ?? this.opts.services.get(name, namespace);
    if (!svc) {
      if (this.allocator.release(key)) this.afterRelease();
      return undefined;
    }
    this.holds.beforeDecide(svc);
    const d = decide(this.ctx, this.allocator, svc);
    // Nothing else left for it: a held address of a deleted Service goes (oldest first), and it is decided again.
    if (d.waitsForAddress && this.holds.evictFor(svc)) return this.process(key, fresh, attempt);
    if (d.freed) this.afterRelease();
    if (d.waitsForAddress) this.waiting.add(key);
    else this.waiting.delete(key);
    if (this.blockers.has(key)) this.opts.blockerChanged?.();
    this.events.emit(svc, d, false);
    if (!d.write) {
      if (d.outcome.kind === 'assigned') this.events.forgetSlot(key, 'clear');
      this.firstSeen.delete(key);
      return undefined;
    }
    const holdOff = this.foreign.fights.holdOff(key, this.opts.clock.now());
    if (holdOff > 0) {
      this.queue.addAfter(key, holdOff);
      return undefined;
    }
    const term = this.opts.gate.term();
    if (!term) return undefined; // not allowed to write now; a new term decides everything again
    return this.write(svc, d, term, attempt);
  }

  private async write(svc: k8s.V1Service, d: Decision, term: AbortSignal, attempt: number): Promise<void> {
    const key = d.key;
    const desired = d.write;
    if (!desired) return;
    const step = await writeStatus(this.opts, key, svc, desired, term, attempt);
    if (step.kind === 'decide-again') await this.process(key, step.fresh, attempt + 1);
    else if (step.kind === 'retry') {
      const delay = this.queue.addRateLimited(key);
      this.opts.log.warn('status write failed; will retry', { service: key, status: step.status, error: step.error, retryInMs: delay });
    } else if (step.kind === 'written') {
      this.foreign.wrote(key, desired.ips, step.resourceVersion);
      // The answer becomes the cached version, so its echo is skipped unparsed. Nothing else the
      // echo could set off is lost: a blocker's configuration was re-vetted when it was decided
      // (process()), against the allocator that already holds this decision.
      if (step.written) this.opts.services.adopt?.(step.written, svc.metadata?.resourceVersion);
      this.queue.forget(key);
      const t0 = this.firstSeen.get(key);
      if (t0 !== undefined && !desired.conditionOnly) this.opts.metrics.allocationSeconds((this.opts.clock.now() - t0) / 1000);
      this.firstSeen.delete(key);
      this.events.emit(svc, d, true);
    }
  }

  /**
   * A status that differs from what we last wrote, in a newer version of the Service than our
   * write, was written by someone else. The first such change is answered at once, the following
   * ones in a row with exponential backoff (fights.ts), with a Warning naming the other writer.
   */
  private noticeForeignWrite(svc: k8s.V1Service): void {
    const key = serviceKey(svc);
    if (this.queue.working(key)) return; // our own write may be what we see
    const now = this.opts.clock.now();
    const seen = this.foreign.observe(key, svc.metadata?.resourceVersion, ingressIPs(svc), now);
    if (!seen) return;
    this.opts.metrics.foreignStatusChange();
    this.opts.metrics.statusFights(this.foreign.fights.active(now));
    if (seen.inARow < 2) return;
    this.events.say(svc, 'Warning', 'StatusFight', fightWarning(lastStatusWriter(svc, this.opts.fieldManager), seen.ours), 'fight');
  }

  // ---- for metrics and tests -------------------------------------------------------------------

  /** Pool usage and Services per pool while leading; undefined otherwise. */
  poolUsage(): { stats: PoolStats[]; servicesPerPool: Map<string, number> } | undefined {
    if (!this.isLeading || !this.ctx.config) return undefined;
    const servicesPerPool = new Map<string, number>();
    for (const svc of this.opts.services.list()) {
      const pool = this.allocator.poolOf(serviceKey(svc));
      if (pool) servicesPerPool.set(pool, (servicesPerPool.get(pool) ?? 0) + 1);
    }
    this.opts.metrics.statusFights(this.foreign.fights.active(this.opts.clock.now()));
    return { stats: this.allocator.stats(), servicesPerPool };
  }
}
