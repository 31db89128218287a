// Per-Service backoff against another writer of status.loadBalancer (MetalLB's controller left
// running during a migration, a second ironlb with another configuration). Answering every
// foreign change at once is an endless war on the API server; instead the first change is
// answered at once (it may have been a one-off edit) and each further one in a row waits twice
// as long as the last, up to maxDelayMs. Pure: time comes in as an argument.

export interface FightPolicy {
  /** Wait before answering the second foreign change in a row; doubled for each further one. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  /** A fight is over when no foreign change came for this long plus twice the current delay. */
  readonly quietMs: number;
}

export const DEFAULT_FIGHT_POLICY: FightPolicy = { firstDelayMs: 1000, maxDelayMs: 300_000, quietMs: 10_000 };

interface Fight {
  /** Foreign changes in a row. */
  count: number;
  lastAt: number;
  delayMs: number;
}

export class StatusFights {
  private readonly fights = new Map<string, Fight>();

  constructor(private readonly policy: FightPolicy = DEFAULT_FIGHT_POLICY) {}

  /** Another writer changed the Service's status at `now`; returns how many times in a row. */
  foreignChange(key: string, now: number): number {
    const prev = this.current(key, now);
    const count = (prev?.count ?? 0) + 1;
    const delayMs = count < 2 ? 0 : Math.min(this.policy.maxDelayMs, this.policy.firstDelayMs * 2 ** (count - 2));
    this.fights.set(key, { count, lastAt: now, delayMs });
    return count;
  }

  /** Milliseconds to wait before writing the Service's status again; 0 = now. */
  holdOff(key: string, now: number): number {
    const f = this.current(key, now);
    return f ? Math.max(0, f.lastAt + f.delayMs - now) : 0;
  }

  /** The current delay while the Service is being fought over, else 0. */
  delayOf(key: string, now: number): number {
    return this.current(key, now)?.delayMs ?? 0;
  }

  forget(key: string): void {
    this.fights.delete(key);
  }

  clear(): void {
    this.fights.clear();
  }

  /** Services whose status is being fought over (at least two foreign changes in a row). */
  active(now: number): number {
    let n = 0;
    for (const key of [...this.fights.keys()]) if ((this.current(key, now)?.count ?? 0) >= 2) n++;
    return n;
  }

  private current(key: string, now: number): Fight | undefined {
    const f = this.fights.get(key);
    if (f && now - f.lastAt > this.policy.quietMs + 2 * f.delayMs) {
      this.fights.delete(key);
      return undefined;
    }
    return f;
  }
}

/** resourceVersions are etcd revisions on every real API server; opaque (only "differs") otherwise. */
function newerVersion(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a !== b;
  return /^\d+$/.test(a) && /^\d+$/.test(b) ? BigInt(a) > BigInt(b) : a !== b;
}

/**
 * Tells our own status writes from another writer's: what we last wrote per Service (and the
 * resourceVersion it produced), and the foreign status seen since, so that each foreign change is
 * counted once.
 */
export class ForeignWrites {
  private readonly written = new Map<string, { ips: readonly string[]; rv?: string; foreign?: string }>();

  constructor(readonly fights: StatusFights = new StatusFights()) {}

  wrote(key: string, ips: readonly string[], rv: string | undefined): void {
    this.written.set(key, { ips, rv });
  }

  /** This version of the Service is the one our last write produced: the watch's echo of it. */
  isOwnEcho(key: string, resourceVersion: string | undefined): boolean {
    return resourceVersion !== undefined && this.written.get(key)?.rv === resourceVersion;
  }

  forget(key: string): void {
    this.written.delete(key);
    this.fights.forget(key);
  }

  /** A new leadership term: what another replica wrote meanwhile was not a foreign writer. */
  clear(): void {
    this.written.clear();
    this.fights.clear();
  }

  /**
   * A version of the Service was observed: when it is newer than our last write and shows a
   * status that is neither ours nor the foreign one already counted, another writer changed it.
   * Returns what we had written and how many foreign changes came in a row, or undefined.
   */
  observe(key: string, resourceVersion: string | undefined, ips: readonly string[], now: number): { ours: readonly string[]; inARow: number } | undefined {
    const mine = this.written.get(key);
    if (!mine || !newerVersion(resourceVersion, mine.rv)) return undefined;
    const shown = ips.join(',');
    if (shown === mine.ips.join(',') || shown === mine.foreign) return undefined;
    mine.foreign = shown;
    return { ours: mine.ips, inARow: this.fights.foreignChange(key, now) };
  }
}

/** The StatusFight Warning: who keeps changing the status away from what, and what to do. */
export function fightWarning(otherWriter: string | undefined, ours: readonly string[]): string {
  return (
    `status.loadBalancer keeps being changed by another writer${otherWriter ? ` (field manager "${otherWriter}")` : ''}, away from ${ours.join(', ') || 'no address'}; ` +
    'ironlb writes it back with exponential backoff (up to 5 minutes) instead of answering every change. ' +
    'If another load-balancer controller (e.g. MetalLB) serves this Service too, stop it or give the Service a spec.loadBalancerClass'
  );
}
