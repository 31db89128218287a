// One BGP peer session (RFC 4271 §8): the active side of the FSM plus this speaker's
// Adj-RIB-Out towards the peer.
//
// Connection handling is MetalLB's (dial only, never listen): there is no listener, so an
// incoming connection can never collide with ours and RFC 4271 §6.8 collision detection has
// nothing to decide. Active is the state "waiting for the ConnectRetry timer after a failed
// dial"; Idle after an error waits the (exponentially growing) IdleHold time before dialling
// again (RFC 4271 §8.1.1 DampPeerOscillations).
//
// Timers: OpenSent waits 240 s for the OPEN (RFC 4271 §8.2.2 "large value"); after the OPEN the
// hold time is the smaller of both offers, ENFORCED on every received message (expiry sends
// NOTIFICATION Hold Timer Expired and closes); KEEPALIVEs go out every min(keepalive-time,
// hold/3). A hold time of 0 disables both.
//
// Nothing thrown by decoding escapes: a BgpDecodeError becomes the NOTIFICATION it names
// (notificationFor), except UPDATE errors with a weaker RFC 7606 handling than session-reset,
// which are ignored like every UPDATE we receive (a speaker does not import routes).
import type * as net from 'node:net';
import { parseIP } from '../../ipam/address';
import {
  Afi,
  AsPathSegmentType,
  BgpDecodeError,
  BgpFramer,
  buildUpdates,
  type Capability,
  CeaseSubcode,
  type CodecContext,
  decode,
  type DecodeContext,
  encode,
  endOfRib,
  ErrorCode,
  FsmSubcode,
  formatPrefix,
  GracefulRestartFamilyFlag,
  type LargeCommunity,
  MessageType,
  notificationFor,
  notificationName,
  type NotificationMessage,
  openMessage,
  type OpenMessage,
  type PathAttribute,
  type Prefix,
  Safi,
  senderAS,
  type BgpMessage,
} from '../../protocol/bgp';
import { Backoff } from '../../util/backoff';
import type { Logger } from '../../util/log';
import { defaultDialer, type Dialer } from './transport';

export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** Why a session left Established (or never got there); the string shows in logs and metrics. */
export type DownReason =
  | 'connect-failed'
  | 'hold-timer-expired'
  | 'notification-received'
  | 'bad-open'
  | 'decode-error'
  | 'unexpected-message'
  | 'connection-closed'
  | 'socket-error'
  | 'admin-shutdown';

export type MessageKind = 'open' | 'update' | 'notification' | 'keepalive' | 'route-refresh';

/** One route this speaker advertises: a prefix and the attributes that vary per Service pool. */
export interface Route {
  readonly prefix: Prefix;
  /** Sent to internal peers only; internal peers get 100 when unset (RFC 4271 §5.1.5). */
  readonly localPref?: number;
  /** (high << 16) | low, RFC 1997. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

export interface SessionConfig {
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly myASN: number;
  readonly peerASN: number;
  readonly holdTimeSeconds: number;
  /** 0 or undefined = hold / 3. */
  readonly keepaliveTimeSeconds?: number;
  /** Dotted IPv4; required (the owner defaults it to the node's IPv4 address). */
  readonly routerID: string;
  readonly sourceAddress?: string;
  readonly password?: string;
  readonly ebgpMultihop: boolean;
  /** NEXT_HOP for IPv4 prefixes when the session runs over IPv6. */
  readonly ipv4NextHop?: string;
  /** MP_REACH next hop for IPv6 prefixes when the session runs over IPv4. */
  readonly ipv6NextHop?: string;
  /** Graceful restart capability (RFC 4724) with this restart time; 0 = not advertised. */
  readonly gracefulRestartSeconds: number;
}

export interface SessionObserver {
  state?(state: BgpState, prev: BgpState, reason?: DownReason, detail?: string): void;
  message?(direction: 'sent' | 'received', kind: MessageKind): void;
  notification?(direction: 'sent' | 'received', code: number, subcode: number): void;
  advertised?(prefixes: number): void;
}

export interface SessionOptions extends SessionConfig {
  readonly log: Logger;
  readonly dialer?: Dialer;
  readonly observer?: SessionObserver;
  readonly connectRetry?: { readonly initialMs: number; readonly maxMs: number };
  readonly connectTimeoutMs?: number;
  /** Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes). */
  readonly openHoldTimeSeconds?: number;
}

const KIND_BY_TYPE: Readonly<Record<number, MessageKind>> = {
  [MessageType.Open]: 'open',
  [MessageType.Update]: 'update',
  [MessageType.Notification]: 'notification',
  [MessageType.Keepalive]: 'keepalive',
  [MessageType.RouteRefresh]: 'route-refresh',
};

const HEADER_TYPE_OFFSET = 18;

function ipv4Number(text: string): number {
  const a = parseIP(text);
  if (a.family !== 4) throw new RangeError(`router ID ${text} is not an IPv4 address`);
  return Number(a.value);
}

function familyKey(afi: number, safi: number): string {
  return `${afi}/${safi}`;
}

/** Attributes shared by a group of routes; the key groups prefixes into UPDATEs. */
function attributeKey(r: Route, internal: boolean): string {
  const lp = internal ? (r.localPref ?? 100) : undefined;
  const comm = [...r.communities].sort((a, b) => a - b).join(',');
  const large = r.largeCommunities.map((c) => `${c.global}:${c.local1}:${c.local2}`).sort().join(',');
  return `${lp ?? ''}|${comm}|${large}`;
}

export class BgpSession {
  private stateValue: BgpState = 'Idle';
  private socket?: net.Socket;
  private framer = new BgpFramer();
  private ctx: DecodeContext;
  private readonly backoff: Backoff;
  private readonly dialer: Dialer;
  private retryTimer?: NodeJS.Timeout;
  private holdTimer?: NodeJS.Timeout;
  private keepaliveTimer?: NodeJS.Timeout;
  private dialAbort?: AbortController;
  private stopped = true;
  private negotiatedHold = 0;
  private families = new Set<string>();
  private peerOpen?: OpenMessage;
  private localAddress?: string;
  private desired = new Map<string, Route>();
  /** prefix text → attribute key, as the peer has it. */
  private sent = new Map<string, string>();
  private readonly internal: boolean;
  private readonly log: Logger;
  private lastDown?: { reason: DownReason; detail?: string };

  constructor(private readonly o: SessionOptions) {
    this.internal = o.myASN === o.peerASN;
    this.dialer = o.dialer ?? defaultDialer();
    this.backoff = new Backoff({ initialMs: o.connectRetry?.initialMs ?? 1000, maxMs: o.connectRetry?.maxMs ?? 120_000, jitter: 0.1 });
    this.ctx = { fourOctetAS: false, peerAS: o.peerASN, localAS: o.myASN, localIdentifier: ipv4Number(o.routerID) };
    this.log = o.log.child({ peer: `${o.peerAddress}:${o.peerPort}` });
  }

  get state(): BgpState {
    return this.stateValue;
  }

  /** The local end of the connection (the NEXT_HOP we announce). */
  get local(): string | undefined {
    return this.localAddress;
  }

  get negotiatedHoldTime(): number {
    return this.negotiatedHold;
  }

  get lastDownReason(): { reason: DownReason; detail?: string } | undefined {
    return this.lastDown;
  }

  /** Prefixes the peer currently has from us. */
  get advertisedCount(): number {
    return this.sent.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Cease (Administrative Shutdown, or `subcode`) if a connection is up, then stay Idle. */
  async stop(subcode: number = CeaseSubcode.AdministrativeShutdown): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.dialAbort?.abort();
    const s = this.socket;
    if (s && this.stateValue !== 'Connect') {
      const closed = new Promise<void>((res) => s.once('close', () => res()));
      this.down('admin-shutdown', 'stopped', { kind: 'notification', code: ErrorCode.Cease, subcode, data: Buffer.alloc(0) });
      await Promise.race([closed, new Promise((res) => setTimeout(res, 1000).unref())]);
    } else {
      this.down('admin-shutdown', 'stopped');
    }
  }

  /** The routes the peer should have; differences are sent at once when Established. */
  setRoutes(routes: ReadonlyMap<string, Route>): void {
    this.desired = new Map(routes);
    if (this.stateValue === 'Established') this.sync(false);
  }

  // ---------------------------------------------------------------------------------------------
  // transitions

  private setState(next: BgpState, reason?: DownReason, detail?: string): void {
    const prev = this.stateValue;
    if (prev === next) return;
    this.stateValue = next;
    this.o.observer?.state?.(next, prev, reason, detail);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('Connect');
    const abort = new AbortController();
    this.dialAbort = abort;
    const multihop = this.internal || this.o.ebgpMultihop;
    this.dialer({
      peerAddress: this.o.peerAddress,
      port: this.o.peerPort,
      sourceAddress: this.o.sourceAddress,
      ttl: multihop ? 255 : 1,
      md5Key: this.o.password,
      timeoutMs: this.o.connectTimeoutMs ?? 10_000,
      signal: abort.signal,
    }).then(
      (socket) => {
        if (this.stopped || abort.signal.aborted) {
          socket.destroy();
          return;
        }
        this.attach(socket);
      },
      (e: Error) => {
        if (this.stopped) return;
        const delay = this.backoff.next();
        this.lastDown = { reason: 'connect-failed', detail: e.message };
        this.log.debug('BGP connect failed', { error: e.message, retryMs: delay });
        // Active: waiting for the ConnectRetry timer (we never listen, so nothing else can come).
        this.setState('Active', 'connect-failed', e.message);
        this.retryTimer = setTimeout(() => this.connect(), delay);
      },
    );
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    this.framer = new BgpFramer();
    this.families = new Set();
    this.sent = new Map();
    this.peerOpen = undefined;
    this.ctx = { ...this.ctx, fourOctetAS: false };
    this.localAddress = socket.localAddress?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on('error', (e: Error) => this.guard(() => this.down('socket-error', e.message)));
    socket.on('close', () => this.guard(() => this.down('connection-closed', 'the peer closed the connection')));
    this.send(openMessage({ asn: this.o.myASN, holdTime: this.o.holdTimeSeconds, bgpIdentifier: ipv4Number(this.o.routerID), capabilities: this.capabilities() }));
    this.setState('OpenSent');
    this.armHold((this.o.openHoldTimeSeconds ?? 240) * 1000);
  }

  private capabilities(): Capability[] {
    const caps: Capability[] = [
      { kind: 'multiprotocol', afi: Afi.IPv4, safi: Safi.Unicast },
      { kind: 'multiprotocol', afi: Afi.IPv6, safi: Safi.Unicast },
      { kind: 'route-refresh' },
    ];
    if (this.o.gracefulRestartSeconds > 0) {
      caps.push({
        kind: 'graceful-restart',
        restartFlags: 0,
        restartTime: Math.min(this.o.gracefulRestartSeconds, 0xfff),
        // The data plane (kube-proxy) keeps forwarding while the speaker restarts.
        families: [
          { afi: Afi.IPv4, safi: Safi.Unicast, flags: GracefulRestartFamilyFlag.ForwardingPreserved },
          { afi: Afi.IPv6, safi: Safi.Unicast, flags: GracefulRestartFamilyFlag.ForwardingPreserved },
        ],
      });
    }
    return caps;
  }

  /** Leaves the connection: optional NOTIFICATION, close, Idle, and a reconnect unless stopped. */
  private down(reason: DownReason, detail: string, notify?: NotificationMessage): void {
    const s = this.socket;
    if (!s && this.stateValue !== 'Connect' && this.stateValue !== 'Active') {
      if (this.stopped) this.setState('Idle', reason, detail);
      return;
    }
    this.socket = undefined;
    this.clearTimers();
    if (s) {
      s.removeAllListeners('data');
      s.removeAllListeners('close');
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      if (notify && !s.destroyed) {
        this.send(notify, s);
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      } else {
        s.destroy();
      }
    }
    const wasEstablished = this.stateValue === 'Established';
    this.lastDown = { reason, detail };
    this.sent = new Map();
    this.o.observer?.advertised?.(0);
    if (wasEstablished || reason !== 'admin-shutdown') this.log.info(wasEstablished ? 'BGP session down' : 'BGP session failed', { reason, detail, state: this.stateValue });
    this.setState('Idle', reason, detail);
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private clearTimers(): void {
    clearTimeout(this.holdTimer);
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.retryTimer);
    this.holdTimer = undefined;
    this.keepaliveTimer = undefined;
  }

  private armHold(ms: number): void {
    clearTimeout(this.holdTimer);
    if (ms <= 0) return;
    this.holdTimer = setTimeout(
      () =>
        this.guard(() =>
          this.down('hold-timer-expired', `no message for ${ms / 1000} s`, { kind: 'notification', code: ErrorCode.HoldTimerExpired, subcode: 0, data: Buffer.alloc(0) }),
        ),
      ms,
    );
  }

  /** Nothing escapes an event handler: an unexpected exception resets the session. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error('BGP session internal error', { error: (e as Error).message, stack: (e as Error).stack });
      try {
        this.down('socket-error', `internal error: ${(e as Error).message}`, { kind: 'notification', code: ErrorCode.Cease, subcode: CeaseSubcode.Unspecific, data: Buffer.alloc(0) });
      } catch {
        /* nothing more to do */
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // receiving

  private onData(chunk: Buffer): void {
    const socket = this.socket;
    for (const frame of this.framer.push(chunk)) {
      if (this.socket !== socket) return; // the session went down while handling an earlier frame
      if (frame instanceof BgpDecodeError) {
        this.o.observer?.message?.('received', 'notification');
        this.fail('decode-error', frame);
        return;
      }
      const kind = KIND_BY_TYPE[frame[HEADER_TYPE_OFFSET]];
      if (kind) this.o.observer?.message?.('received', kind);
      const m = decode(frame, this.ctx);
      if (m instanceof BgpDecodeError) {
        if (kind === 'update' && m.handling !== 'session-reset') {
          this.log.debug('ignoring a malformed UPDATE', { error: m.message, handling: m.handling });
          this.restartHold();
          continue;
        }
        this.fail(kind === 'open' ? 'bad-open' : 'decode-error', m);
        return;
      }
      this.onMessage(m);
    }
  }

  private fail(reason: DownReason, e: BgpDecodeError): void {
    this.down(reason, e.message, notificationFor(e));
  }

  private fsmError(subcode: number, what: string): void {
    this.down('unexpected-message', `${what} in ${this.stateValue}`, { kind: 'notification', code: ErrorCode.FiniteStateMachine, subcode, data: Buffer.alloc(0) });
  }

  private restartHold(): void {
    if (this.stateValue === 'OpenSent') return; // the OPEN wait keeps its own large timer
    this.armHold(this.negotiatedHold * 1000);
  }

  private onMessage(m: BgpMessage): void {
    if (m.kind === 'notification') {
      this.o.observer?.notification?.('received', m.code, m.subcode);
      this.down('notification-received', `${notificationName(m.code, m.subcode)}${m.data.length ? ` data ${m.data.toString('hex')}` : ''}`);
      return;
    }
    switch (this.stateValue) {
      case 'OpenSent':
        return m.kind === 'open' ? this.onOpen(m) : this.fsmError(FsmSubcode.UnexpectedMessageInOpenSent, m.kind);
      case 'OpenConfirm':
        if (m.kind !== 'keepalive') return this.fsmError(FsmSubcode.UnexpectedMessageInOpenConfirm, m.kind);
        this.restartHold();
        return this.established();
      case 'Established':
        this.restartHold();
        if (m.kind === 'open') return this.fsmError(FsmSubcode.UnexpectedMessageInEstablished, m.kind);
        if (m.kind === 'route-refresh') return this.onRouteRefresh(m.afi, m.safi);
        return; // KEEPALIVE resets the hold timer; UPDATEs are read and discarded
      default:
        return;
    }
  }

  private onOpen(m: OpenMessage): void {
    // decode() already applied RFC 4271 §6.2 with our context: version, peer AS, hold 0 or >= 3, identifier.
    this.peerOpen = m;
    const peerFour = m.capabilities.some((c) => c.kind === 'four-octet-as');
    this.ctx = { ...this.ctx, fourOctetAS: peerFour };
    const theirs = m.capabilities.filter((c) => c.kind === 'multiprotocol');
    const ours = [familyKey(Afi.IPv4, Safi.Unicast), familyKey(Afi.IPv6, Safi.Unicast)];
    // No MP capability at all: IPv4 unicast only (RFC 4760 §8 / RFC 4271).
    const offered = theirs.length === 0 ? [familyKey(Afi.IPv4, Safi.Unicast)] : theirs.map((c) => familyKey(c.afi, c.safi));
    this.families = new Set(ours.filter((f) => offered.includes(f)));
    this.negotiatedHold = Math.min(this.o.holdTimeSeconds, m.holdTime);
    this.send({ kind: 'keepalive' });
    this.setState('OpenConfirm');
    this.armHold(this.negotiatedHold * 1000);
    if (this.negotiatedHold > 0) {
      const configured = this.o.keepaliveTimeSeconds && this.o.keepaliveTimeSeconds > 0 ? this.o.keepaliveTimeSeconds : this.negotiatedHold / 3;
      const every = Math.max(Math.min(configured, this.negotiatedHold / 3), 0.1) * 1000;
      this.keepaliveTimer = setInterval(() => this.guard(() => this.send({ kind: 'keepalive' })), every);
    }
    this.log.debug('BGP OPEN received', { peerAS: senderAS(m), hold: m.holdTime, negotiatedHold: this.negotiatedHold, families: [...this.families] });
  }

  private established(): void {
    this.setState('Established');
    this.backoff.reset();
    this.log.info('BGP session established', {
      local: this.localAddress,
      peerAS: this.peerOpen ? senderAS(this.peerOpen) : undefined,
      holdTime: this.negotiatedHold,
      families: [...this.families],
    });
    this.sync(true);
  }

  private onRouteRefresh(afi: number, safi: number): void {
    if (!this.families.has(familyKey(afi, safi))) return;
    const family = afi === Afi.IPv4 ? 4 : 6;
    for (const [key, r] of this.desired) if (r.prefix.family === family) this.sent.delete(key);
    this.sync(false);
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  private send(m: BgpMessage, socket = this.socket): void {
    if (!socket || socket.destroyed) return;
    socket.write(encode(m, this.ctx));
    this.o.observer?.message?.('sent', m.kind);
    if (m.kind === 'notification') {
      this.o.observer?.notification?.('sent', m.code, m.subcode);
      this.log.info('BGP NOTIFICATION sent', { notification: notificationName(m.code, m.subcode) });
    }
  }

  private sendRaw(wires: Buffer[], kind: MessageKind): void {
    const s = this.socket;
    if (!s || s.destroyed) return;
    for (const w of wires) {
      s.write(w);
      this.o.observer?.message?.('sent', kind);
    }
  }

  /** Sends the difference between what the peer has and what it should have; End-of-RIB after the first pass. */
  private sync(initial: boolean): void {
    const v4 = this.families.has(familyKey(Afi.IPv4, Safi.Unicast));
    const v6 = this.families.has(familyKey(Afi.IPv6, Safi.Unicast));
    const codec: CodecContext = { fourOctetAS: this.ctx.fourOctetAS };
    const withdraw: Prefix[] = [];
    for (const key of this.sent.keys()) {
      if (!this.desired.has(key)) {
        const p = this.parseKey(key);
        if (p) withdraw.push(p);
        this.sent.delete(key);
      }
    }
    const groups = new Map<string, Route[]>();
    for (const [key, r] of this.desired) {
      if ((r.prefix.family === 4 && !v4) || (r.prefix.family === 6 && !v6)) continue;
      const ak = attributeKey(r, this.internal);
      if (this.sent.get(key) === ak) continue;
      let g = groups.get(ak);
      if (!g) groups.set(ak, (g = []));
      g.push(r);
    }
    if (withdraw.length > 0) this.sendRaw(buildUpdates({ announce: [], withdraw, attrs: [], ctx: codec }), 'update');
    const nh4 = this.nextHop(4);
    const nh6 = this.nextHop(6);
    for (const [ak, routes] of groups) {
      const announce = routes.filter((r) => (r.prefix.family === 4 ? nh4 !== undefined : nh6 !== undefined)).map((r) => r.prefix);
      if (announce.length < routes.length) {
        this.log.warn('no next hop for some prefixes; not announced', { prefixes: routes.filter((r) => !announce.includes(r.prefix)).map((r) => formatPrefix(r.prefix)) });
      }
      if (announce.length === 0) continue;
      const attrs = this.attributes(routes[0], nh4);
      this.sendRaw(
        buildUpdates({ announce, withdraw: [], attrs, ipv6NextHop: nh6 === undefined ? undefined : { family: 6, global: nh6 }, ctx: codec }),
        'update',
      );
      for (const p of announce) this.sent.set(formatPrefix(p), ak);
    }
    if (initial) {
      if (v4) this.send(endOfRib(Afi.IPv4, Safi.Unicast));
      if (v6) this.send(endOfRib(Afi.IPv6, Safi.Unicast));
    }
    this.o.observer?.advertised?.(this.sent.size);
  }

  private parseKey(key: string): Prefix | undefined {
    const [addr, len] = key.split('/');
    try {
      const a = parseIP(addr);
      return { family: a.family, addr: a.value, length: Number(len) };
    } catch {
      return undefined;
    }
  }

  private nextHop(family: 4 | 6): bigint | undefined {
    const local = this.localAddress;
    if (local) {
      try {
        const a = parseIP(local);
        if (a.family === family && !(family === 6 && a.value >> 118n === 0x3fan)) return a.value;
      } catch {
        /* fall through */
      }
    }
    const configured = family === 4 ? this.o.ipv4NextHop : this.o.ipv6NextHop;
    if (!configured) return undefined;
    const a = parseIP(configured);
    return a.family === family ? a.value : undefined;
  }

  private attributes(r: Route, nh4: bigint | undefined): PathAttribute[] {
    const attrs: PathAttribute[] = [
      { kind: 'origin', value: 0 },
      { kind: 'as-path', segments: this.internal ? [] : [{ type: AsPathSegmentType.AsSequence, asns: [this.o.myASN] }] },
    ];
    if (nh4 !== undefined) attrs.push({ kind: 'next-hop', addr: nh4 });
    if (this.internal) attrs.push({ kind: 'local-pref', value: r.localPref ?? 100 });
    if (r.communities.length > 0) attrs.push({ kind: 'communities', values: [...new Set(r.communities)].sort((a, b) => a - b) });
    if (r.largeCommunities.length > 0) attrs.push({ kind: 'large-communities', values: [...r.largeCommunities] });
    return attrs;
  }
}

/** "198.51.100.7/32" for logs and map keys. */
export function routeKey(p: Prefix): string {
  return formatPrefix(p);
}
