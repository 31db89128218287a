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
// Receiving runs in a native thread behind a kernel filter (heartbeat-transport.ts, heartbeat-pump.ts);
// the key rotates without a failover (heartbeat-keys.ts); the incarnation lives in our Lease
// (heartbeat-incarnation.ts). Sending: the main thread signs the heartbeats of the next
// `sendAheadMs` and the pump sends them on time (heartbeat-outbox.ts), so a main-loop stall up to that long
// is not silence. Detection is adaptive per peer and forgives our own stalls (failure-detector.ts).
// Every duration is measured on the monotonic clock. The Secret is re-read every `keyRefreshMs`,
// which also tells whether the API server is reachable (heartbeat-key-refresh.ts). Each look at
// the view (heartbeat-liveness.ts, pure) says who is alive; this class logs and acts on it.
import { rest } from '../../k8s/kube';
import type { RestClient } from '../../k8s/rest';
import { FLAG_ACK, FLAG_API_OK, FLAG_AUDIT_CONTESTED, FLAG_AUDIT_SILENT, FLAG_LEAVING, FLAG_STARTING } from './heartbeat-codec';
import { HeartbeatKeyRefresh } from './heartbeat-key-refresh';
import { LivenessLook, sameSet } from './heartbeat-liveness';
import { HeartbeatIncarnation } from './heartbeat-incarnation';
import { dispatch } from './heartbeat-outbox';
import { DropCounters } from './heartbeat-drops';
import { HeartbeatTransport, type ReceivedHeartbeat } from './heartbeat-transport';
import { HeartbeatView } from './heartbeat-view';
import { DATAPATH_DOWN, NO_LAYER2, ReadinessFlag } from './readiness-flag';
import type { Membership } from './membership';
import type { HeartbeatMembershipOptions } from './heartbeat-options';
import { FenceState } from './fence-state';

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
  /** The key ring, fed from the Secret; its reads also tell whether the API server answers. */
  private readonly keyRefresh: HeartbeatKeyRefresh;
  private readonly drops: DropCounters;
  private transport?: HeartbeatTransport;
  private receiverStart?: Promise<void>;
  /** The heartbeat sockets are open (start() went through). */
  private sockets = false;
  /** Our incarnation, and the outbox that signs our heartbeats in it. */
  private readonly incarnation: HeartbeatIncarnation;
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
  /** The liveness rule applied to the view and the Leases, with what it last said. */
  private readonly looks: LivenessLook;
  private timers: NodeJS.Timeout[] = [];
  /** The API_OK flag our heartbeats carry, and whether we withdraw as cut off (self-fence.ts). */
  private readonly fence: FenceState;

  constructor(private readonly opts: HeartbeatMembershipOptions) {
    this.core = rest(opts.kc);
    this.port = opts.port ?? DEFAULT_HEARTBEAT_PORT;
    this.intervalMs = opts.intervalMs ?? 100;
    this.keyRefreshMs = opts.keyRefreshMs ?? 2000;
    this.slots = 1 + Math.ceil((opts.sendAheadMs ?? 3 * this.intervalMs) / this.intervalMs);
    // Often enough that a deadline is acted on within 10 % of an interval; cheap (sets of a few peers).
    this.lookMs = Math.max(5, this.intervalMs / 10);
    this.keyRefresh = new HeartbeatKeyRefresh({ core: this.core, namespace: opts.namespace, log: opts.log, refreshMs: this.keyRefreshMs, apiTimeoutMs: opts.apiTimeoutMs, now });
    this.drops = new DropCounters(opts.log, opts.metrics);
    this.incarnation = new HeartbeatIncarnation({ core: this.core, namespace: opts.namespace, lease: opts.lease, log: opts.log });
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
    this.looks = new LivenessLook(opts.nodeName, this.view);
    this.fence = new FenceState({ renewMs: opts.lease.renewMs, leaseDurationMs: opts.lease.leaseDurationMs, heartbeatIntervalMs: this.intervalMs }, opts.lease, opts.log, opts.metrics);
    opts.lease.onChange(() => {
      this.transport?.setPeers(this.opts.lease.addresses());
      this.evaluate();
    });
  }

  get synced(): boolean {
    return this.keyRefresh.ring.loaded && this.opts.lease.synced;
  }

  alive(): ReadonlySet<string> {
    return this.looks.current.alive;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** A key read succeeded lately (heartbeat-key-refresh.ts). */
  get apiReachable(): boolean {
    return this.keyRefresh.apiReachable;
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
      onCounters: (c) => this.drops.fromReceiver(c),
    });
    this.receiverStart = this.transport.startReceiver();
    this.receiverStart.catch(() => undefined); // awaited in start()
  }

  async start(): Promise<void> {
    this.startStamp = stamp();
    this.prepare(); // the receiver thread starts while we talk to the API server
    await this.loadKey(true);
    await this.incarnation.begin(); // stored before the first heartbeat leaves
    this.running = true;
    await this.opts.lease.start();
    const transport = this.transport as HeartbeatTransport;
    try {
      await this.receiverStart;
      // The sockets open once the Leases are listed, with the peers' addresses in the filter at once.
      transport.setKeys(this.keyRefresh.ring.accepted(now()));
      transport.open(this.opts.lease.addresses());
    } catch (e) {
      await transport.stop();
      throw e;
    }
    this.sockets = true;
    this.opts.log.info('heartbeats started', { port: this.port, incarnation: this.incarnation.current, selfFencing: this.fence.applies });
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
    if (await this.keyRefresh.load(initial)) this.transport?.setKeys(this.keyRefresh.ring.accepted(now()));
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
    this.keyRefresh.ring.peerSends(keyId, t);
    this.incarnation.checkEcho(hb);
    if (hb.echoTimestamp >= this.startStamp) {
      const rtt = stamp() - hb.echoTimestamp - hb.echoDelayMs;
      if (rtt >= 0 && rtt < 10_000) this.opts.metrics?.heartbeatRtt.observe(rtt / 1000);
    }
    if (this.view.auditFlags(hb.node) !== auditBefore) for (const cb of this.auditListeners) cb();
    const liveness = this.looks.current;
    if (result === 'left') {
      if (liveness.alive.has(hb.node)) this.opts.log.info('speaker left', { node: hb.node });
      this.evaluate();
    } else if (!liveness.alive.has(hb.node) || liveness.isolated || liveness.unacknowledged) {
      this.evaluate(); // a (re)joining peer, or news that may end our isolation: no need to wait a tick
    } else if (this.view.electionFlags(hb.node) !== flagsBefore) {
      this.notify(); // the peer lost or regained its layer-2 interfaces or its data path: re-elect
    }
  }

  private tick(): void {
    this.transport?.setKeys(this.keyRefresh.ring.accepted(now()));
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
    const key = this.keyRefresh.ring.sending(t);
    if (!key || !this.transport || !this.sockets) return;
    const signed = this.incarnation.outbox.sign({
      self: this.opts.nodeName,
      incarnation: this.incarnation.current,
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
    const apiOk = this.fence.apiOk ? FLAG_API_OK : 0;
    return (this.running && this.looks.current.peers.has(node) ? FLAG_ACK : 0) | (this.ready ? 0 : FLAG_STARTING) | this.layer2.flags | this.dataPath.flags | audit | apiOk;
  }

  private evaluate(): void {
    const t = now();
    if (this.fence.update(t, this.running, this.view.apiOkPeers(t).size)) setImmediate(() => this.running && this.sendAll());
    const { prev, next, change } = this.looks.look({ now: t, running: this.running, apiReachable: this.apiReachable, leaseAlive: () => this.opts.lease.alive(), fenced: this.fence.fenced });
    if (next.isolated !== prev.isolated) {
      if (next.isolated) this.opts.log.warn('isolated: hearing none of the speakers the Leases say are alive; withdrawing', { expected: [...this.looks.leaseAlive].filter((n) => n !== this.opts.nodeName) });
      else this.opts.log.info('no longer isolated');
    }
    if (!change) return;
    const { joined, left, silence } = change;
    this.opts.log.info('speaker membership changed', { alive: [...next.alive].sort(), joined, left, silence, source: 'heartbeat', apiReachable: this.apiReachable });
    if (change.peerLost) this.lastLossAt = Date.now();
    this.notify();
    // A peer we now count waits for our ACK before it announces, and one we dropped must stop
    // hearing it (the heartbeats signed ahead still carry it): send now, not at the next tick.
    if ([...joined, ...left].some((n) => n !== this.opts.nodeName)) setImmediate(() => this.running && this.sendAll());
  }
}

/** Heartbeat timestamps: monotonic within a life, and (barring wall-clock steps) above the
 * previous life's, so an echo of a previous life's timestamp is not taken for an RTT sample. */
function stamp(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}
