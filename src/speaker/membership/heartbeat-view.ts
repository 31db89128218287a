// What this speaker has heard from its peers, and the liveness rule (pure; clocks passed in, on
// a monotonic scale: a wall-clock step must not make every peer look dead or alive for hours).
//
// Per peer: the newest incarnation, the highest sequence accepted in it, when we last heard it,
// and the timestamp to echo back for RTT. A packet from an older incarnation, or with a sequence
// not above the last accepted one, is a replay and is dropped. A `leaving` packet removes the
// peer at once (until it comes back with a newer incarnation). While datagrams that may be a
// peer's cannot be checked (rate-limited under a flood), the peer is neither heard nor silent:
// vouch() keeps its state as it was (issue 14.1).
//
// How long a silence is fatal is per peer (failure-detector.ts): its own heartbeat rhythm, between
// a floor and the fixed ceiling of `deadIntervals`. Stalls of our own loop are forgiven (observe()).
import { ArrivalWindow, StallClock, type DetectorOptions } from './failure-detector';
import { FLAG_ACK, FLAG_API_OK, FLAG_AUDIT_CONTESTED, FLAG_AUDIT_SILENT, FLAG_DATAPATH_DOWN, FLAG_LEAVING, FLAG_NO_LAYER2, FLAG_STARTING, type Heartbeat } from './heartbeat-codec';

export type PeerState = 'alive' | 'suspect' | 'dead' | 'left' | 'unknown';
export type AcceptResult = 'accepted' | 'replayed' | 'left';

interface Peer {
  incarnation: number;
  sequence: number;
  lastHeard: number;
  /** The peer's own timestamp from its last packet, with our receive time, for the echo. */
  theirTimestamp: number;
  receivedAt: number;
  left: boolean;
  /** The peer's last packet said it counts us alive. */
  acksUs: boolean;
  /** The peer's last packet said its Lease renewals go through (FLAG_API_OK). */
  apiOk: boolean;
  /** The peer's last packet said it is still starting (not announcing yet). */
  starting: boolean;
  /** The peer's last packet said it has no usable layer-2 interface. */
  noLayer2: boolean;
  /** The peer's last packet said its data path fails its health check. */
  dataPathDown: boolean;
  /** The peer's last packet said we failed its announcement audit (announcement-audit.ts). */
  auditSilent: boolean;
  auditContested: boolean;
  /** Its heartbeat rhythm in this incarnation (the adaptive deadline). */
  arrivals: ArrivalWindow;
}

export interface HeartbeatViewOptions {
  self: string;
  intervalMs: number;
  /** Missed intervals before a peer is suspect (logged, still alive). Default 3. */
  suspectIntervals?: number;
  /** Missed intervals before a peer is dead at the latest (the ceiling of the adaptive deadline). Default 5. */
  deadIntervals?: number;
  /** Adaptive detection (failure-detector.ts); false: dead after exactly `deadIntervals`. Default on. */
  adaptive?: boolean;
  /** Intervals of silence a peer always gets, however steady (the floor). Default 2. */
  minDeadIntervals?: number;
  /** How often the caller looks (observe()). Default intervalMs / 4; a gap of more than an interval is a stall of ours. */
  lookPeriodMs?: number;
}

export class HeartbeatView {
  private readonly peers = new Map<string, Peer>();
  readonly suspectAfterMs: number;
  /** The longest silence before a peer is dead (the ceiling; every peer, before its rhythm is known). */
  readonly deadAfterMs: number;
  readonly detector: DetectorOptions;
  private readonly stalls: StallClock;

  constructor(private readonly opts: HeartbeatViewOptions) {
    this.suspectAfterMs = opts.intervalMs * (opts.suspectIntervals ?? 3);
    this.deadAfterMs = opts.intervalMs * (opts.deadIntervals ?? 5);
    if (this.deadAfterMs < this.suspectAfterMs) throw new Error('the dead interval must not be shorter than the suspect interval');
    const floorMs = opts.adaptive === false ? this.deadAfterMs : Math.min(this.deadAfterMs, opts.intervalMs * (opts.minDeadIntervals ?? 2));
    // Margin one interval: a steady peer is dead after about two silent intervals, never after one
    // late packet. 100 gaps: a late heartbeat is remembered for ~10 s.
    this.detector = { floorMs, ceilingMs: this.deadAfterMs, marginMs: opts.intervalMs, minSamples: 8, window: 100 };
    const lookPeriodMs = opts.lookPeriodMs ?? opts.intervalMs / 4;
    // A look later than one heartbeat interval means we stalled (timers are late by a few ms under load, not by 100).
    this.stalls = new StallClock(lookPeriodMs, Math.max(opts.intervalMs, 2 * lookPeriodMs));
  }

  /**
   * We look at the view now (every evaluation). After a stall of our own (no look for longer than
   * a heartbeat interval) every peer's silence is forgiven by the stall's length: their
   * heartbeats may be waiting behind us, unread; a peer that did die is found that much later.
   * Silences only ever grow across a look, so nobody dead comes back by this.
   */
  observe(now: number): void {
    const forgive = this.stalls.look(now);
    if (forgive <= 0) return;
    // Capped at now: a peer is never heard in the future.
    for (const p of this.peers.values()) if (!p.left) p.lastHeard = Math.min(now, p.lastHeard + forgive);
  }

  /** How long `node` has been silent (undefined: never heard). */
  silence(node: string, now: number): number | undefined {
    const p = this.peers.get(node);
    return p ? now - p.lastHeard : undefined;
  }

  /** The silence (ms) after which `node` is dead now: its adaptive deadline, or the ceiling. */
  deadlineFor(node: string): number {
    return this.peers.get(node)?.arrivals.deadlineMs() ?? this.deadAfterMs;
  }

  accept(hb: Heartbeat, now: number): AcceptResult {
    if (hb.node === this.opts.self) return 'replayed'; // our own packet reflected back: never a peer
    const p = this.peers.get(hb.node);
    if (p) {
      if (hb.incarnation < p.incarnation) return 'replayed';
      if (hb.incarnation === p.incarnation && hb.sequence <= p.sequence) return 'replayed';
      if (hb.incarnation === p.incarnation && p.left) {
        // Leaving is final for an incarnation; the repeated leaving packet is expected, anything else is not.
        if ((hb.flags & FLAG_LEAVING) === 0) return 'replayed';
        p.sequence = hb.sequence;
        return 'left';
      }
    }
    const leaving = (hb.flags & FLAG_LEAVING) !== 0;
    // The rhythm carries over within an incarnation; a restarted peer starts from the ceiling again.
    const arrivals = p && p.incarnation === hb.incarnation ? p.arrivals : new ArrivalWindow(this.detector);
    arrivals.arrived(now, this.stalls.stalledUntil);
    this.peers.set(hb.node, {
      incarnation: hb.incarnation,
      sequence: hb.sequence,
      // Never earlier than a stall of ours forgave (observe()): a heartbeat read late is no news of silence.
      lastHeard: p && p.incarnation === hb.incarnation && !p.left ? Math.max(p.lastHeard, now) : now,
      theirTimestamp: hb.timestamp,
      receivedAt: now,
      left: leaving,
      acksUs: !leaving && (hb.flags & FLAG_ACK) !== 0,
      apiOk: !leaving && (hb.flags & FLAG_API_OK) !== 0,
      starting: (hb.flags & FLAG_STARTING) !== 0,
      noLayer2: (hb.flags & FLAG_NO_LAYER2) !== 0,
      dataPathDown: (hb.flags & FLAG_DATAPATH_DOWN) !== 0,
      auditSilent: !leaving && (hb.flags & FLAG_AUDIT_SILENT) !== 0,
      auditContested: !leaving && (hb.flags & FLAG_AUDIT_CONTESTED) !== 0,
      arrivals,
    });
    return leaving ? 'left' : 'accepted';
  }

  state(node: string, now: number): PeerState {
    const p = this.peers.get(node);
    if (!p) return 'unknown';
    if (p.left) return 'left';
    const silent = now - p.lastHeard;
    const dead = p.arrivals.deadlineMs();
    if (silent > dead) return 'dead';
    // Suspect at the same fraction of the peer's own deadline as the fixed rule (3 of 5 intervals).
    if (silent > (dead * this.suspectAfterMs) / this.deadAfterMs) return 'suspect';
    return 'alive';
  }

  /** The peer said it was leaving (SIGTERM): gone on purpose, not lost. */
  hasLeft(node: string): boolean {
    return this.peers.get(node)?.left === true;
  }

  /** Peers heard within the dead interval that have not left (suspect ones included). */
  heard(now: number): Set<string> {
    const out = new Set<string>();
    for (const node of this.peers.keys()) {
      const s = this.state(node, now);
      if (s === 'alive' || s === 'suspect') out.add(node);
    }
    return out;
  }

  /** Heard peers still starting: they count for the isolation rule, not for the election. */
  starting(now: number): Set<string> {
    return this.heardWhose(now, 'starting');
  }

  /** Heard peers that cannot announce on layer 2 right now (every usable NIC down). */
  withoutLayer2(now: number): Set<string> {
    return this.heardWhose(now, 'noLayer2');
  }

  /** Heard peers whose data path fails its health check (kube-proxy): passed over for pools with datapath-check. */
  withoutDataPath(now: number): Set<string> {
    return this.heardWhose(now, 'dataPathDown');
  }

  /** Whether the last packet from `node` said it has no usable layer-2 interface. */
  saysNoLayer2(node: string): boolean {
    return this.peers.get(node)?.noLayer2 === true;
  }

  /** The flags of `node`'s last packet that change elections (NO_LAYER2, DATAPATH_DOWN), as a number to compare. */
  electionFlags(node: string): number {
    const p = this.peers.get(node);
    return p ? (p.noLayer2 ? FLAG_NO_LAYER2 : 0) | (p.dataPathDown ? FLAG_DATAPATH_DOWN : 0) : 0;
  }

  /** Heard peers whose last packet said we failed their announcement audit. */
  auditAccusers(now: number): { silent: Set<string>; contested: Set<string> } {
    return { silent: this.heardWhose(now, 'auditSilent'), contested: this.heardWhose(now, 'auditContested') };
  }

  /** The audit flags of `node`'s last packet, as one comparable value. */
  auditFlags(node: string): number {
    const p = this.peers.get(node);
    return p ? (p.auditSilent ? 1 : 0) | (p.auditContested ? 2 : 0) : 0;
  }

  /** Heard peers whose last packet said they count us alive. */
  ackers(now: number): Set<string> {
    return this.heardWhose(now, 'acksUs');
  }

  /** Heard peers whose last packet said their Lease renewals go through (self-fence.ts). */
  apiOkPeers(now: number): Set<string> {
    return this.heardWhose(now, 'apiOk');
  }

  /** Heard peers whose last packet set this flag. */
  private heardWhose(now: number, flag: 'acksUs' | 'apiOk' | 'starting' | 'noLayer2' | 'dataPathDown' | 'auditSilent' | 'auditContested'): Set<string> {
    const out = new Set<string>();
    for (const node of this.heard(now)) if (this.peers.get(node)?.[flag]) out.add(node);
    return out;
  }

  /**
   * Datagrams that may have been `node`'s could not be checked (the per-peer rate limit of a
   * flood): if it was heard until now, it stays heard — absence of checked news is not news of
   * death. A peer already dead or gone stays so; only an authentic heartbeat brings it back. Its
   * Lease still fences it: a peer that really died meanwhile drops out when its Lease expires.
   */
  vouch(node: string, now: number): void {
    const p = this.peers.get(node);
    const s = this.state(node, now);
    if (p && (s === 'alive' || s === 'suspect')) p.lastHeard = Math.max(p.lastHeard, now);
  }

  /** The echo fields for a packet to `node`: its last timestamp and how long we held it, and its
   * newest incarnation and sequence we accepted (so that it can tell a stale incarnation). */
  echoFor(node: string, now: number): { echoTimestamp: number; echoDelayMs: number; echoIncarnation: number; echoSequence: number } {
    const p = this.peers.get(node);
    const seen = { echoIncarnation: p?.incarnation ?? 0, echoSequence: p?.sequence ?? 0 };
    if (!p || p.left || now - p.receivedAt > this.deadAfterMs) return { echoTimestamp: 0, echoDelayMs: 0, ...seen };
    return { echoTimestamp: p.theirTimestamp, echoDelayMs: now - p.receivedAt, ...seen };
  }

  /** Forgets peers silent for `olderThanMs` that are not in `keep` (those still holding a Lease keep
   * their replay state), so memory stays bounded as nodes come and go. */
  prune(keep: ReadonlySet<string>, now: number, olderThanMs: number): void {
    for (const [node, p] of this.peers) if (!keep.has(node) && now - p.lastHeard > olderThanMs) this.peers.delete(node);
  }
}

export interface LivenessInput {
  self: string;
  /** This speaker is running (not stopping). */
  running: boolean;
  /** Peers heard within the dead interval (HeartbeatView.heard). */
  heard: ReadonlySet<string>;
  /** Heard peers that say they count us alive (HeartbeatView.ackers). */
  ackers: ReadonlySet<string>;
  /** LeaseMembership's alive set (frozen while the API server is unreachable). */
  leaseAlive: ReadonlySet<string>;
  /** We can reach the API server; otherwise the Lease view is stale and only fences membership of the isolation rule. */
  apiReachable: boolean;
  /** Lease-alive peers too recently (re)appeared to be expected yet: not counted by the isolation rule. */
  joining?: ReadonlySet<string>;
  /** Heard peers that say they are still starting: heard (not isolated), but not counted alive. */
  starting?: ReadonlySet<string>;
  /** We are cut off from the API server and peers reaching it are about to drop us (self-fence.ts). */
  fenced?: boolean;
}

export interface Liveness {
  alive: Set<string>;
  /** Peers counted alive (without self): these get the ACK flag. */
  peers: Set<string>;
  /** The Lease view expects peers and we hear none of them: we withdraw. */
  isolated: boolean;
  /** Not isolated, but no live peer acknowledges us yet (e.g. rejoining before our Lease is fresh again). */
  unacknowledged: boolean;
}

/**
 * The liveness rule (docs/failover.md):
 *  - a peer is alive iff heard within the dead interval AND (its Lease is alive, unless the API
 *    server is unreachable for us, when the heartbeat view alone decides);
 *  - we are isolated when the (last known) Lease view expects peers and we hear none of them: then we
 *    do not count ourselves, so we announce nothing — at most one side of a partition announces;
 *  - we count ourselves only while running, not isolated, and either alone in the cluster or
 *    acknowledged by at least one live peer (a node that rejoins after a cut is counted by the
 *    others only once its Lease is fresh again; until then it must not announce either);
 *  - a peer that says it is still starting is heard (so we are not isolated) and its ACK counts,
 *    but it is not alive for the election until it says it is ready;
 *  - we do not count ourselves while fenced (cut off from the API server, self-fence.ts).
 */
export function computeLiveness(i: LivenessInput): Liveness {
  // Peers we hear and whose Lease fences them in; their word (ACK) counts even while they start.
  const voters = [...i.heard].filter((n) => n !== i.self && (!i.apiReachable || i.leaseAlive.has(n)));
  // Only peers past their start-up are elected: one still settling would be handed addresses it
  // does not announce yet.
  const peers = new Set(voters.filter((n) => !i.starting?.has(n)));
  const expected = [...i.leaseAlive].filter((n) => n !== i.self && !i.joining?.has(n));
  const isolated = expected.length > 0 && !expected.some((n) => i.heard.has(n));
  const acked = voters.some((n) => i.ackers.has(n));
  const alone = expected.length === 0 && voters.length === 0;
  const unacknowledged = !isolated && !alone && !acked;
  const alive = new Set(peers);
  if (i.running && !isolated && !i.fenced && (alone || acked)) alive.add(i.self);
  return { alive, peers, isolated, unacknowledged };
}
