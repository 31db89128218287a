// The pure FSM, one row per (state, event): next state, reason and the actions, written out by
// hand from RFC 4271 §8.2.2 (as narrowed by the active-only design), RFC 6608 and RFC 9687.
import { BgpDecodeError, ErrorCode, openMessage, type BgpMessage, UpdateSubcode } from '../../../src/protocol/bgp';
import { initialData, keepaliveMs, step, type BgpState, type FsmAction, type FsmConfig, type FsmData, type FsmEvent } from '../../../src/speaker/bgp/fsm';

const cfg: FsmConfig = {
  open: openMessage({ asn: 64512, holdTime: 90, bgpIdentifier: 0x0a000002, capabilities: [] }),
  holdTimeSeconds: 90,
  openHoldTimeSeconds: 240,
};

const negotiated = { holdSeconds: 30, families: new Set(['1/1', '2/1']), fourOctetAS: true };
const at = (state: BgpState, over: Partial<FsmData> = {}): FsmData => ({ ...initialData, state, stopped: false, negotiated, ...over });
const msg = (message: BgpMessage): FsmEvent => ({ kind: 'message', message });
const peerOpen = openMessage({ asn: 64512, holdTime: 9, bgpIdentifier: 0x0a000001, capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }] });
const treatAsWithdraw = new BgpDecodeError({ code: ErrorCode.UpdateMessage, subcode: UpdateSubcode.MissingWellKnownAttribute, handling: 'treat-as-withdraw' });
const reset = new BgpDecodeError({ code: ErrorCode.UpdateMessage, subcode: UpdateSubcode.InvalidNetworkField });

/** Short form of an action list: "arm hold 30000", "send keepalive", "disconnect 4/0". */
function brief(actions: readonly FsmAction[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'arm':
        return `arm ${a.timer} ${a.ms}`;
      case 'send':
        return `send ${a.message.kind}`;
      case 'disconnect':
        return a.notification ? `disconnect ${a.notification.code}/${a.notification.subcode}` : 'disconnect';
      case 'advertise':
        return `advertise${a.initial ? ' initial' : ''}`;
      case 'refresh':
        return `refresh ${a.family}`;
      default:
        return a.kind;
    }
  });
}

const DOWN = ['arm connect-retry 0', 'arm hold 0', 'arm keepalive 0', 'arm send-hold 0'];

const ROWS: Array<{ desc: string; from: FsmData; ev: FsmEvent; next: BgpState; reason?: string; actions: string[] }> = [
  { desc: 'start dials', from: initialData, ev: { kind: 'start' }, next: 'Connect', actions: ['dial'] },
  { desc: 'a second start does nothing', from: at('Connect'), ev: { kind: 'start' }, next: 'Connect', actions: [] },
  { desc: 'connected: OPEN, then the 240 s OPEN wait', from: at('Connect'), ev: { kind: 'dial-ok' }, next: 'OpenSent', actions: ['send open', 'arm hold 240000'] },
  { desc: 'connect failed: Active until the retry', from: at('Connect'), ev: { kind: 'dial-failed', error: 'refused' }, next: 'Active', reason: 'connect-failed', actions: ['schedule-retry'] },
  { desc: 'retry from Active dials again', from: at('Active'), ev: { kind: 'timer', timer: 'connect-retry' }, next: 'Connect', actions: ['dial'] },
  { desc: 'retry from Idle after an error dials again', from: at('Idle'), ev: { kind: 'timer', timer: 'connect-retry' }, next: 'Connect', actions: ['dial'] },
  {
    desc: 'OPEN in OpenSent: KEEPALIVE, negotiated hold min(90, 9), keepalive every 3 s',
    from: at('OpenSent'),
    ev: msg(peerOpen),
    next: 'OpenConfirm',
    actions: ['send keepalive', 'arm hold 9000', 'arm keepalive 3000'],
  },
  { desc: 'KEEPALIVE in OpenSent: FSM error 5/1 (RFC 6608)', from: at('OpenSent'), ev: msg({ kind: 'keepalive' }), next: 'Idle', reason: 'unexpected-message', actions: [...DOWN, 'disconnect 5/1', 'schedule-retry'] },
  { desc: 'KEEPALIVE in OpenConfirm: Established, first advertisement', from: at('OpenConfirm'), ev: msg({ kind: 'keepalive' }), next: 'Established', actions: ['arm hold 30000', 'reset-backoff', 'advertise initial'] },
  { desc: 'ROUTE-REFRESH in OpenConfirm: FSM error 5/2', from: at('OpenConfirm'), ev: msg({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 }), next: 'Idle', reason: 'unexpected-message', actions: [...DOWN, 'disconnect 5/2', 'schedule-retry'] },
  { desc: 'OPEN in Established: FSM error 5/3', from: at('Established'), ev: msg(peerOpen), next: 'Idle', reason: 'unexpected-message', actions: [...DOWN, 'disconnect 5/3', 'schedule-retry'] },
  { desc: 'KEEPALIVE in Established restarts the hold timer', from: at('Established'), ev: msg({ kind: 'keepalive' }), next: 'Established', actions: ['arm hold 30000'] },
  { desc: 'a skipped UPDATE restarts the hold timer', from: at('Established'), ev: { kind: 'update-skipped' }, next: 'Established', actions: ['arm hold 30000'] },
  { desc: 'ROUTE-REFRESH of a negotiated family re-advertises it', from: at('Established'), ev: msg({ kind: 'route-refresh', afi: 2, safi: 1, subtype: 0 }), next: 'Established', actions: ['arm hold 30000', 'refresh 6'] },
  { desc: 'ROUTE-REFRESH of another family is ignored', from: at('Established'), ev: msg({ kind: 'route-refresh', afi: 1, safi: 128, subtype: 0 }), next: 'Established', actions: ['arm hold 30000'] },
  { desc: 'ROUTE-REFRESH while output waits is held back', from: at('Established', { backlogged: true }), ev: msg({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 }), next: 'Established', actions: ['arm hold 30000'] },
  { desc: 'drained: the held-back refresh goes out', from: at('Established', { backlogged: true, refreshPending: new Set([4]) }), ev: { kind: 'drained' }, next: 'Established', actions: ['arm send-hold 0', 'refresh 4'] },
  { desc: 'output waits: send hold timer max(8 min, 2 × 30 s)', from: at('Established'), ev: { kind: 'backlogged' }, next: 'Established', actions: ['arm send-hold 480000'] },
  { desc: 'send hold expiry: NOTIFICATION 8/0', from: at('Established', { backlogged: true }), ev: { kind: 'timer', timer: 'send-hold' }, next: 'Idle', reason: 'send-hold-timer-expired', actions: [...DOWN, 'disconnect 8/0', 'schedule-retry'] },
  { desc: 'hold expiry: NOTIFICATION 4/0', from: at('Established'), ev: { kind: 'timer', timer: 'hold' }, next: 'Idle', reason: 'hold-timer-expired', actions: [...DOWN, 'disconnect 4/0', 'schedule-retry'] },
  { desc: 'keepalive timer: KEEPALIVE, again in hold/3', from: at('Established'), ev: { kind: 'timer', timer: 'keepalive' }, next: 'Established', actions: ['send keepalive', 'arm keepalive 10000'] },
  { desc: 'treat-as-withdraw UPDATE error: ignored', from: at('Established'), ev: { kind: 'decode-error', error: treatAsWithdraw, message: 'update' }, next: 'Established', actions: ['arm hold 30000'] },
  { desc: 'session-reset UPDATE error: its NOTIFICATION', from: at('Established'), ev: { kind: 'decode-error', error: reset, message: 'update' }, next: 'Idle', reason: 'decode-error', actions: [...DOWN, 'disconnect 3/10', 'schedule-retry'] },
  { desc: 'output over the limit: Cease / Out of Resources', from: at('Established'), ev: { kind: 'output-overflow', bytes: 5, limit: 4 }, next: 'Idle', reason: 'output-overflow', actions: [...DOWN, 'disconnect 6/8', 'schedule-retry'] },
  { desc: 'NOTIFICATION received: down without answering', from: at('OpenConfirm'), ev: msg({ kind: 'notification', code: 6, subcode: 2, data: Buffer.alloc(0) }), next: 'Idle', reason: 'notification-received', actions: [...DOWN, 'disconnect', 'schedule-retry'] },
  { desc: 'peer closed', from: at('Established'), ev: { kind: 'closed' }, next: 'Idle', reason: 'connection-closed', actions: [...DOWN, 'disconnect', 'schedule-retry'] },
  { desc: 'stop when Established: Cease with the subcode, no retry', from: at('Established'), ev: { kind: 'stop', subcode: 3 }, next: 'Idle', reason: 'admin-shutdown', actions: [...DOWN, 'disconnect 6/3'] },
  { desc: 'stop while dialling: abort, no retry', from: at('Connect'), ev: { kind: 'stop', subcode: 2 }, next: 'Idle', reason: 'admin-shutdown', actions: ['abort-dial', ...DOWN, 'disconnect'] },
  { desc: 'stop in Idle: the pending retry is cancelled', from: at('Idle'), ev: { kind: 'stop', subcode: 2 }, next: 'Idle', actions: ['arm connect-retry 0'] },
  { desc: 'stopped: a retry timer firing late does nothing', from: at('Idle', { stopped: true }), ev: { kind: 'timer', timer: 'connect-retry' }, next: 'Idle', actions: [] },
];

describe('BGP FSM step()', () => {
  it.each(ROWS)('$desc', ({ from, ev, next, reason, actions }) => {
    const t = step(cfg, from, ev);
    expect(t.data.state).toBe(next);
    expect(t.reason).toBe(reason);
    expect(brief(t.actions)).toEqual(actions);
  });

  it('negotiates the families both sides offer; none offered means IPv4 unicast only', () => {
    const t = step(cfg, at('OpenSent'), msg(peerOpen));
    expect([...t.data.negotiated.families]).toEqual(['1/1']);
    const bare = step(cfg, at('OpenSent'), msg(openMessage({ asn: 64512, holdTime: 0, bgpIdentifier: 1, capabilities: [] })));
    expect([...bare.data.negotiated.families]).toEqual(['1/1']);
    expect(brief(bare.actions)).toEqual(['send keepalive', 'arm hold 0', 'arm keepalive 0']);
  });

  it('KEEPALIVE period is min(keepalive-time, hold/3), at least 100 ms, 0 without a hold time', () => {
    expect(keepaliveMs(cfg, 9)).toBe(3000);
    expect(keepaliveMs({ ...cfg, keepaliveTimeSeconds: 1 }, 9)).toBe(1000);
    expect(keepaliveMs({ ...cfg, keepaliveTimeSeconds: 30 }, 9)).toBe(3000);
    expect(keepaliveMs(cfg, 0)).toBe(0);
  });
});
