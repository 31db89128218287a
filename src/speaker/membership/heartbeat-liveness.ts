// One look at the heartbeat membership, the pure part (the clock and the Lease view are passed
// in): which peers the isolation rule expects to hear, the liveness computeLiveness (heartbeat-
// view.ts) derives from what we heard, and what changed since the last look. HeartbeatMembership
// (heartbeat-membership.ts) looks on every tick, between ticks and on news, and logs, notifies
// and sends from the verdict.
import { computeLiveness, type HeartbeatView, type Liveness } from './heartbeat-view';

/** The alive set changed at a look. */
export interface AliveChange {
  joined: string[];
  left: string[];
  /** For each peer lost: how long it had been silent and its deadline then (the adaptive detector's view). */
  silence: Record<string, { silentMs: number; deadlineMs: number }>;
  /** A peer (not us) was lost without saying it leaves, while we are not isolated: a failover starts. */
  peerLost: boolean;
}

export interface Look {
  prev: Liveness;
  next: Liveness;
  /** Undefined: the alive set is the same. */
  change?: AliveChange;
}

export interface LookInput {
  /** Monotonic milliseconds. */
  now: number;
  /** We run (started, not stopping): only then do we count ourselves. */
  running: boolean;
  apiReachable: boolean;
  /** The Lease layer's alive set; read only while the API server is reachable. */
  leaseAlive: () => Iterable<string>;
  /** We withdraw before our Lease runs out in peers' views (self-fence.ts). */
  fenced?: boolean;
}

export class LivenessLook {
  private liveness: Liveness = { alive: new Set(), peers: new Set(), isolated: false, unacknowledged: false };
  /** The Lease view as of the last time the API server was reachable (the Lease layer's own view
   * may decay while it cannot list; the isolation rule must keep expecting those peers). */
  private leaseSnapshot: ReadonlySet<string> = new Set();
  /** When each Lease-alive peer (re)appeared in the Lease view. */
  private readonly leaseSince = new Map<string, number>();

  constructor(
    private readonly self: string,
    private readonly view: HeartbeatView,
  ) {}

  /** The liveness of the last look. */
  get current(): Liveness {
    return this.liveness;
  }

  /** The peers whose Leases are alive in the last Lease view taken, ourselves included. */
  get leaseAlive(): ReadonlySet<string> {
    return this.leaseSnapshot;
  }

  look(i: LookInput): Look {
    const t = i.now;
    this.view.observe(t);
    if (i.apiReachable) this.leaseSnapshot = new Set(i.leaseAlive());
    for (const n of this.leaseSnapshot) if (!this.leaseSince.has(n)) this.leaseSince.set(n, t);
    for (const n of this.leaseSince.keys()) if (!this.leaseSnapshot.has(n)) this.leaseSince.delete(n);
    // A peer whose Lease just appeared (new or restarted speaker) is not yet expected to be heard.
    const joining = new Set([...this.leaseSince].filter(([, since]) => t - since < this.view.deadAfterMs).map(([n]) => n));
    const next = computeLiveness({
      self: this.self,
      running: i.running,
      heard: this.view.heard(t),
      ackers: this.view.ackers(t),
      starting: this.view.starting(t),
      leaseAlive: this.leaseSnapshot,
      apiReachable: i.apiReachable,
      joining,
      fenced: i.fenced,
    });
    const prev = this.liveness;
    this.liveness = next;
    if (sameSet(next.alive, prev.alive)) return { prev, next };
    const joined = [...next.alive].filter((n) => !prev.alive.has(n));
    const left = [...prev.alive].filter((n) => !next.alive.has(n));
    const peersLeft = left.filter((n) => n !== this.self);
    const silence = Object.fromEntries(peersLeft.map((n) => [n, { silentMs: Math.round(this.view.silence(n, t) ?? -1), deadlineMs: Math.round(this.view.deadlineFor(n)) }]));
    const peerLost = !next.isolated && peersLeft.some((n) => !this.view.hasLeft(n));
    return { prev, next, change: { joined, left, silence, peerLost } };
  }
}

export function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
