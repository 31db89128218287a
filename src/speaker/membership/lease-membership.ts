// Speaker liveness through coordination.k8s.io Leases: each speaker renews `ironlb-speaker-<node>`
// every couple of seconds; a speaker whose Lease has not changed for its duration is dead.
// Freshness is judged by when *we* saw each Lease change, so clocks need not agree.
//
// Fail-static: while this speaker cannot renew its own Lease (API server unreachable) it keeps
// its last view instead of declaring everybody dead — absence of news is not news of death,
// and an announced address must not be withdrawn because the API server is down.
import type * as k8s from '@kubernetes/client-node';
import { apiStatus, errorText } from '../../k8s/api-call';
import { Informer } from '../../k8s/informer';
import { rest, type KubeLike } from '../../k8s/kube';
import type { RestClient } from '../../k8s/rest';
import { leaseTimeMs } from '../../k8s/lease';
import type { Logger } from '../../util/log';
import type { Membership } from './membership';
import { PROOF_SLACK_MS, proofDueAt } from './lease-proof';
import { apiOk } from './self-fence';
import { OwnEcho, echoTimeoutMs } from './lease-echo';
import { speakerLeaseBody, writeSpeakerLease } from './lease-write';
import { NODE_ADDRESS_ANNOTATION, NODE_MACS_ANNOTATION, SPEAKER_LABELS, SPEAKER_LEASE_PREFIX } from './lease-labels';

export { proofDueAt } from './lease-proof';
export { NODE_ADDRESS_ANNOTATION, NODE_MACS_ANNOTATION, SPEAKER_LABELS, SPEAKER_LEASE_PREFIX } from './lease-labels';

/** How often the Lease view is looked at besides on news. */
const CHECK_MS = 250;

export interface LeaseMembershipOptions {
  kc: KubeLike;
  namespace: string;
  nodeName: string;
  /** This node's address, published for the heartbeat layer. */
  nodeAddress?: string;
  renewIntervalMs?: number; // default 2000
  leaseDurationSeconds?: number; // default 6
  log: Logger;
}

interface Seen {
  node: string;
  resourceVersion: string;
  observedAt: number;
  durationMs: number;
  address?: string;
  macs?: string;
}

export class LeaseMembership implements Membership {
  private readonly api: RestClient;
  private readonly informer: Informer<k8s.V1Lease>;
  private readonly seen = new Map<string, Seen>();
  private readonly listeners: Array<() => void> = [];
  private readonly macListeners: Array<() => void> = [];
  lastLossAt?: number;
  private current = new Set<string>();
  private lastOwnRenew = 0;
  /** The last renewal that went through, on the monotonic clock: when it started and completed. */
  private renewedMono?: { startedAt: number; completedAt: number };
  /** Whether our watch shows our own renewals (lease-echo.ts). */
  private readonly echo: OwnEcho;
  private ownResourceVersion?: string;
  private renewTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  /** An extra renewal at the moment a silent peer's Lease runs out (proofDueAt). */
  private proofTimer?: NodeJS.Timeout;
  private proofFor?: number;
  private stopped = false;
  private renewing = false;
  /** The renewal in flight, if any: stop() lets it finish before deleting the Lease. */
  private inFlight?: Promise<void>;
  /** Start of the current stretch in which the API server answered us without a long gap. */
  private apiUpSince = 0;
  private wasWatching = false;
  readonly renewMs: number;
  private readonly durationS: number;
  /** Extra annotations on our Lease (publish()); `republish`: changed since the last write began. */
  private published: Record<string, string> = {};
  private republish = false;
  private started = false;
  /** Written with every renewal (setAnnotation). */
  private readonly extraAnnotations = new Map<string, string>();

  constructor(private readonly opts: LeaseMembershipOptions) {
    this.api = rest(opts.kc);
    this.renewMs = opts.renewIntervalMs ?? 2000;
    this.durationS = opts.leaseDurationSeconds ?? 6;
    this.echo = new OwnEcho(echoTimeoutMs(this.renewMs, this.durationS * 1000, CHECK_MS));
    const labelSelector = Object.entries(SPEAKER_LABELS)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    this.informer = new Informer<k8s.V1Lease>(opts.kc, this.leasesPath, { labelSelector, log: opts.log });
    this.informer.on((lease, event) => this.observe(lease, event));
  }

  private get leasesPath(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases`;
  }

  private get leasePath(): string {
    return `${this.leasesPath}/${encodeURIComponent(this.leaseName)}`;
  }

  get leaseName(): string {
    return SPEAKER_LEASE_PREFIX + this.opts.nodeName;
  }

  get synced(): boolean {
    return this.informer.synced;
  }

  alive(): ReadonlySet<string> {
    return this.current;
  }

  get leaseDurationMs(): number {
    return this.durationS * 1000;
  }

  /** Start of our last renewal that went through (monotonic ms; self-fence.ts). */
  get lastRenewStartedAt(): number | undefined {
    return this.renewedMono?.startedAt;
  }

  /** We could prove a silent peer dead soon: our renewals go through, our watch is up, and has
   * been for `needUpForMs` (the heartbeats' API_OK flag, self-fence.ts). `now`: monotonic ms. */
  apiWorking(now: number, needUpForMs: number): boolean {
    const apiUpForMs = Date.now() - this.apiUpSince;
    return apiOk({ now, watching: this.watchUp(now), lastRenewedAt: this.renewedMono?.completedAt, renewMs: this.renewMs, apiUpForMs, needUpForMs });
  }

  /** Our Lease watch is up and shows our own renewals (lease-echo.ts). `now`: monotonic ms. */
  private watchUp(now: number): boolean {
    return this.informer.healthy && !this.echo.stale(now);
  }

  /** The node addresses published in the speakers' Leases. */
  addresses(): Map<string, string> {
    const out = new Map<string, string>();
    // Every speaker with a Lease, dead-looking ones too: heartbeats to them cost nothing and let a
    // peer our Lease view lost (an API hiccup) keep hearing us.
    for (const s of this.seen.values()) if (s.address) out.set(s.node, s.address);
    return out;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** Every speaker's published interface MACs (ours included once written), dead-looking ones too. */
  speakerMacs(): string[] {
    const out: string[] = [];
    for (const s of this.seen.values()) if (s.macs) out.push(...s.macs.split(',').filter(Boolean));
    return out;
  }

  /** One speaker's published interface MACs (empty when it publishes none). */
  nodeMacs(node: string): string[] {
    for (const s of this.seen.values()) if (s.node === node && s.macs) return s.macs.split(',').filter(Boolean);
    return [];
  }

  /** Called when some speaker's published MACs changed. */
  onMacsChange(cb: () => void): void {
    this.macListeners.push(cb);
  }

  /**
   * Annotations to carry on our Lease besides the node address (the speaker's view for `ironlb
   * status`/`explain`): written at once when they change, not at the next renewal.
   */
  publish(annotations: Record<string, string>): void {
    if (JSON.stringify(annotations) === JSON.stringify(this.published)) return;
    this.published = { ...annotations };
    this.republish = true;
    if (this.started) void this.renew();
  }

  /** An annotation of our Lease, written from the next renewal on (the heartbeat incarnation). */
  setAnnotation(key: string, value: string): void {
    this.extraAnnotations.set(key, value);
  }

  /** Sets (or, with undefined, removes) an annotation of our Lease and writes it at once. */
  setAnnotationNow(key: string, value: string | undefined): void {
    if (this.extraAnnotations.get(key) === value) return;
    if (value === undefined) this.extraAnnotations.delete(key);
    else this.extraAnnotations.set(key, value);
    this.republish = true;
    if (this.started) void this.renew();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.started = true;
    await this.renew();
    await this.informer.start();
    this.evaluate();
    this.renewTimer = setInterval(() => void this.renew(), this.renewMs);
    this.checkTimer = setInterval(() => this.evaluate(), CHECK_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    clearTimeout(this.proofTimer);
    await this.informer.stop();
    // A renewal still in flight would land after the delete and write the Lease back: wait for it
    // (it gives up after its own timeout).
    await this.inFlight;
    // Leaving: delete our Lease so that the others drop us at once instead of after expiry.
    await this.api.delete(this.leasePath).catch((e) => {
      if (apiStatus(e) !== 404) this.opts.log.warn('could not delete speaker lease', { error: errorText(e) });
    });
  }

  /** One renewal at a time; a hung API server must not pile up requests. */
  private async renew(): Promise<void> {
    if (this.stopped || this.renewing) return;
    this.renewing = true;
    this.republish = false;
    const startedAt = performance.now();
    // The give-up timer is cleared with the renewal: left running, it kept a stopped speaker's
    // process (or a test) alive for up to two seconds.
    let giveUp: NodeJS.Timeout | undefined;
    const attempt = Promise.race([
      this.renewOnce(),
      new Promise<never>((_, reject) => {
        giveUp = setTimeout(() => reject(new Error('timed out')), Math.max(2000, this.renewMs * 2));
      }),
    ]);
    this.inFlight = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      await attempt;
      this.renewedMono = { startedAt, completedAt: performance.now() };
    } catch (e) {
      this.ownResourceVersion = undefined;
      if (!this.stopped) this.opts.log.warn('could not renew speaker lease', { lease: this.leaseName, error: errorText(e) });
    } finally {
      clearTimeout(giveUp);
      this.renewing = false;
      this.inFlight = undefined;
    }
    if (this.republish && !this.stopped) void this.renew(); // published() changed while we wrote
  }

  private async renewOnce(): Promise<void> {
    const annotations = { ...this.published, ...Object.fromEntries(this.extraAnnotations), ...(this.opts.nodeAddress ? { [NODE_ADDRESS_ANNOTATION]: this.opts.nodeAddress } : {}) };
    const body = (resourceVersion?: string): k8s.V1Lease => speakerLeaseBody({ name: this.leaseName, namespace: this.opts.namespace, node: this.opts.nodeName, annotations, durationS: this.durationS, resourceVersion });
    const written = await writeSpeakerLease(this.api, { collection: this.leasesPath, item: this.leasePath }, body, this.ownResourceVersion, () => this.stopped);
    const now = Date.now();
    // A gap in our own renewals means the API server was away: peers' silence during it proves nothing.
    if (now - this.lastOwnRenew > Math.max(this.renewMs * 2, 2000)) this.apiUpSince = now;
    this.ownResourceVersion = written.metadata?.resourceVersion;
    this.echo.wrote(this.ownResourceVersion, performance.now());
    this.lastOwnRenew = now;
    // Look at once: this renewal may prove a peer dead, or open the window of a proof renewal.
    this.evaluate();
  }

  private observe(lease: k8s.V1Lease, event: string): void {
    const name = lease.metadata?.name ?? '';
    if (!name.startsWith(SPEAKER_LEASE_PREFIX)) return;
    const node = lease.spec?.holderIdentity || name.slice(SPEAKER_LEASE_PREFIX.length);
    if (event === 'delete') {
      const gone = this.seen.get(name);
      this.seen.delete(name);
      if (gone?.macs) for (const cb of this.macListeners) cb();
      this.evaluate();
      return;
    }
    const rv = lease.metadata?.resourceVersion ?? '';
    if (name === this.leaseName) this.echo.saw(rv);
    const prev = this.seen.get(name);
    if (prev && prev.resourceVersion === rv) return;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.durationS) * 1000;
    let observedAt = Date.now();
    if (!prev) {
      // First sight (start-up list): a Lease renewed long ago is not fresh just because we only now see it.
      const renewed = leaseTimeMs(lease.spec?.renewTime);
      if (renewed !== undefined) observedAt = Math.min(observedAt, Math.max(renewed, observedAt - durationMs - 1));
    }
    const macs = lease.metadata?.annotations?.[NODE_MACS_ANNOTATION];
    this.seen.set(name, { node, resourceVersion: rv, observedAt, durationMs, address: lease.metadata?.annotations?.[NODE_ADDRESS_ANNOTATION], macs });
    if (macs !== prev?.macs) for (const cb of this.macListeners) cb();
    this.evaluate();
  }

  private evaluate(): void {
    const now = Date.now();
    const mono = performance.now();
    if (this.echo.shouldRestart(mono)) {
      this.opts.log.warn('our Lease watch has not shown our own renewal: taking it for stale and watching again; silence proves nothing meanwhile', { timeoutMs: this.echo.timeoutMs });
      this.informer.restartWatch('our own Lease renewal did not show in the watch');
    }
    // A watch that failed and came back missed renewals that nobody may have been able to make;
    // one that only lagged behind our own write (stale, restarted) replays what it missed, so
    // silence judged from before it still holds once it shows our write again.
    if (this.informer.healthy && !this.wasWatching) this.apiUpSince = Math.max(this.apiUpSince, now);
    this.wasWatching = this.informer.healthy;
    const watching = this.watchUp(mono);
    const apiHealthy = watching && now - this.lastOwnRenew <= this.durationS * 1000;
    const next = new Set<string>();
    for (const s of this.seen.values()) {
      // Silence is evidence of death only while the API server demonstrably works (our own
      // renewals go through, our watch is up) for a whole Lease duration after the peer's last
      // renewal: during and right after an outage nobody could renew or be seen renewing.
      const silentSince = Math.max(s.observedAt, this.apiUpSince);
      const provedDead = watching && this.lastOwnRenew - silentSince > s.durationMs;
      if (!provedDead) next.add(s.node);
    }
    this.scheduleProof(proofDueAt([...this.seen.values()].filter((s) => s.node !== this.opts.nodeName), this.apiUpSince, this.lastOwnRenew, this.renewMs), now);
    // Fail-static for ourselves too: once counted, we stay counted while the API server is away.
    if (!this.stopped && (apiHealthy || this.current.has(this.opts.nodeName))) next.add(this.opts.nodeName);
    if (next.size === this.current.size && [...next].every((n) => this.current.has(n))) return;
    const joined = [...next].filter((n) => !this.current.has(n));
    const left = [...this.current].filter((n) => !next.has(n));
    this.current = next;
    if (left.some((n) => n !== this.opts.nodeName)) this.lastLossAt = Date.now();
    this.opts.log.info('speaker membership changed', { alive: [...next].sort(), joined, left });
    for (const cb of this.listeners) cb();
  }

  /**
   * Renews at `due` (once per due time) and looks again: every live speaker then proves a silent
   * peer dead within a request's time of the others, instead of at its own next regular renewal.
   * Those are spread over a renewal interval, and for that long the speakers disagreed on who is
   * alive: one had elected a new owner while another still acknowledged the old one, which kept
   * announcing (two nodes answering ARP for one address, seen in heartbeat-flood.test.ts).
   */
  private scheduleProof(due: number | undefined, now: number): void {
    if (due === undefined || due === this.proofFor || this.stopped) return;
    clearTimeout(this.proofTimer);
    this.proofFor = due;
    this.proofTimer = setTimeout(() => void this.renew().then(() => this.evaluate()), Math.max(0, due - now) + PROOF_SLACK_MS);
    this.proofTimer.unref?.();
  }
}
