// Sub-second speaker liveness: UDP heartbeats between speakers, fenced by the speaker Leases.
//
// Every `intervalMs` each speaker sends an authenticated heartbeat (heartbeat-codec.ts) to the
// node address published in every speaker Lease (LeaseMembership.addresses()). A peer is alive
// iff heard within the dead interval AND its Lease is alive in LeaseMembership's view; while the
// API server is unreachable for us, the heartbeat view alone decides. A speaker that hears none
// of the peers the Leases say are alive is isolated and counts nobody, itself included, so it
// announces nothing (computeLiveness in heartbeat-view.ts; docs/failover.md).
//
// Flags keep layer-2 elections off nodes that could not announce: STARTING (markReady), NO_LAYER2
// and DATAPATH_DOWN (readiness-flag.ts). Peers still hear such a node; they hand it no addresses.
//
// Receiving runs in a worker behind a kernel filter (heartbeat-transport.ts); the key rotates
// without a failover (heartbeat-keys.ts); the incarnation lives in our Lease (heartbeat-store.ts).
// Sending: the main thread signs the heartbeats of the next `sendAheadMs` and the receiver worker
// sends them on time (heartbeat-outbox.ts, send-schedule.ts), so a main-loop stall up to that long
// is not silence. Detection is adaptive per peer and forgives our own stalls (failure-detector.ts).
// Every duration is measured on the monotonic clock. The Secret is re-read every `keyRefreshMs`,
// which also tells whether the API server is reachable.
import { rest } from '../../k8s/kube';
import type { RestClient } from '../../k8s/rest';
import { FLAG_ACK, FLAG_AUDIT_CONTESTED, FLAG_AUDIT_SILENT, FLAG_LEAVING, FLAG_STARTING } from './heartbeat-codec';
import { HeartbeatKeyRing } from './heartbeat-keys';
import { dispatch, HeartbeatOutbox } from './heartbeat-outbox';
import { DropCounters } from './heartbeat-drops';
import { fetchHeartbeatKey, INCARNATION_ANNOTATION, readStoredIncarnation, staleIncarnation, untilApiAnswers } from './heartbeat-store';
import { HeartbeatTransport, type ReceivedHeartbeat } from './heartbeat-transport';
import { computeLiveness, HeartbeatView, type Liveness } from './heartbeat-view';
import { DATAPATH_DOWN, NO_LAYER2, ReadinessFlag } from './readiness-flag';
import type { Membership } from './membership';
import type { HeartbeatMembershipOptions } from './heartbeat-options';

export { MEMBERLIST_SECRET, MEMBERLIST_SECRET_KEY } from './heartbeat-store';
export const DEFAULT_HEARTBEAT_PORT = 7946;
export type { HeartbeatMembershipOptions } from './heartbeat-options';

/** Monotonic milliseconds. */
const now = (): number => performance.now();

export class HeartbeatMembership implements Membership {
  private readonly view: HeartbeatView;
  private readonly listeners: Array<() => void> = [];
  private readonly auditListeners: Array<() => void> = [];
  /** Peers that failed our announcement audit (sent to each in its heartbeats). */
  private auditVerdicts: { silent: ReadonlySet<string>; contested: ReadonlySet<string> } = { silent: new Set(), contested: new Set() };
  private readonly core: RestClient;
  private readonly port: number;
  private readonly intervalMs: number;
  private readonly keyRefreshMs: number;
  private readonly keys: HeartbeatKeyRing;
  private readonly drops: DropCounters;
  private transport?: HeartbeatTransport;
  private receiverStart?: Promise<void>;
  /** The heartbeat sockets are open (start() went through). */
  private sockets = false;
  private lastApiOk = -Infinity;
  private incarnation = 0;
  /** Signs our heartbeats (sequences per addressee, in this incarnation). */
  private readonly outbox = new HeartbeatOutbox();
  /** Heartbeats signed per peer and tick: now and the next intervals of sendAheadMs. */
  private readonly slots: number;
  /** How often the view is evaluated (dead peers found), a fraction of the interval. */
  private readonly lookMs: number;
  /** Our timestamps before this are a previous life's: their echoes are not RTT samples. */
  private startStamp = 0;
  private running = false;
  /** Past start-up (markReady): heartbeats stop saying STARTING. */
  private ready = false;
  /** We have a usable layer-2 interface (and count ourselves ready one interval after telling the peers). */
  private readonly layer2: ReadinessFlag;
  /** Our data path answers its health check (the same, for pools with `datapath-check`). */
  private readonly dataPath: ReadinessFlag;
  lastLossAt?: number;
  private liveness: Liveness = { alive: new Set(), peers: new Set(), isolated: false, unacknowledged: false };
  private timers: NodeJS.Timeout[] = [];
  /** The Lease view as of the last time the API server was reachable (the Lease layer's own view
   * may decay while it cannot list; the isolation rule must keep expecting those peers). */
  private leaseSnapshot: ReadonlySet<string> = new Set();
  /** When each Lease-alive peer (re)appeared in the Lease view. */
  private readonly leaseSince = new Map<string, number>();

  constructor(private readonly opts: HeartbeatMembershipOptions) {
    this.core = rest(opts.kc);
    this.port = opts.port ?? DEFAULT_HEARTBEAT_PORT;
    this.intervalMs = opts.intervalMs ?? 100;
    this.keyRefreshMs = opts.keyRefreshMs ?? 2000;
    this.slots = 1 + Math.ceil((opts.sendAheadMs ?? 3 * this.intervalMs) / this.intervalMs);
    // Often enough that a deadline is acted on within 10 % of an interval; cheap (sets of a few peers).
    this.lookMs = Math.max(5, this.intervalMs / 10);
    // Reads of the Secret by different speakers are at most one period apart: two periods before
    // sending with a new key, two more before the old one stops working (docs/failover.md).
    this.keys = new HeartbeatKeyRing({ sendAfterMs: 2 * this.keyRefreshMs, acceptForMs: 4 * this.keyRefreshMs });
    this.drops = new DropCounters(opts.log, opts.metrics);
    const hooks = {
      changed: (): void => {
        this.notify();
        // Listeners re-elect in a setImmediate; queued after theirs, this send follows our own
        // withdrawal, so that no peer takes an address over while we still hold it.
        setImmediate(() => this.sendAll());
      },
      heldOver: (): void => this.notify(),
    };
    this.layer2 = new ReadinessFlag(NO_LAYER2, this.intervalMs, opts.log, hooks);
    this.dataPath = new ReadinessFlag(DATAPATH_DOWN, this.intervalMs, opts.log, hooks);
    this.view = new HeartbeatView({
      self: opts.nodeName,
      intervalMs: this.intervalMs,
      suspectIntervals: opts.suspectIntervals,
      deadIntervals: opts.deadIntervals,
      adaptive: opts.adaptive,
      minDeadIntervals: opts.minDeadIntervals,
      lookPeriodMs: this.lookMs,
    });
    opts.lease.onChange(() => {
      this.transport?.setPeers(this.opts.lease.addresses());
      this.evaluate();
    });
  }

  get synced(): boolean {
    return this.keys.loaded && this.opts.lease.synced;
  }

  alive(): ReadonlySet<string> {
    return this.liveness.alive;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** A key read succeeded within 1.5 refresh periods (capped by apiTimeoutMs). Stricter than the Lease
   * layer's own health on purpose: we must freeze our Lease snapshot before that layer's view of the
   * peers starts to decay for want of updates. */
  get apiReachable(): boolean {
    const limit = Math.min(this.opts.apiTimeoutMs ?? 6000, this.keyRefreshMs * 1.5);
    return now() - this.lastApiOk <= limit;
  }

  prepare(): void {
    if (this.receiverStart) return;
    this.transport = new HeartbeatTransport({
      port: this.port,
      self: this.opts.nodeName,
      intervalMs: this.intervalMs,
      log: this.opts.log,
      onHeartbeat: (r) => this.receive(r),
      onUnverified: (nodes) => {
        for (const n of nodes) this.view.vouch(n, now());
      },
      onCounters: (c) => {
        this.drops.fromReceiver(c);
        if (c.heapBytes !== undefined) this.opts.metrics?.workerHeap.set({ thread: 'heartbeat' }, c.heapBytes);
      },
    });
    this.receiverStart = this.transport.startReceiver();
    this.receiverStart.catch(() => undefined); // awaited in start()
  }

  async start(): Promise<void> {
    this.startStamp = stamp();
    this.prepare(); // the receiver thread starts while we talk to the API server
    await this.loadKey(true);
    this.incarnation = (await untilApiAnswers(this.opts.log, 'reading our stored incarnation', () => readStoredIncarnation(this.core, this.opts.namespace, this.opts.lease.leaseName))) + 1;
    this.outbox.reset();
    // Stored before the first heartbeat leaves: lease.start() writes our Lease.
    this.opts.lease.setAnnotation(INCARNATION_ANNOTATION, String(this.incarnation));
    this.running = true;
    await this.opts.lease.start();
    const transport = this.transport as HeartbeatTransport;
    try {
      await this.receiverStart;
      // The sockets open once the Leases are listed, with the peers' addresses in the filter at once.
      transport.setKeys(this.keys.accepted(now()));
      transport.open(this.opts.lease.addresses());
    } catch (e) {
      await transport.stop();
      throw e;
    }
    this.sockets = true;
    this.opts.log.info('heartbeats started', { port: this.port, incarnation: this.incarnation });
    this.timers.push(setInterval(() => this.tick(), this.intervalMs));
    // Between ticks too: a peer's adaptive deadline is not a multiple of the interval.
    this.timers.push(setInterval(() => this.evaluate(), this.lookMs));
    this.timers.push(setInterval(() => void this.loadKey(false), this.keyRefreshMs));
    this.timers.push(setInterval(() => this.transport && this.drops.kernel(this.transport.kernelDrops()), 1000));
    this.tick();
  }

  setLayer2Ready(ready: boolean): void {
    this.layer2.set(ready);
  }

  /** Our auditor's verdicts on peers: each hears its own in our heartbeats (at once on a change). */
  setAuditVerdicts(silent: ReadonlySet<string>, contested: ReadonlySet<string>): void {
    const prev = this.auditVerdicts;
    this.auditVerdicts = { silent: new Set(silent), contested: new Set(contested) };
    if (!sameSet(prev.silent, silent) || !sameSet(prev.contested, contested)) setImmediate(() => this.running && this.sendAll());
  }

  /** Peers (heard now) whose heartbeats say we failed their announcement audit. */
  auditAccusers(): { silent: ReadonlySet<string>; contested: ReadonlySet<string> } {
    return this.view.auditAccusers(now());
  }

  onAuditChange(cb: () => void): void {
    this.auditListeners.push(cb);
  }

  layer2Unready(): ReadonlySet<string> {
    const out = this.view.withoutLayer2(now());
    if (this.layer2.excludesSelf) out.add(this.opts.nodeName);
    return out;
  }

  setDataPathReady(ready: boolean): void {
    this.dataPath.set(ready);
  }

  dataPathDown(): ReadonlySet<string> {
    const out = this.view.withoutDataPath(now());
    if (this.dataPath.excludesSelf) out.add(this.opts.nodeName);
    return out;
  }

  private notify(): void {
    for (const cb of this.listeners) cb();
  }

  markReady(): void {
    if (this.ready) return;
    this.ready = true;
    this.sendAll(); // tell the peers now, not at the next tick
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.layer2.cancel();
    this.dataPath.cancel();
    // Leaving: no more signed-ahead heartbeats; tell every peer (twice, against a lost datagram)
    // so that it drops us at once.
    this.transport?.schedule([]);
    for (let i = 0; i < 2; i++) this.sendAll(FLAG_LEAVING, false);
    await this.transport?.stop();
    this.transport = undefined;
    this.receiverStart = undefined;
    this.sockets = false;
    this.evaluate();
    await this.opts.lease.stop();
  }

  private async loadKey(initial: boolean): Promise<void> {
    const key = await fetchHeartbeatKey(this.core, this.opts.namespace, this.opts.log, initial);
    if (!key) return;
    this.lastApiOk = now();
    if (this.keys.observe(key, now()) && !initial) {
      this.opts.log.info('heartbeat key changed: accepting both keys, sending with the new one later', { sendAfterMs: 2 * this.keyRefreshMs, oldKeyAcceptedForMs: 4 * this.keyRefreshMs });
    }
    this.transport?.setKeys(this.keys.accepted(now()));
  }

  private receive({ heartbeat: hb, keyId, from, at }: ReceivedHeartbeat): void {
    const t = now();
    // Look first: if we stalled, the stall is forgiven before this heartbeat counts.
    this.view.observe(t);
    // When the worker received it, on our clock: read late after a stall of ours, it is not late.
    const arrival = t - Math.max(0, Number(process.hrtime.bigint()) / 1e6 - at);
    const flagsBefore = this.view.electionFlags(hb.node);
    const auditBefore = this.view.auditFlags(hb.node);
    const result = this.view.accept(hb, arrival);
    if (result === 'replayed') {
      this.drops.count('replayed', from);
      return;
    }
    this.keys.peerSends(keyId, t);
    if (staleIncarnation(this.incarnation, this.outbox.lastSequence(hb.node), hb.echoIncarnation, hb.echoSequence)) {
      const used = Math.max(this.incarnation, hb.echoIncarnation);
      this.opts.log.warn('our heartbeat incarnation was used before (its record in our Lease was lost): moving past it', { incarnation: this.incarnation, usedUpTo: used, peer: hb.node });
      this.incarnation = used + 1;
      this.outbox.reset();
      this.opts.lease.setAnnotation(INCARNATION_ANNOTATION, String(this.incarnation));
    }
    if (hb.echoTimestamp >= this.startStamp) {
      const rtt = stamp() - hb.echoTimestamp - hb.echoDelayMs;
      if (rtt >= 0 && rtt < 10_000) this.opts.metrics?.heartbeatRtt.observe(rtt / 1000);
    }
    if (this.view.auditFlags(hb.node) !== auditBefore) for (const cb of this.auditListeners) cb();
    if (result === 'left') {
      if (this.liveness.alive.has(hb.node)) this.opts.log.info('speaker left', { node: hb.node });
      this.evaluate();
    } else if (!this.liveness.alive.has(hb.node) || this.liveness.isolated || this.liveness.unacknowledged) {
      this.evaluate(); // a (re)joining peer, or news that may end our isolation: no need to wait a tick
    } else if (this.view.electionFlags(hb.node) !== flagsBefore) {
      this.notify(); // the peer lost or regained its layer-2 interfaces or its data path: re-elect
    }
  }

  private tick(): void {
    this.transport?.setKeys(this.keys.accepted(now()));
    this.transport?.setPeers(this.opts.lease.addresses());
    this.evaluate();
    this.sign(0, this.slots, true);
    this.view.prune(this.opts.lease.alive(), now(), 60_000);
  }

  /**
   * Heartbeats now, outside the tick (a change the peers must hear at once): sent from here, and
   * (`ahead`) the following intervals signed again with the new flags for the worker.
   */
  private sendAll(extraFlags = 0, ahead = true): void {
    this.sign(extraFlags, ahead ? this.slots : 1, false);
  }

  /** Signs `slots` heartbeats per peer; slot 0 is sent now by the worker (`viaWorker`) or from here. */
  private sign(extraFlags: number, slots: number, viaWorker: boolean): void {
    const t = now();
    const key = this.keys.sending(t);
    if (!key || !this.transport || !this.sockets) return;
    const signed = this.outbox.sign({
      self: this.opts.nodeName,
      incarnation: this.incarnation,
      key,
      peers: this.opts.lease.addresses(),
      flagsFor: (node) => extraFlags | this.flagsFor(node),
      echoFor: (node) => this.view.echoFor(node, t),
      stamp: stamp(),
      intervalMs: this.intervalMs,
      slots,
    });
    dispatch(signed, this.transport, viaWorker, (flags) => {
      this.layer2.sent(flags);
      this.dataPath.sent(flags);
    });
  }

  private flagsFor(node: string): number {
    const audit = (this.auditVerdicts.silent.has(node) ? FLAG_AUDIT_SILENT : 0) | (this.auditVerdicts.contested.has(node) ? FLAG_AUDIT_CONTESTED : 0);
    return (this.running && this.liveness.peers.has(node) ? FLAG_ACK : 0) | (this.ready ? 0 : FLAG_STARTING) | this.layer2.flags | this.dataPath.flags | audit;
  }

  private evaluate(): void {
    const t = now();
    this.view.observe(t);
    const apiReachable = this.apiReachable;
    if (apiReachable) this.leaseSnapshot = new Set(this.opts.lease.alive());
    for (const n of this.leaseSnapshot) if (!this.leaseSince.has(n)) this.leaseSince.set(n, t);
    for (const n of this.leaseSince.keys()) if (!this.leaseSnapshot.has(n)) this.leaseSince.delete(n);
    // A peer whose Lease just appeared (new or restarted speaker) is not yet expected to be heard.
    const joining = new Set([...this.leaseSince].filter(([, since]) => t - since < this.view.deadAfterMs).map(([n]) => n));
    const next = computeLiveness({
      self: this.opts.nodeName,
      running: this.running,
      heard: this.view.heard(t),
      ackers: this.view.ackers(t),
      starting: this.view.starting(t),
      leaseAlive: this.leaseSnapshot,
      apiReachable,
      joining,
    });
    const prev = this.liveness;
    if (next.isolated !== prev.isolated) {
      if (next.isolated) this.opts.log.warn('isolated: hearing none of the speakers the Leases say are alive; withdrawing', { expected: [...this.leaseSnapshot].filter((n) => n !== this.opts.nodeName) });
      else this.opts.log.info('no longer isolated');
    }
    this.liveness = next;
    if (sameSet(next.alive, prev.alive)) return;
    const joined = [...next.alive].filter((n) => !prev.alive.has(n));
    const left = [...prev.alive].filter((n) => !next.alive.has(n));
    // For each peer lost: how long it had been silent and its deadline then (the adaptive detector's view).
    const silence = Object.fromEntries(left.filter((n) => n !== this.opts.nodeName).map((n) => [n, { silentMs: Math.round(this.view.silence(n, t) ?? -1), deadlineMs: Math.round(this.view.deadlineFor(n)) }]));
    this.opts.log.info('speaker membership changed', { alive: [...next.alive].sort(), joined, left, silence, source: 'heartbeat', apiReachable: this.apiReachable });
    if (!next.isolated && left.some((n) => n !== this.opts.nodeName && !this.view.hasLeft(n))) this.lastLossAt = Date.now();
    this.notify();
    // A peer we now count waits for our ACK before it announces: send it now, not at the next tick.
    if (joined.some((n) => n !== this.opts.nodeName)) setImmediate(() => this.running && this.sendAll());
  }
}

/** Heartbeat timestamps: monotonic within a life, and (barring wall-clock steps) above the
 * previous life's, so an echo of a previous life's timestamp is not taken for an RTT sample. */
function stamp(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
