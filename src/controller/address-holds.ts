// The reconciler's addresses held for someone other than a live Service: quarantined addresses
// (quarantine.ts: another host uses them, reported by the speakers) and the addresses of deleted
// Services kept for their pool's release-delay (sticky.ts). Applies both to the leader's
// allocator, schedules their ends, and tells the reconciler which Services to decide again.
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import type { Allocator } from '../ipam/allocator';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { ServiceSource } from './ports';
import { holdQuarantined, Quarantine, releaseQuarantined } from './quarantine';
import { buildRequest, serviceKey } from './service-request';
import { StickyAddresses } from './sticky';
import { decodeHolds, encodeHolds } from './sticky-persist';

export interface AddressHoldsDeps {
  allocator(): Allocator;
  services: ServiceSource;
  clock: Clock;
  log: Logger;
  config(): Config | undefined;
  leading(): boolean;
  decideAgain(key: string): void;
  /** Runs fn after ms (one pending timer per name). */
  later(name: string, ms: number, fn: () => void): void;
  /** An address was freed: Services waiting for one are decided again. */
  afterRelease(): void;
  conflictHoldMs?: number;
  /** The sticky holds changed: their encoded form (undefined: none), for the leader Lease (sticky-persist.ts). */
  persist?(encoded: string | undefined): void;
}

export class AddressHolds {
  private readonly quarantine: Quarantine;
  private readonly sticky = new StickyAddresses();
  private conflicts: ReadonlyMap<string, string> = new Map();

  constructor(private readonly d: AddressHoldsDeps) {
    this.quarantine = new Quarantine(d.conflictHoldMs);
  }

  // ---- quarantine ---------------------------------------------------------------------------

  setConflicts(reported: ReadonlyMap<string, string>): void {
    this.conflicts = new Map(reported);
    this.applyQuarantine();
  }

  quarantined(): string[] {
    return this.quarantine.list().map((e) => e.address);
  }

  /** After the allocator was rebuilt (fresh: sticky holds were in the old one) or resumed. */
  reapply(fresh: boolean): void {
    if (fresh) this.sticky.clear();
    this.holdQuarantined(this.quarantined());
  }

  /** On a rebuilt allocator: the previous leader's holds (its Lease annotation), where still valid. */
  restoreSticky(encoded: string | undefined): void {
    const holds = decodeHolds(encoded);
    if (holds.length === 0) return;
    const live = (key: string): boolean => {
      const [namespace, name] = key.split('/', 2);
      return this.d.services.get(name, namespace) !== undefined;
    };
    const restored = this.sticky.restore(this.d.allocator(), holds, live, this.d.clock.now(), this.d.clock.wallNow());
    this.d.log.info('sticky holds taken over from the previous leader', { persisted: holds.length, restored });
    this.expireSticky();
  }

  private persistSticky(): void {
    const holds = this.sticky.snapshot(this.d.clock.now(), this.d.clock.wallNow());
    this.d.persist?.(holds.length > 0 ? encodeHolds(holds) : undefined);
  }

  private applyQuarantine(): void {
    const now = this.d.clock.now();
    const { added, released } = this.quarantine.update(this.conflicts, now);
    for (const [address, mac] of added) this.d.log.warn('address quarantined: another host uses it', { address, mac });
    for (const address of released) this.d.log.info('address out of quarantine', { address });
    if (this.d.leading()) {
      this.holdQuarantined([...added.keys()]);
      let freed = false;
      for (const address of released) freed = releaseQuarantined(this.d.allocator(), address) || freed;
      if (freed) this.d.afterRelease();
    }
    const next = this.quarantine.nextReleaseAt();
    if (next !== undefined) this.d.later('quarantine', Math.max(0, next - now), () => this.applyQuarantine());
  }

  /** Holds these addresses; the Services that showed them without asking for them are decided again. */
  private holdQuarantined(addresses: readonly string[]): void {
    const requested = (key: string): readonly string[] | undefined => {
      const [namespace, name] = key.split('/', 2);
      const svc = this.d.services.get(name, namespace);
      const built = svc ? buildRequest(svc) : undefined;
      return built?.ok ? built.request.requestedIPs : undefined;
    };
    for (const address of addresses) for (const key of holdQuarantined(this.d.allocator(), address, requested)) this.d.decideAgain(key);
  }

  // ---- sticky addresses -----------------------------------------------------------------------

  /** Holds a deleted Service's addresses for its pool's release-delay; false when there is none. */
  holdDeleted(svc: k8s.V1Service): boolean {
    const built = buildRequest(svc);
    const pools = this.d.config()?.pools ?? [];
    const delayMs = (pool: string): number => (pools.find((p) => p.name === pool)?.releaseDelaySeconds ?? 0) * 1000;
    if (!built.ok || !this.sticky.onDeleted(this.d.allocator(), built.request, delayMs, this.d.clock.now())) return false;
    this.expireSticky();
    this.persistSticky();
    return true;
  }

  /** A Service about to be decided: addresses held for its name go back to it. */
  beforeDecide(svc: k8s.V1Service): void {
    if (!this.sticky.has(serviceKey(svc))) return;
    const built = buildRequest(svc);
    if (built.ok) this.sticky.reclaim(this.d.allocator(), built.request);
    this.persistSticky();
  }

  /** The Service found no address: frees the oldest hold it could use; true if one was freed. */
  evictFor(svc: k8s.V1Service): boolean {
    if (this.sticky.nextExpiry() === undefined) return false;
    const built = buildRequest(svc);
    if (!built.ok) return false;
    const autoPools = new Set((this.d.config()?.pools ?? []).filter((p) => p.autoAssign).map((p) => p.name));
    const evicted = this.sticky.evictFor(this.d.allocator(), built.request, autoPools);
    if (evicted) this.persistSticky();
    return evicted;
  }

  private expireSticky(): void {
    const now = this.d.clock.now();
    if (this.sticky.expire(this.d.allocator(), now)) {
      this.persistSticky();
      if (this.d.leading()) this.d.afterRelease();
    }
    const next = this.sticky.nextExpiry();
    if (next !== undefined) this.d.later('sticky', Math.max(0, next - now), () => this.expireSticky());
  }
}
