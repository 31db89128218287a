// Sub-second speaker liveness: UDP heartbeats between speakers, fenced by the speaker Leases.
//
// Every `intervalMs` each speaker sends an authenticated heartbeat (heartbeat-codec.ts) to the
// node address published in every live speaker Lease (LeaseMembership.addresses()). A peer is
// alive iff heard within the dead interval AND its Lease is alive in LeaseMembership's view; while
// the API server is unreachable for us, the heartbeat view alone decides. A speaker that hears
// none of the peers the Leases say are alive is isolated and counts nobody, itself included, so it
// announces nothing (computeLiveness in heartbeat-view.ts; docs/failover.md).
//
// Two flags keep the layer-2 election off nodes that could not announce: STARTING until the
// speaker is past its start-up (markReady), and NO_LAYER2 while it has no usable interface
// (setLayer2Ready). Peers still hear such a node; they just do not hand it addresses.
//
// The HMAC key is the Secret `ironlb-memberlist` (key `secretkey`) in the speaker namespace,
// created with 32 random bytes by the first speaker (409: another one won, read theirs). It is
// re-read every `keyRefreshMs`, which also tells whether the API server is reachable.
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as k8s from '@kubernetes/client-node';
import { apiStatus, errorText } from '../../k8s/client';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import { decodeHeartbeat, encodeHeartbeat, FLAG_ACK, FLAG_LEAVING, FLAG_NO_LAYER2, FLAG_STARTING } from './heartbeat-codec';
import { computeLiveness, HeartbeatView, type Liveness } from './heartbeat-view';
import type { LeaseMembership } from './lease-membership';
import type { Membership } from './membership';

export const MEMBERLIST_SECRET = 'ironlb-memberlist';
export const MEMBERLIST_SECRET_KEY = 'secretkey';
export const DEFAULT_HEARTBEAT_PORT = 7946;

export interface HeartbeatMembershipOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  nodeName: string;
  /** The Lease layer: publishes node addresses and fences the heartbeat view. */
  lease: LeaseMembership;
  port?: number; // default 7946
  intervalMs?: number; // default 100
  suspectIntervals?: number; // default 3
  deadIntervals?: number; // default 5
  /** Secret re-read period, also the API reachability probe. Default 2000. */
  keyRefreshMs?: number;
  /** The API server counts as unreachable after this long without a successful read. Default 6000. */
  apiTimeoutMs?: number;
  metrics?: SpeakerMetrics;
  log: Logger;
}

export class HeartbeatMembership implements Membership {
  private readonly view: HeartbeatView;
  private readonly listeners: Array<() => void> = [];
  private readonly core: k8s.CoreV1Api;
  private readonly port: number;
  private readonly intervalMs: number;
  private sockets: dgram.Socket[] = [];
  private key?: Buffer;
  private previousKey?: Buffer;
  private keyLoaded = false;
  private lastApiOk = 0;
  private incarnation = 0;
  private sequence = 0;
  private running = false;
  /** Past start-up (markReady): heartbeats stop saying STARTING. */
  private ready = false;
  /** We have a usable layer-2 interface; since when (we count ourselves ready one interval after
   * telling the peers, so that we never announce an address a peer has not yet handed over). */
  private layer2Ready = true;
  private layer2ReadySince = 0;
  /** A NO_LAYER2 heartbeat left this host since we became unready: peers may have passed us over. */
  private noLayer2Told = false;
  /** NO_LAYER2 heartbeats handed to the socket whose outcome is not known yet. */
  private noLayer2Pending = 0;
  private layer2Timer?: NodeJS.Timeout;
  lastLossAt?: number;
  private liveness: Liveness = { alive: new Set(), peers: new Set(), isolated: false, unacknowledged: false };
  private timers: NodeJS.Timeout[] = [];
  private readonly dropped = { forged: 0, replayed: 0, malformed: 0 };
  private readonly lastDropLog = new Map<string, number>();
  /** The Lease view as of the last time the API server was reachable (the Lease layer's own view
   * may decay while it cannot list; the isolation rule must keep expecting those peers). */
  private leaseSnapshot: ReadonlySet<string> = new Set();
  /** When each Lease-alive peer (re)appeared in the Lease view. */
  private readonly leaseSince = new Map<string, number>();

  constructor(private readonly opts: HeartbeatMembershipOptions) {
    this.core = opts.kc.makeApiClient(k8s.CoreV1Api);
    this.port = opts.port ?? DEFAULT_HEARTBEAT_PORT;
    this.intervalMs = opts.intervalMs ?? 100;
    this.view = new HeartbeatView({ self: opts.nodeName, intervalMs: this.intervalMs, suspectIntervals: opts.suspectIntervals, deadIntervals: opts.deadIntervals });
    opts.lease.onChange(() => this.evaluate());
  }

  get synced(): boolean {
    return this.keyLoaded && this.opts.lease.synced;
  }

  alive(): ReadonlySet<string> {
    return this.liveness.alive;
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  /** Heartbeats dropped so far, by reason. */
  droppedCounts(): Readonly<Record<'forged' | 'replayed' | 'malformed', number>> {
    return { ...this.dropped };
  }

  /** A key read succeeded within 1.5 refresh periods (capped by apiTimeoutMs). Stricter than the Lease
   * layer's own health on purpose: we must freeze our Lease snapshot before that layer's view of the
   * peers starts to decay for want of updates. */
  get apiReachable(): boolean {
    const limit = Math.min(this.opts.apiTimeoutMs ?? 6000, (this.opts.keyRefreshMs ?? 2000) * 1.5);
    return Date.now() - this.lastApiOk <= limit;
  }

  async start(): Promise<void> {
    this.incarnation = Date.now();
    this.sequence = 0;
    await this.loadKey(true);
    await this.bind();
    this.running = true;
    await this.opts.lease.start();
    this.timers.push(setInterval(() => this.tick(), this.intervalMs));
    const refresh = setInterval(() => void this.loadKey(false), this.opts.keyRefreshMs ?? 2000);
    this.timers.push(refresh);
    this.tick();
  }

  setLayer2Ready(ready: boolean): void {
    if (ready === this.layer2Ready) return;
    this.layer2Ready = ready;
    if (this.layer2Timer) clearTimeout(this.layer2Timer);
    this.layer2Timer = undefined;
    // Back from unready: wait one interval for the peers to hear it and let go, but only if they
    // can have heard that we were unready (with the only link down, nothing went out).
    const wait = ready && (this.noLayer2Told || this.noLayer2Pending > 0);
    this.layer2ReadySince = wait ? Date.now() : 0;
    this.noLayer2Told = false;
    this.opts.log.info(ready ? 'layer-2 interface usable again: electable' : 'no usable layer-2 interface: asking the peers to elect others');
    this.notify();
    // Listeners re-elect in a setImmediate; queued after theirs, this send follows our own
    // withdrawal, so that no peer takes an address over while we still hold it.
    setImmediate(() => void this.sendAll(0));
    if (wait) {
      this.layer2Timer = setTimeout(() => {
        this.layer2Timer = undefined;
        this.notify();
      }, this.intervalMs);
    }
  }

  layer2Unready(): ReadonlySet<string> {
    const out = this.view.withoutLayer2(Date.now());
    if (!this.layer2Ready || Date.now() - this.layer2ReadySince < this.intervalMs) out.add(this.opts.nodeName);
    return out;
  }

  private notify(): void {
    for (const cb of this.listeners) cb();
  }

  markReady(): void {
    if (this.ready) return;
    this.ready = true;
    void this.sendAll(0); // tell the peers now, not at the next tick
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.layer2Timer) clearTimeout(this.layer2Timer);
    // Leaving: tell every peer (twice, against a lost datagram) so that it drops us at once.
    if (this.key) {
      for (let i = 0; i < 2; i++) await this.sendAll(FLAG_LEAVING);
    }
    for (const s of this.sockets) s.close();
    this.sockets = [];
    this.evaluate();
    await this.opts.lease.stop();
  }

  private async bind(): Promise<void> {
    const open = (type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket | undefined> =>
      new Promise((resolve, reject) => {
        const s = dgram.createSocket({ type, reuseAddr: false, ipv6Only: type === 'udp6' });
        s.once('error', (e) => (type === 'udp6' ? resolve(undefined) : reject(e)));
        s.bind(this.port, address, () => {
          s.removeAllListeners('error');
          s.on('error', (e) => this.opts.log.warn('heartbeat socket error', { error: e.message }));
          s.on('message', (msg, rinfo) => this.receive(msg, rinfo.address));
          resolve(s);
        });
      });
    const v4 = await open('udp4', '0.0.0.0');
    const v6 = await open('udp6', '::').catch(() => undefined);
    this.sockets = [v4, v6].filter((s): s is dgram.Socket => s !== undefined);
  }

  private async loadKey(initial: boolean): Promise<void> {
    const { namespace } = this.opts;
    const read = async (): Promise<Buffer | undefined> => {
      try {
        const s = await this.core.readNamespacedSecret({ name: MEMBERLIST_SECRET, namespace });
        const b64 = s.data?.[MEMBERLIST_SECRET_KEY];
        if (!b64) throw new Error(`secret ${namespace}/${MEMBERLIST_SECRET} has no key "${MEMBERLIST_SECRET_KEY}"`);
        return Buffer.from(b64, 'base64');
      } catch (e) {
        if (apiStatus(e) === 404) return undefined;
        throw e;
      }
    };
    for (let attempt = 0; ; attempt++) {
      try {
        let key = await read();
        if (!key) {
          const fresh = randomBytes(32);
          try {
            await this.core.createNamespacedSecret({
              namespace,
              body: { metadata: { name: MEMBERLIST_SECRET, namespace, labels: { 'app.kubernetes.io/name': 'ironlb' } }, type: 'Opaque', data: { [MEMBERLIST_SECRET_KEY]: fresh.toString('base64') } },
            });
            key = fresh;
            this.opts.log.info('created heartbeat key secret', { secret: `${namespace}/${MEMBERLIST_SECRET}` });
          } catch (e) {
            if (apiStatus(e) !== 409) throw e;
            key = await read(); // another speaker created it first: use theirs
            if (!key) throw new Error(`secret ${namespace}/${MEMBERLIST_SECRET} vanished after a create conflict`);
          }
        }
        this.lastApiOk = Date.now();
        if (this.key && !this.key.equals(key)) {
          this.previousKey = this.key; // rotation: keep accepting the old key for a while
          this.opts.log.info('heartbeat key changed');
        }
        this.key = key;
        this.keyLoaded = true;
        return;
      } catch (e) {
        if (!initial) {
          this.opts.log.debug('could not read the heartbeat key secret', { error: errorText(e) });
          return;
        }
        if (attempt % 10 === 0) this.opts.log.warn('waiting for the heartbeat key secret', { error: errorText(e) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private receive(msg: Buffer, from: string): void {
    if (!this.key) return;
    let r = decodeHeartbeat(msg, this.key);
    if (!r.ok && r.reason === 'forged' && this.previousKey) r = decodeHeartbeat(msg, this.previousKey);
    const now = Date.now();
    if (!r.ok) {
      this.drop(r.reason, from);
      return;
    }
    const hb = r.heartbeat;
    const noLayer2Before = this.view.saysNoLayer2(hb.node);
    const result = this.view.accept(hb, now);
    if (result === 'replayed') {
      this.drop('replayed', from);
      return;
    }
    if (hb.echoTimestamp > 0 && hb.echoTimestamp >= this.incarnation) {
      const rtt = now - hb.echoTimestamp - hb.echoDelayMs;
      if (rtt >= 0 && rtt < 10_000) this.opts.metrics?.heartbeatRtt.observe(rtt / 1000);
    }
    if (result === 'left') {
      if (this.liveness.alive.has(hb.node)) this.opts.log.info('speaker left', { node: hb.node });
      this.evaluate();
    } else if (!this.liveness.alive.has(hb.node) || (this.liveness.isolated || this.liveness.unacknowledged)) {
      this.evaluate(); // a (re)joining peer, or news that may end our isolation: no need to wait a tick
    } else if (this.view.saysNoLayer2(hb.node) !== noLayer2Before) {
      this.notify(); // the peer lost or regained its layer-2 interfaces: re-elect
    }
  }

  private drop(reason: 'forged' | 'replayed' | 'malformed', from: string): void {
    this.dropped[reason]++;
    this.opts.metrics?.heartbeatDropped.inc({ reason });
    const now = Date.now();
    if (now - (this.lastDropLog.get(reason) ?? 0) > 1000) {
      this.lastDropLog.set(reason, now); // at most one line per reason and second
      this.opts.log.warn('dropped heartbeat', { reason, from, dropped: { ...this.dropped } });
    }
  }

  private tick(): void {
    this.evaluate();
    void this.sendAll(0);
    this.view.prune(this.opts.lease.alive(), Date.now(), 60_000);
  }

  private async sendAll(extraFlags: number): Promise<void> {
    const key = this.key;
    if (!key) return;
    const now = Date.now();
    const sends: Array<Promise<void>> = [];
    for (const [node, address] of this.opts.lease.addresses()) {
      if (node === this.opts.nodeName) continue;
      const socket = this.sockets.find((s) => s.address().family === (address.includes(':') ? 'IPv6' : 'IPv4'));
      if (!socket) continue;
      const flags = extraFlags | (this.running && this.liveness.peers.has(node) ? FLAG_ACK : 0) | (this.ready ? 0 : FLAG_STARTING) | (this.layer2Ready ? 0 : FLAG_NO_LAYER2);
      const packet = encodeHeartbeat({ node: this.opts.nodeName, incarnation: this.incarnation, sequence: ++this.sequence, timestamp: now, flags, ...this.view.echoFor(node, now) }, key);
      const noLayer2 = (flags & FLAG_NO_LAYER2) !== 0;
      if (noLayer2) this.noLayer2Pending++;
      sends.push(
        new Promise((resolve) => {
          socket.send(packet, this.port, address, (err) => {
            // Errors (unreachable, link down) are just missed heartbeats.
            if (noLayer2) {
              this.noLayer2Pending--;
              if (!err && !this.layer2Ready) this.noLayer2Told = true;
            }
            resolve();
          });
        }),
      );
    }
    await Promise.all(sends);
  }

  private evaluate(): void {
    const now = Date.now();
    const apiReachable = this.apiReachable;
    if (apiReachable) this.leaseSnapshot = new Set(this.opts.lease.alive());
    for (const n of this.leaseSnapshot) if (!this.leaseSince.has(n)) this.leaseSince.set(n, now);
    for (const n of this.leaseSince.keys()) if (!this.leaseSnapshot.has(n)) this.leaseSince.delete(n);
    // A peer whose Lease just appeared (new or restarted speaker) is not yet expected to be heard.
    const joining = new Set([...this.leaseSince].filter(([, since]) => now - since < this.view.deadAfterMs).map(([n]) => n));
    const next = computeLiveness({
      self: this.opts.nodeName,
      running: this.running,
      heard: this.view.heard(now),
      ackers: this.view.ackers(now),
      starting: this.view.starting(now),
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
    this.opts.log.info('speaker membership changed', { alive: [...next.alive].sort(), joined, left, source: 'heartbeat', apiReachable: this.apiReachable });
    if (!next.isolated && left.some((n) => n !== this.opts.nodeName && !this.view.hasLeft(n))) this.lastLossAt = now;
    this.notify();
    // A peer we now count waits for our ACK before it announces: send it now, not at the next tick.
    if (joined.some((n) => n !== this.opts.nodeName)) setImmediate(() => this.running && void this.sendAll(0));
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
