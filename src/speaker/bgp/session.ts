// One BGP peer session: the shell around the pure FSM (fsm.ts) and Adj-RIB-Out (adj-rib-out.ts).
// It turns connection bytes and timer expiries into FSM events and carries out the actions the
// FSM returns, on a BgpConnection (transport.ts) and an injected Clock.
//
// Nothing thrown by decoding escapes: a BgpDecodeError becomes the NOTIFICATION it names. UPDATEs
// received while Established are never decoded (a speaker imports no route): checkUpdate finds
// what must still reset the session (RFC 4271 §6.3, RFC 7606) from lengths and type codes alone.
//
// Output backpressure: while the peer does not read, ROUTE-REFRESH requests fold into one
// re-advertisement sent when our output has drained (fsm.ts), the send hold timer runs (RFC
// 9687), and past `maxQueuedOctets` of unsent output the session is reset (Cease / Out of
// Resources), so a peer cannot make the speaker hold more than that.
import {
  Afi,
  BgpDecodeError,
  BgpFramer,
  type BgpMessage,
  CeaseSubcode,
  checkUpdate,
  type CodecContext,
  decode,
  type DecodeContext,
  encode,
  endOfRib,
  formatPrefix,
  MessageType,
  notificationName,
  Safi,
  senderAS,
} from '../../protocol/bgp';
import { Backoff } from '../../util/backoff';
import { systemClock, type Clock } from '../../util/clock';
import type { Logger } from '../../util/log';
import { AdjRibOut } from './adj-rib-out';
import { sessionPolicy, type Route } from './export-policy';
import { initialData, step, type BgpState, type DownReason, type FsmAction, type FsmConfig, type FsmData, type FsmEvent, type MessageKind, type Negotiated, type Transition } from './fsm';
import { DEFAULT_MAX_QUEUED_OCTETS, fsmConfig, type SessionOptions } from './session-options';
import { SessionTimers } from './session-timers';
import { tcpConnector, type BgpConnection, type Connector } from './transport';

export type { BgpState, DownReason, MessageKind } from './fsm';
export type { Route } from './export-policy';
export { DEFAULT_MAX_QUEUED_OCTETS, type SessionConfig, type SessionObserver, type SessionOptions } from './session-options';

const STOP_WAIT_MS = 1000;
/**
 * Messages handled before the connection yields to the event loop: a flood of small messages
 * (KEEPALIVE, ROUTE-REFRESH: 19–23 octets) costs far more per octet than UPDATEs do.
 */
export const MESSAGES_PER_TURN = 512;
const HEADER_TYPE_OFFSET = 18;

const KIND_BY_TYPE: Readonly<Record<number, MessageKind>> = {
  [MessageType.Open]: 'open',
  [MessageType.Update]: 'update',
  [MessageType.Notification]: 'notification',
  [MessageType.Keepalive]: 'keepalive',
  [MessageType.RouteRefresh]: 'route-refresh',
};

export class BgpSession {
  private data: FsmData = initialData;
  private readonly cfg: FsmConfig;
  private conn?: BgpConnection;
  private localAddress?: string;
  private framer = new BgpFramer();
  private readonly rib = new AdjRibOut();
  private desired: readonly Route[] = [];
  private readonly timers: SessionTimers;
  private readonly backoff: Backoff;
  private readonly connector: Connector;
  private readonly clock: Clock;
  private readonly log: Logger;
  private dialAbort?: AbortController;
  private lastDown?: { reason: DownReason; detail?: string };
  private readonly pending: FsmEvent[] = [];
  private decodeCtx?: { for: Negotiated; ctx: DecodeContext };
  private stepping = false;

  constructor(private readonly o: SessionOptions) {
    this.clock = o.clock ?? systemClock;
    this.connector = o.connector ?? tcpConnector(o.dialer);
    this.backoff = new Backoff({ initialMs: o.connectRetry?.initialMs ?? 1000, maxMs: o.connectRetry?.maxMs ?? 120_000, jitter: 0.1 });
    this.timers = new SessionTimers(this.clock, (timer) => this.dispatch({ kind: 'timer', timer }));
    this.log = o.log.child({ peer: `${o.peerAddress}:${o.peerPort}` });
    this.cfg = fsmConfig(o);
  }

  get state(): BgpState {
    return this.data.state;
  }

  /** The local end of the connection (the NEXT_HOP we announce). */
  get local(): string | undefined {
    return this.localAddress;
  }

  get negotiatedHoldTime(): number {
    return this.data.negotiated.holdSeconds;
  }

  get lastDownReason(): { reason: DownReason; detail?: string } | undefined {
    return this.lastDown;
  }

  /** Prefixes the peer currently has from us. */
  get advertisedCount(): number {
    return this.rib.size;
  }

  start(): void {
    this.dispatch({ kind: 'start' });
  }

  /** Cease (Administrative Shutdown, or `subcode`) if a connection is up, then stay Idle. */
  async stop(subcode: number = CeaseSubcode.AdministrativeShutdown): Promise<void> {
    if (this.data.stopped) return;
    const conn = this.conn;
    this.dispatch({ kind: 'stop', subcode });
    if (!conn) return;
    await new Promise<void>((resolve) => {
      const t = this.clock.setTimeout(resolve, STOP_WAIT_MS);
      void conn.closed.then(() => {
        this.clock.clearTimeout(t);
        resolve();
      });
    });
  }

  /** The routes the peer should have; differences are sent at once when Established. */
  setRoutes(routes: ReadonlyMap<string, Route> | readonly Route[]): void {
    this.desired = Array.isArray(routes) ? [...routes] : [...(routes as ReadonlyMap<string, Route>).values()];
    if (this.data.state !== 'Established') return;
    this.advertise(false);
    const ev = this.outputEvent();
    if (ev) this.dispatch(ev);
  }

  // ---------------------------------------------------------------------------------------------
  // events in, actions out

  /** Steps the FSM; events raised while stepping queue behind the current one. */
  private dispatch(ev: FsmEvent): void {
    this.pending.push(ev);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        try {
          this.apply(step(this.cfg, this.data, next));
        } catch (e) {
          // Nothing escapes an event handler: an unexpected exception resets the session.
          this.log.error('BGP session internal error', { error: (e as Error).message, stack: (e as Error).stack });
          if (next.kind !== 'internal-error') this.pending.push({ kind: 'internal-error', error: (e as Error).message });
        }
      }
    } finally {
      this.stepping = false;
    }
  }

  private apply(t: Transition): void {
    const prev = this.data.state;
    this.data = t.data;
    for (const a of t.actions) this.perform(a, t);
    if (t.reason) this.lastDown = { reason: t.reason, detail: t.detail };
    const ev = this.outputEvent();
    if (ev) this.pending.push(ev);
    if (t.data.state !== prev) this.changed(prev, t);
  }

  /** What our output says after writing: too much waits for the peer, or some waits at all. */
  private outputEvent(): FsmEvent | undefined {
    const conn = this.conn;
    if (!conn) return undefined;
    const limit = this.o.maxQueuedOctets ?? DEFAULT_MAX_QUEUED_OCTETS;
    if (conn.queuedOctets > limit) return { kind: 'output-overflow', bytes: conn.queuedOctets, limit };
    return conn.writesPending && !this.data.backlogged ? { kind: 'backlogged' } : undefined;
  }

  private perform(a: FsmAction, t: Transition): void {
    switch (a.kind) {
      case 'dial':
        return this.dial();
      case 'abort-dial':
        return this.dialAbort?.abort();
      case 'send':
        return this.send(a.message);
      case 'disconnect': {
        const conn = this.conn;
        this.conn = undefined;
        conn?.close(a.notification ? this.encodeCounted(a.notification) : undefined);
        this.rib.clear();
        this.o.observer?.advertised?.(0);
        return;
      }
      case 'arm':
        return this.timers.arm(a.timer, a.ms);
      case 'schedule-retry': {
        const delay = this.backoff.next();
        if (t.reason === 'connect-failed') this.log.debug('BGP connect failed', { error: t.detail, retryMs: delay });
        return this.timers.arm('connect-retry', delay);
      }
      case 'reset-backoff':
        return this.backoff.reset();
      case 'advertise':
        return this.advertise(a.initial);
      case 'refresh':
        this.rib.forgetFamily(a.family);
        return this.advertise(false);
    }
  }

  private changed(prev: BgpState, t: Transition): void {
    const { state, negotiated } = t.data;
    if (state === 'OpenConfirm' && negotiated.peerOpen) {
      this.log.debug('BGP OPEN received', { peerAS: senderAS(negotiated.peerOpen), hold: negotiated.peerOpen.holdTime, negotiatedHold: negotiated.holdSeconds, families: [...negotiated.families] });
    } else if (state === 'Established') {
      this.log.info('BGP session established', { local: this.localAddress, peerAS: negotiated.peerOpen ? senderAS(negotiated.peerOpen) : undefined, holdTime: negotiated.holdSeconds, families: [...negotiated.families] });
    } else if (state === 'Idle' && t.reason && (prev === 'Established' || t.reason !== 'admin-shutdown')) {
      this.log.info(prev === 'Established' ? 'BGP session down' : 'BGP session failed', { reason: t.reason, detail: t.detail, state: prev });
    }
    this.o.observer?.state?.(state, prev, t.reason, t.detail);
  }

  private dial(): void {
    const abort = new AbortController();
    this.dialAbort = abort;
    const multihop = this.o.myASN === this.o.peerASN || this.o.ebgpMultihop;
    this.connector({
      peerAddress: this.o.peerAddress,
      port: this.o.peerPort,
      sourceAddress: this.o.sourceAddress,
      ttl: multihop ? 255 : 1,
      md5Key: this.o.password,
      timeoutMs: this.o.connectTimeoutMs ?? 10_000,
      signal: abort.signal,
    }).then(
      (conn) => {
        if (this.data.stopped || abort.signal.aborted || this.data.state !== 'Connect') return conn.close();
        this.attach(conn);
        this.dispatch({ kind: 'dial-ok' });
      },
      (e: Error) => {
        if (!this.data.stopped && !abort.signal.aborted) this.dispatch({ kind: 'dial-failed', error: e.message });
      },
    );
  }

  private attach(conn: BgpConnection): void {
    this.conn = conn;
    this.framer = new BgpFramer();
    this.rib.clear();
    this.localAddress = conn.localAddress;
    conn.listen({
      data: (chunk) => this.receive(conn, chunk),
      drained: () => this.dispatch({ kind: 'drained' }),
      closed: () => this.dispatch({ kind: 'closed' }),
      error: (e) => this.dispatch({ kind: 'socket-error', error: e.message }),
    });
  }

  // ---------------------------------------------------------------------------------------------
  // receiving

  /** Handles the messages in `chunk`, at most MESSAGES_PER_TURN; false = some wait for the next call. */
  private receive(conn: BgpConnection, chunk: Buffer): boolean {
    let budget = MESSAGES_PER_TURN;
    return this.framer.forEach(chunk, (frame) => {
      if (this.conn !== conn) return false; // the session went down while handling an earlier frame
      this.handleFrame(frame);
      return --budget > 0;
    });
  }

  private handleFrame(frame: Buffer | BgpDecodeError): void {
    if (frame instanceof BgpDecodeError) {
      this.o.observer?.message?.('received', 'notification');
      return this.dispatch({ kind: 'decode-error', error: frame });
    }
    const kind = KIND_BY_TYPE[frame[HEADER_TYPE_OFFSET]];
    if (kind) this.o.observer?.message?.('received', kind);
    if (kind === 'update' && this.data.state === 'Established') {
      const reset = checkUpdate(frame);
      return this.dispatch(reset ? { kind: 'decode-error', error: reset, message: kind } : { kind: 'update-skipped' });
    }
    // The frame is a view into the stream's buffer: an OPEN may keep slices of it (other messages copy).
    const m = decode(kind === 'open' ? Buffer.from(frame) : frame, this.decodeContext());
    if (m instanceof BgpDecodeError) return this.dispatch({ kind: 'decode-error', error: m, message: kind });
    if (m.kind === 'notification') this.o.observer?.notification?.('received', m.code, m.subcode);
    this.dispatch({ kind: 'message', message: m });
  }

  private codec(): CodecContext {
    return { fourOctetAS: this.data.negotiated.fourOctetAS };
  }

  /** Built once per negotiation, not per message: received messages are many. */
  private decodeContext(): DecodeContext {
    const n = this.data.negotiated;
    if (this.decodeCtx?.for !== n) {
      this.decodeCtx = { for: n, ctx: { fourOctetAS: n.fourOctetAS, peerAS: this.o.peerASN, localAS: this.o.myASN, localIdentifier: this.cfg.open.bgpIdentifier } };
    }
    return this.decodeCtx.ctx;
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  /** Encodes a message, counting it (and logging a NOTIFICATION). */
  private encodeCounted(m: BgpMessage): Buffer {
    const wire = encode(m, this.codec());
    this.o.observer?.message?.('sent', m.kind);
    if (m.kind === 'notification') {
      this.o.observer?.notification?.('sent', m.code, m.subcode);
      this.log.info('BGP NOTIFICATION sent', { notification: notificationName(m.code, m.subcode) });
    }
    return wire;
  }

  private send(m: BgpMessage): void {
    if (this.conn) this.conn.write(this.encodeCounted(m));
  }

  /** Sends the difference between what the peer has and what it should have; End-of-RIB after the first pass. */
  private advertise(initial: boolean): void {
    const conn = this.conn;
    if (!conn) return;
    const policy = sessionPolicy(this.o, this.data.negotiated, this.localAddress);
    const { updates, unannounceable } = this.rib.sync(this.desired, policy);
    if (unannounceable.length > 0) this.log.warn('no next hop for some prefixes; not announced', { prefixes: unannounceable.map(formatPrefix) });
    for (const u of updates) {
      conn.write(u);
      this.o.observer?.message?.('sent', 'update');
    }
    if (initial) {
      if (policy.ipv4) this.send(endOfRib(Afi.IPv4, Safi.Unicast));
      if (policy.ipv6) this.send(endOfRib(Afi.IPv6, Safi.Unicast));
    }
    this.o.observer?.advertised?.(this.rib.size);
  }
}
