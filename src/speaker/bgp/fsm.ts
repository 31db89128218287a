// The BGP finite state machine of one peer (RFC 4271 §8), active side only, as pure functions:
// one handler per state takes an event and returns the next state, why, and the actions for the
// shell (session.ts) to carry out, like GoBGP's fsmHandler. No sockets, no timers, no clock.
//
// Connection handling is MetalLB's (dial only, never listen): no incoming connection can collide
// with ours, so RFC 4271 §6.8 collision detection has nothing to decide. Active is "waiting for
// the ConnectRetry timer after a failed dial"; Idle after an error waits the (growing) IdleHold
// time before dialling again (RFC 4271 §8.1.1 DampPeerOscillations), both timed by the shell's
// backoff ('schedule-retry').
//
// Timers: OpenSent waits 240 s for the OPEN (RFC 4271 §8.2.2 "large value"); after the OPEN the
// hold time is the smaller of both offers, restarted by every message received (expiry: HOLD
// TIMER EXPIRED); KEEPALIVEs every min(keepalive-time, hold/3); a hold time of 0 disables both.
// While the peer takes none of our output, the send hold timer (RFC 9687) runs:
// max(8 minutes, 2 × hold time), then SEND HOLD TIMER EXPIRED.
import {
  Afi,
  type BgpDecodeError,
  type BgpMessage,
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  notificationFor,
  notificationName,
  type NotificationMessage,
  type OpenMessage,
  Safi,
} from '../../protocol/bgp';

export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** Why a session left Established (or never got there); the string shows in logs and metrics. */
export type DownReason =
  | 'connect-failed'
  | 'hold-timer-expired'
  | 'send-hold-timer-expired'
  | 'output-overflow'
  | 'notification-received'
  | 'bad-open'
  | 'decode-error'
  | 'unexpected-message'
  | 'connection-closed'
  | 'socket-error'
  | 'admin-shutdown';

export type MessageKind = 'open' | 'update' | 'notification' | 'keepalive' | 'route-refresh';

export type TimerName = 'connect-retry' | 'hold' | 'keepalive' | 'send-hold';

/** RFC 9687 §4: the send hold time is at least 8 minutes. */
export const SEND_HOLD_MIN_MS = 8 * 60_000;
/** RFC 9687 §5 error code. */
export const SEND_HOLD_TIMER_EXPIRED = 8;

export interface FsmConfig {
  /** Our OPEN (RFC 4271 §4.2), sent first on every connection. */
  readonly open: OpenMessage;
  readonly holdTimeSeconds: number;
  /** 0 or undefined = hold / 3. */
  readonly keepaliveTimeSeconds?: number;
  /** Hold time while waiting for the peer's OPEN. */
  readonly openHoldTimeSeconds: number;
}

/** What the OPEN exchange settled. */
export interface Negotiated {
  readonly holdSeconds: number;
  /** "afi/safi" of the families both sides offered (RFC 4760). */
  readonly families: ReadonlySet<string>;
  readonly fourOctetAS: boolean;
  readonly peerOpen?: OpenMessage;
}

export interface FsmData {
  readonly state: BgpState;
  /** ManualStop: no reconnect until the next start. */
  readonly stopped: boolean;
  readonly negotiated: Negotiated;
  /** Our output is waiting for the peer to read (the transport has unsent octets). */
  readonly backlogged: boolean;
  /** Families whose ROUTE-REFRESH waits for the backlog to drain (one re-advertisement for many requests). */
  readonly refreshPending: ReadonlySet<4 | 6>;
}

export type FsmEvent =
  | { readonly kind: 'start' }
  | { readonly kind: 'stop'; readonly subcode: number }
  | { readonly kind: 'dial-ok' }
  | { readonly kind: 'dial-failed'; readonly error: string }
  | { readonly kind: 'timer'; readonly timer: TimerName }
  | { readonly kind: 'message'; readonly message: BgpMessage }
  /** An UPDATE found sound enough to ignore (checkUpdate), never decoded. */
  | { readonly kind: 'update-skipped' }
  | { readonly kind: 'decode-error'; readonly error: BgpDecodeError; readonly message?: MessageKind }
  | { readonly kind: 'closed' }
  | { readonly kind: 'socket-error'; readonly error: string }
  | { readonly kind: 'internal-error'; readonly error: string }
  | { readonly kind: 'backlogged' }
  | { readonly kind: 'drained' }
  | { readonly kind: 'output-overflow'; readonly bytes: number; readonly limit: number };

export type FsmAction =
  | { readonly kind: 'dial' }
  | { readonly kind: 'abort-dial' }
  | { readonly kind: 'send'; readonly message: BgpMessage }
  /** Drop the connection, sending `notification` first when there is one. */
  | { readonly kind: 'disconnect'; readonly notification?: NotificationMessage }
  /** (Re)start a timer; ms <= 0 stops it. */
  | { readonly kind: 'arm'; readonly timer: TimerName; readonly ms: number }
  /** Arm connect-retry with the next backoff delay. */
  | { readonly kind: 'schedule-retry' }
  | { readonly kind: 'reset-backoff' }
  /** Bring the peer's Adj-RIB-Out in step; `initial` adds End-of-RIB. */
  | { readonly kind: 'advertise'; readonly initial: boolean }
  /** ROUTE-REFRESH: send every route of the family again. */
  | { readonly kind: 'refresh'; readonly family: 4 | 6 };

export interface Transition {
  readonly data: FsmData;
  readonly actions: readonly FsmAction[];
  readonly reason?: DownReason;
  readonly detail?: string;
}

const NO_FAMILIES: ReadonlySet<string> = new Set();
const NOT_NEGOTIATED: Negotiated = { holdSeconds: 0, families: NO_FAMILIES, fourOctetAS: false };
const ALL_TIMERS: readonly TimerName[] = ['connect-retry', 'hold', 'keepalive', 'send-hold'];

export const initialData: FsmData = { state: 'Idle', stopped: true, negotiated: NOT_NEGOTIATED, backlogged: false, refreshPending: new Set() };

export function familyKey(afi: number, safi: number): string {
  return `${afi}/${safi}`;
}

const OURS = [familyKey(Afi.IPv4, Safi.Unicast), familyKey(Afi.IPv6, Safi.Unicast)];

function stay(data: FsmData, actions: FsmAction[] = []): Transition {
  return { data, actions };
}

function notification(code: number, subcode: number): NotificationMessage {
  return { kind: 'notification', code, subcode, data: Buffer.alloc(0) };
}

/** Leaves the connection: optional NOTIFICATION, close, Idle, and a reconnect unless stopped. */
function down(d: FsmData, reason: DownReason, detail: string, notify?: NotificationMessage): Transition {
  const actions: FsmAction[] = ALL_TIMERS.map((timer) => ({ kind: 'arm', timer, ms: 0 }));
  actions.push({ kind: 'disconnect', notification: notify });
  if (!d.stopped) actions.push({ kind: 'schedule-retry' });
  return { data: { ...d, state: 'Idle', backlogged: false, refreshPending: new Set() }, actions, reason, detail };
}

function fsmError(d: FsmData, subcode: number, what: string): Transition {
  return down(d, 'unexpected-message', `${what} in ${d.state}`, notification(ErrorCode.FiniteStateMachine, subcode));
}

function sendHoldMs(n: Negotiated): number {
  return Math.max(SEND_HOLD_MIN_MS, 2 * n.holdSeconds * 1000);
}

/** The hold timer restarted by a message; OpenSent keeps its own large timer. */
function restartHold(d: FsmData): FsmAction[] {
  return d.state === 'OpenSent' ? [] : [{ kind: 'arm', timer: 'hold', ms: d.negotiated.holdSeconds * 1000 }];
}

/** KEEPALIVE period: min(configured or hold/3, hold/3), at least 100 ms; 0 = none. */
export function keepaliveMs(cfg: FsmConfig, holdSeconds: number): number {
  if (holdSeconds <= 0) return 0;
  const configured = cfg.keepaliveTimeSeconds && cfg.keepaliveTimeSeconds > 0 ? cfg.keepaliveTimeSeconds : holdSeconds / 3;
  return Math.max(Math.min(configured, holdSeconds / 3), 0.1) * 1000;
}

// ---------------------------------------------------------------------------------------------
// one handler per state

function idle(_cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  if ((ev.kind === 'start' && d.stopped) || (ev.kind === 'timer' && ev.timer === 'connect-retry' && !d.stopped)) {
    return { data: { ...d, state: 'Connect', stopped: false }, actions: [{ kind: 'dial' }] };
  }
  return stay(d);
}

function connect(cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  switch (ev.kind) {
    case 'dial-ok':
      // The shell sent nothing yet: OPEN goes first, then the long wait for the peer's.
      return {
        data: { ...d, state: 'OpenSent', negotiated: NOT_NEGOTIATED, backlogged: false, refreshPending: new Set() },
        actions: [{ kind: 'send', message: cfg.open }, { kind: 'arm', timer: 'hold', ms: cfg.openHoldTimeSeconds * 1000 }],
      };
    case 'dial-failed':
      // Active: waiting for the ConnectRetry timer (we never listen, so nothing else can come).
      return { data: { ...d, state: 'Active' }, actions: [{ kind: 'schedule-retry' }], reason: 'connect-failed', detail: ev.error };
    default:
      return stay(d);
  }
}

function active(_cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  if (ev.kind === 'timer' && ev.timer === 'connect-retry') return { data: { ...d, state: 'Connect' }, actions: [{ kind: 'dial' }] };
  return stay(d);
}

function openSent(cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  if (ev.kind !== 'message') return connected(cfg, d, ev);
  const m = ev.message;
  if (m.kind !== 'open') return fsmError(d, FsmSubcode.UnexpectedMessageInOpenSent, m.kind);
  // decode() already applied RFC 4271 §6.2 with our context: version, peer AS, hold 0 or >= 3, identifier.
  const theirs = m.capabilities.filter((c) => c.kind === 'multiprotocol');
  // No MP capability at all: IPv4 unicast only (RFC 4760 §8 / RFC 4271).
  const offered = theirs.length === 0 ? [familyKey(Afi.IPv4, Safi.Unicast)] : theirs.map((c) => familyKey(c.afi, c.safi));
  const negotiated: Negotiated = {
    holdSeconds: Math.min(cfg.holdTimeSeconds, m.holdTime),
    families: new Set(OURS.filter((f) => offered.includes(f))),
    fourOctetAS: m.capabilities.some((c) => c.kind === 'four-octet-as'),
    peerOpen: m,
  };
  return {
    data: { ...d, state: 'OpenConfirm', negotiated },
    actions: [
      { kind: 'send', message: { kind: 'keepalive' } },
      { kind: 'arm', timer: 'hold', ms: negotiated.holdSeconds * 1000 },
      { kind: 'arm', timer: 'keepalive', ms: keepaliveMs(cfg, negotiated.holdSeconds) },
    ],
  };
}

function openConfirm(cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  if (ev.kind !== 'message') return connected(cfg, d, ev);
  if (ev.message.kind !== 'keepalive') return fsmError(d, FsmSubcode.UnexpectedMessageInOpenConfirm, ev.message.kind);
  return { data: { ...d, state: 'Established' }, actions: [...restartHold(d), { kind: 'reset-backoff' }, { kind: 'advertise', initial: true }] };
}

function established(cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  if (ev.kind === 'update-skipped') return stay(d, restartHold(d));
  if (ev.kind === 'drained') {
    const refreshes: FsmAction[] = [...d.refreshPending].map((family) => ({ kind: 'refresh', family }));
    return stay({ ...d, backlogged: false, refreshPending: new Set() }, [{ kind: 'arm', timer: 'send-hold', ms: 0 }, ...refreshes]);
  }
  if (ev.kind !== 'message') return connected(cfg, d, ev);
  const m = ev.message;
  if (m.kind === 'open') return fsmError(d, FsmSubcode.UnexpectedMessageInEstablished, m.kind);
  if (m.kind !== 'route-refresh') return stay(d, restartHold(d)); // KEEPALIVE and UPDATE: the hold timer only
  const hold = restartHold(d);
  if (!d.negotiated.families.has(familyKey(m.afi, m.safi))) return stay(d, hold);
  const family = m.afi === Afi.IPv4 ? 4 : 6;
  // RFC 2918 asks for the routes, not for one copy per request: while earlier output still waits
  // for the peer to read it, requests are folded into one re-advertisement once it has.
  if (d.backlogged) return d.refreshPending.has(family) ? stay(d, hold) : stay({ ...d, refreshPending: new Set([...d.refreshPending, family]) }, hold);
  return stay(d, [...hold, { kind: 'refresh', family }]);
}

/** Events every state with a connection (OpenSent, OpenConfirm, Established) handles alike. */
function connected(cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  switch (ev.kind) {
    case 'timer':
      if (ev.timer === 'hold') {
        const seconds = d.state === 'OpenSent' ? cfg.openHoldTimeSeconds : d.negotiated.holdSeconds;
        return down(d, 'hold-timer-expired', `no message for ${seconds} s`, notification(ErrorCode.HoldTimerExpired, 0));
      }
      if (ev.timer === 'keepalive') return stay(d, [{ kind: 'send', message: { kind: 'keepalive' } }, { kind: 'arm', timer: 'keepalive', ms: keepaliveMs(cfg, d.negotiated.holdSeconds) }]);
      if (ev.timer === 'send-hold') return down(d, 'send-hold-timer-expired', `the peer read none of our messages for ${sendHoldMs(d.negotiated) / 1000} s`, notification(SEND_HOLD_TIMER_EXPIRED, 0));
      return stay(d);
    case 'decode-error':
      // RFC 7606: an UPDATE error weaker than session-reset only affects routes, and we import none.
      if (ev.message === 'update' && ev.error.handling !== 'session-reset') return stay(d, restartHold(d));
      return down(d, ev.message === 'open' ? 'bad-open' : 'decode-error', ev.error.message, notificationFor(ev.error));
    case 'message':
      // Only NOTIFICATION reaches here (each state handles the rest).
      return down(d, 'notification-received', describe(ev.message));
    case 'closed':
      return down(d, 'connection-closed', 'the peer closed the connection');
    case 'socket-error':
      return down(d, 'socket-error', ev.error);
    case 'internal-error':
      return down(d, 'socket-error', `internal error: ${ev.error}`, notification(ErrorCode.Cease, CeaseSubcode.Unspecific));
    case 'output-overflow':
      return down(d, 'output-overflow', `${ev.bytes} octets wait for the peer to read them (limit ${ev.limit})`, notification(ErrorCode.Cease, CeaseSubcode.OutOfResources));
    case 'backlogged':
      return d.backlogged ? stay(d) : stay({ ...d, backlogged: true }, [{ kind: 'arm', timer: 'send-hold', ms: sendHoldMs(d.negotiated) }]);
    case 'drained':
      return stay({ ...d, backlogged: false }, [{ kind: 'arm', timer: 'send-hold', ms: 0 }]);
    default:
      return stay(d);
  }
}

function describe(m: BgpMessage): string {
  if (m.kind !== 'notification') return m.kind;
  return `${notificationName(m.code, m.subcode)}${m.data.length ? ` data ${m.data.toString('hex')}` : ''}`;
}

const HANDLERS: Readonly<Record<BgpState, (cfg: FsmConfig, d: FsmData, ev: FsmEvent) => Transition>> = {
  Idle: idle,
  Connect: connect,
  Active: active,
  OpenSent: openSent,
  OpenConfirm: openConfirm,
  Established: established,
};

/** One step of the FSM. Events every state treats alike (stop, NOTIFICATION) are handled first. */
export function step(cfg: FsmConfig, d: FsmData, ev: FsmEvent): Transition {
  if (ev.kind === 'stop') return stop(d, ev.subcode);
  if (ev.kind === 'message' && ev.message.kind === 'notification') return connected(cfg, d, ev);
  return HANDLERS[d.state](cfg, d, ev);
}

/** ManualStop: Cease (Administrative Shutdown, or `subcode`) if a connection is up, then Idle for good. */
function stop(d: FsmData, subcode: number): Transition {
  if (d.stopped) return stay(d);
  const s: FsmData = { ...d, stopped: true };
  switch (d.state) {
    case 'Idle':
      return stay(s, [{ kind: 'arm', timer: 'connect-retry', ms: 0 }]);
    case 'Connect':
    case 'Active': {
      const t = down(s, 'admin-shutdown', 'stopped');
      return { ...t, actions: [{ kind: 'abort-dial' }, ...t.actions] };
    }
    default:
      return down(s, 'admin-shutdown', 'stopped', notification(ErrorCode.Cease, subcode));
  }
}
