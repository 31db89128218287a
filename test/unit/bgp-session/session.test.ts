// BgpSession on a fake connection and a hand-driven clock: every timer (hold, keepalive, connect
// retry, send hold) is driven by advancing the clock; nothing sleeps and no socket is opened.
import { BgpSession, DEFAULT_MAX_QUEUED_OCTETS, MESSAGES_PER_TURN, type BgpState, type DownReason, type Route, type SessionOptions } from '../../../src/speaker/bgp/session';
import { encode, ErrorCode, formatPrefix, MessageHeaderSubcode, OpenSubcode, parsePrefix, type OpenMessage, type UpdateMessage } from '../../../src/protocol/bgp';
import { createLogger } from '../../../src/util/log';
import { FakeClock } from '../../support/fake-clock';
import { FakeConnector, settle, type FakeConnection } from './fake-connection';

const silent = createLogger({ write: () => undefined });

interface Harness {
  clock: FakeClock;
  connector: FakeConnector;
  session: BgpSession;
  states: Array<{ state: BgpState; reason?: DownReason }>;
}

function setup(over: Partial<SessionOptions> = {}): Harness {
  const clock = new FakeClock();
  const connector = new FakeConnector(() => clock.now());
  const states: Harness['states'] = [];
  const session = new BgpSession({
    peerAddress: '192.0.2.1',
    peerPort: 179,
    myASN: 64512,
    peerASN: 64512,
    holdTimeSeconds: 3,
    routerID: '10.0.0.2',
    ebgpMultihop: false,
    ipv6NextHop: '2001:db8::2',
    gracefulRestartSeconds: 90,
    connectRetry: { initialMs: 200, maxMs: 2000 },
    log: silent,
    clock,
    connector: connector.connect,
    observer: { state: (state, _prev, reason) => states.push({ state, reason }) },
    ...over,
  });
  session.start();
  return { clock, connector, session, states };
}

async function establish(x: Harness, asn = 64512, holdTime = 3): Promise<FakeConnection> {
  const c = await x.connector.succeed();
  c.open({ asn, holdTime });
  expect(x.session.state).toBe('Established');
  return c;
}

const route = (cidr: string, extra: Partial<Route> = {}): Route => ({ prefix: parsePrefix(cidr), communities: [], largeCommunities: [], ...extra });

function announced(updates: readonly UpdateMessage[]): string[] {
  return updates.flatMap((u) => [...u.nlri, ...u.attributes.flatMap((a) => (a.kind === 'mp-reach-nlri' ? a.nlri : []))]).map(formatPrefix);
}

describe('BgpSession', () => {
  it('opens with 4-octet AS, MP IPv4/IPv6, route refresh and graceful restart, then reaches Established with End-of-RIB', async () => {
    const x = setup({ myASN: 4200000001, peerASN: 65001 });
    expect(x.connector.dials[0].options).toMatchObject({ peerAddress: '192.0.2.1', port: 179, ttl: 1 });
    const c = await x.connector.succeed();
    const o = c.sent[0] as OpenMessage;
    expect(o).toMatchObject({ kind: 'open', myAS: 23456, holdTime: 3, bgpIdentifier: 0x0a000002 });
    expect(o.capabilities.map((cap) => cap.kind)).toEqual(expect.arrayContaining(['four-octet-as', 'multiprotocol', 'route-refresh', 'graceful-restart']));
    expect(o.capabilities.filter((cap) => cap.kind === 'multiprotocol')).toHaveLength(2);
    expect(o.capabilities.find((cap) => cap.kind === 'graceful-restart')).toMatchObject({ restartTime: 90, families: [{ afi: 1, safi: 1, flags: 0x80 }, { afi: 2, safi: 1, flags: 0x80 }] });
    expect(o.capabilities.find((cap) => cap.kind === 'four-octet-as')).toMatchObject({ asn: 4200000001 });
    c.open({ asn: 65001, holdTime: 3 });
    expect(x.states.map((s) => s.state)).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
    expect(c.sent.map((m) => m.kind)).toEqual(['open', 'keepalive', 'update', 'update']);
    const [eor4, eor6] = c.ofKind('update');
    expect(eor4).toEqual({ kind: 'update', withdrawn: [], attributes: [], nlri: [] });
    expect(eor6.attributes).toEqual([{ kind: 'mp-unreach-nlri', afi: 2, safi: 1, withdrawn: [] }]);
  });

  it('sends KEEPALIVEs every negotiated hold/3', async () => {
    const x = setup({ holdTimeSeconds: 9 });
    const c = await x.connector.succeed();
    c.open({ asn: 64512, holdTime: 3 }); // negotiated: min(9, 3) = 3 → every 1 s
    const start = c.sent.length;
    for (let i = 0; i < 4; i++) {
      x.clock.advance(999);
      expect(c.ofKind('keepalive', start)).toHaveLength(i);
      x.clock.advance(1);
      expect(c.ofKind('keepalive', start)).toHaveLength(i + 1);
      c.receive({ kind: 'keepalive' }); // the peer keeps the session up
    }
    expect(x.session.state).toBe('Established');
  });

  it('enforces the hold timer: silence for the hold time → Hold Timer Expired; every message restarts it', async () => {
    const x = setup();
    const c = await establish(x);
    x.clock.advance(2900);
    c.receive({ kind: 'keepalive' });
    x.clock.advance(2900);
    expect(x.session.state).toBe('Established');
    x.clock.advance(100);
    expect(c.closedWith?.last).toMatchObject({ kind: 'notification', code: ErrorCode.HoldTimerExpired, subcode: 0 });
    expect(x.session.lastDownReason?.reason).toBe('hold-timer-expired');
    expect(x.states.at(-1)).toEqual({ state: 'Idle', reason: 'hold-timer-expired' });
  });

  it('waits 240 s for the OPEN', async () => {
    const x = setup();
    const c = await x.connector.succeed();
    x.clock.advance(239_999);
    expect(x.session.state).toBe('OpenSent');
    x.clock.advance(1);
    expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.HoldTimerExpired });
  });

  it('rejects an OPEN from the wrong AS with Bad Peer AS', async () => {
    const x = setup({ peerASN: 65001, myASN: 64512 });
    const c = await x.connector.succeed();
    c.open({ asn: 65002, holdTime: 3 });
    expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.OpenMessage, subcode: OpenSubcode.BadPeerAS });
    expect(x.session.lastDownReason?.reason).toBe('bad-open');
  });

  it('rejects a hold time of 2 s with Unacceptable Hold Time', async () => {
    const x = setup();
    const c = await x.connector.succeed();
    c.open({ asn: 64512, holdTime: 2 });
    expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.OpenMessage, subcode: OpenSubcode.UnacceptableHoldTime });
  });

  it('answers garbage with a NOTIFICATION and reconnects', async () => {
    const x = setup();
    for (let i = 0; i < 3; i++) {
      const c = await x.connector.succeed();
      c.receive(Buffer.alloc(40, 0x41));
      expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.MessageHeader, subcode: MessageHeaderSubcode.ConnectionNotSynchronized });
      expect(x.session.lastDownReason?.reason).toBe('decode-error');
      x.clock.advance(2000); // past the longest retry delay of this setup
    }
    expect(x.connector.dials).toHaveLength(4);
  });

  it('retries failed connects from Active with exponential backoff (200, 400, 800 ms ± 5 %)', async () => {
    const x = setup();
    const gaps: number[] = [];
    for (let i = 0; i < 3; i++) {
      await x.connector.fail();
      expect(x.session.state).toBe('Active');
      const dials = x.connector.dials.length;
      while (x.connector.dials.length === dials) x.clock.advance(1);
      gaps.push(x.connector.dials[dials].at - x.connector.dials[dials - 1].at);
    }
    [200, 400, 800].forEach((ms, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(ms * 0.95);
      expect(gaps[i]).toBeLessThanOrEqual(ms * 1.05 + 1);
    });
    expect(x.states.filter((s) => s.state === 'Active').map((s) => s.reason)).toEqual(['connect-failed', 'connect-failed', 'connect-failed']);
  });

  it('advertises routes batched by attributes, withdraws at once, re-sends on ROUTE-REFRESH', async () => {
    const x = setup({ myASN: 64600, peerASN: 65001 });
    const common = { communities: [0xfde80001], largeCommunities: [{ global: 64600, local1: 1, local2: 2 }] };
    x.session.setRoutes([route('198.51.100.7/32', common), route('198.51.100.8/32', common), route('198.51.100.9/32'), route('2001:db8:1::7/128')]);
    const c = await establish(x, 65001);
    const ups = c.ofKind('update');
    expect(announced(ups).sort()).toEqual(['198.51.100.7/32', '198.51.100.8/32', '198.51.100.9/32', '2001:db8:1::7/128']);
    const withComm = ups.find((u) => u.nlri.length === 2);
    expect(withComm?.attributes.map((a) => a.kind)).toEqual(['origin', 'as-path', 'next-hop', 'communities', 'large-communities']);
    expect(withComm?.attributes.find((a) => a.kind === 'next-hop')).toEqual({ kind: 'next-hop', addr: 0x7f000001n });
    expect(withComm?.attributes.find((a) => a.kind === 'as-path')).toEqual({ kind: 'as-path', segments: [{ type: 2, asns: [64600] }] });
    const v6 = ups.find((u) => u.attributes.some((a) => a.kind === 'mp-reach-nlri'));
    expect(v6?.attributes.find((a) => a.kind === 'mp-reach-nlri')).toMatchObject({ nextHop: { family: 6, global: 0x20010db8000000000000000000000002n } });
    expect(x.session.advertisedCount).toBe(4);

    const before = c.sent.length;
    x.session.setRoutes(new Map([['198.51.100.9/32', route('198.51.100.9/32')]]));
    const [w4, w6] = c.ofKind('update', before);
    expect(w4.withdrawn.map(formatPrefix).sort()).toEqual(['198.51.100.7/32', '198.51.100.8/32']);
    expect(w6.attributes[0]).toMatchObject({ kind: 'mp-unreach-nlri', withdrawn: [parsePrefix('2001:db8:1::7/128')] });

    const mark = c.sent.length;
    c.receive({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    expect(c.ofKind('update', mark).map((u) => u.nlri.map(formatPrefix))).toEqual([['198.51.100.9/32']]);
  });

  it('sends LOCAL_PREF to internal peers only (default 100)', async () => {
    const x = setup();
    x.session.setRoutes([route('198.51.100.7/32', { localPref: 250 }), route('198.51.100.8/32')]);
    const c = await establish(x);
    const lp = c.ofKind('update').filter((u) => u.nlri.length > 0).map((u) => [u.nlri.map(formatPrefix)[0], u.attributes.find((a) => a.kind === 'local-pref')]);
    expect(lp).toEqual(expect.arrayContaining([['198.51.100.7/32', { kind: 'local-pref', value: 250 }], ['198.51.100.8/32', { kind: 'local-pref', value: 100 }]]));
  });

  it('answers an UPDATE in OpenConfirm with an FSM error', async () => {
    const x = setup();
    const c = await x.connector.succeed();
    c.open({ asn: 64512, holdTime: 3, keepalive: false });
    expect(x.session.state).toBe('OpenConfirm');
    c.receive({ kind: 'update', withdrawn: [], attributes: [], nlri: [] });
    expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.FiniteStateMachine, subcode: 2 });
  });

  it('ignores UPDATEs, treat-as-withdraw errors included, but resets on a session-reset error', async () => {
    const x = setup();
    const c = await establish(x);
    // NLRI without NEXT_HOP: Missing Well-known Attribute, treat-as-withdraw (RFC 7606).
    c.receive({ kind: 'update', withdrawn: [], attributes: [{ kind: 'origin', value: 0 }, { kind: 'as-path', segments: [] }], nlri: [parsePrefix('10.1.0.0/16')] });
    x.clock.advance(2000);
    c.receive({ kind: 'update', withdrawn: [parsePrefix('10.2.0.0/16')], attributes: [], nlri: [] }); // restarts the hold timer too
    x.clock.advance(2000);
    expect(x.session.state).toBe('Established');
    expect(c.closedWith).toBeUndefined();
    // An NLRI prefix longer than 32 bits: Invalid Network Field, session reset (RFC 7606 §5.3).
    const bad = Buffer.from('ffffffffffffffffffffffffffffffff' + '0019' + '02' + '0000' + '0000' + '21' + '0a010000', 'hex');
    bad.writeUInt16BE(bad.length, 16);
    c.receive(bad);
    expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.UpdateMessage, subcode: 10 });
    expect(x.session.lastDownReason?.reason).toBe('decode-error');
  });

  it('sends Cease on stop and stays Idle', async () => {
    const x = setup();
    const c = await establish(x);
    await x.session.stop();
    expect(c.closedWith?.last).toMatchObject({ kind: 'notification', code: ErrorCode.Cease, subcode: 2 });
    expect(x.session.state).toBe('Idle');
    x.clock.advance(600_000);
    await settle();
    expect(x.connector.dials).toHaveLength(1);
    expect(x.clock.pending).toBe(0);
  });

  it(`handles at most ${MESSAGES_PER_TURN} messages per turn of the event loop, keeping the rest for the next`, async () => {
    const x = setup();
    const c = await establish(x);
    const n = 10 * MESSAGES_PER_TURN + 1;
    const keepalive = encode({ kind: 'keepalive' }, { fourOctetAS: true });
    c.turns = 0;
    c.receive(Buffer.concat(Array(n).fill(keepalive)));
    expect(c.turns).toBe(11);
    expect(x.session.state).toBe('Established');
  });

  it('folds a ROUTE-REFRESH flood from a peer that does not read into one re-advertisement after it reads', async () => {
    const x = setup();
    x.session.setRoutes([route('198.51.100.7/32'), route('198.51.100.8/32', { localPref: 200 })]);
    const c = await establish(x);
    c.stalled = true;
    const mark = c.sent.length;
    for (let i = 0; i < 1000; i++) c.receive({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    // The first request is answered at once; the rest wait for that answer to be read.
    expect(announced(c.ofKind('update', mark)).sort()).toEqual(['198.51.100.7/32', '198.51.100.8/32']);
    const queued = c.queuedOctets;
    c.flush();
    expect(announced(c.ofKind('update', mark)).sort()).toEqual(['198.51.100.7/32', '198.51.100.7/32', '198.51.100.8/32', '198.51.100.8/32']);
    expect(queued).toBeLessThan(1000);
    expect(x.session.state).toBe('Established');
  });

  it('resets the session (Cease / Out of Resources) when unread output passes the limit, and reconnects', async () => {
    const x = setup({ maxQueuedOctets: 4096 });
    const c = await establish(x);
    c.stalled = true;
    for (let i = 0; x.session.state === 'Established' && i < 500; i++) x.session.setRoutes([route(`198.51.100.${i % 250}/32`, { localPref: i })]);
    expect(x.session.lastDownReason?.reason).toBe('output-overflow');
    expect(c.closedWith?.last).toMatchObject({ code: ErrorCode.Cease, subcode: 8 });
    x.clock.advance(250);
    expect(x.connector.pendingDials).toBe(1);
    expect(DEFAULT_MAX_QUEUED_OCTETS).toBe(4 * 1024 * 1024);
  });

  it('runs the send hold timer (RFC 9687) while output waits: 8 minutes, then Send Hold Timer Expired', async () => {
    const x = setup({ holdTimeSeconds: 0 });
    x.session.setRoutes([route('198.51.100.7/32')]);
    const c = await x.connector.succeed();
    c.open({ asn: 64512, holdTime: 0 }); // no hold timer and no KEEPALIVE: only the send hold timer can end this
    c.stalled = true;
    c.receive({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    x.clock.advance(4 * 60_000);
    c.flush(); // the peer read: the timer stops
    c.stalled = true;
    c.receive({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    x.clock.advance(8 * 60_000 - 1);
    expect(x.session.state).toBe('Established');
    x.clock.advance(1);
    expect(c.closedWith?.last).toMatchObject({ kind: 'notification', code: 8, subcode: 0 });
    expect(x.session.lastDownReason?.reason).toBe('send-hold-timer-expired');
  });
});
