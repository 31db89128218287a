import { BgpSession, type BgpState, type DownReason, type Route } from '../../../src/speaker/bgp/session';
import { ErrorCode, formatPrefix, MessageHeaderSubcode, OpenSubcode, parsePrefix, type OpenMessage, type UpdateMessage } from '../../../src/protocol/bgp';
import { createLogger } from '../../../src/util/log';
import { FakePeer, type PeerConnection } from './fake-peer';

const silent = createLogger({ write: () => undefined });

interface Harness {
  peer: FakePeer;
  session: BgpSession;
  states: Array<{ state: BgpState; reason?: DownReason }>;
}

let h: Harness | undefined;

async function setup(over: Partial<ConstructorParameters<typeof BgpSession>[0]> = {}): Promise<Harness> {
  const peer = await FakePeer.start();
  const states: Harness['states'] = [];
  const session = new BgpSession({
    peerAddress: '127.0.0.1',
    peerPort: peer.port,
    myASN: 64512,
    peerASN: 64512,
    holdTimeSeconds: 3,
    routerID: '10.0.0.2',
    ebgpMultihop: false,
    ipv6NextHop: '2001:db8::2',
    gracefulRestartSeconds: 90,
    connectRetry: { initialMs: 200, maxMs: 2000 },
    log: silent,
    observer: { state: (state, _prev, reason) => states.push({ state, reason }) },
    ...over,
  });
  h = { peer, session, states };
  session.start();
  return h;
}

afterEach(async () => {
  if (!h) return;
  await h.session.stop();
  await h.peer.close();
  h = undefined;
});

async function waitState(x: Harness, state: BgpState, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (x.session.state !== state) {
    if (Date.now() > deadline) throw new Error(`state ${x.session.state}, wanted ${state}; history ${JSON.stringify(x.states)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function establish(x: Harness, asn = 64512, holdTime = 3): Promise<PeerConnection> {
  const c = await x.peer.connection(0);
  await c.waitFor('open');
  c.open({ asn, holdTime });
  await waitState(x, 'Established');
  return c;
}

const route = (cidr: string, extra: Partial<Route> = {}): [string, Route] => [cidr, { prefix: parsePrefix(cidr), communities: [], largeCommunities: [], ...extra }];

function announced(updates: UpdateMessage[]): string[] {
  return updates.flatMap((u) => [...u.nlri, ...u.attributes.flatMap((a) => (a.kind === 'mp-reach-nlri' ? a.nlri : []))]).map(formatPrefix);
}

describe('BgpSession', () => {
  it('opens with 4-octet AS, MP IPv4/IPv6, route refresh and graceful restart, then reaches Established', async () => {
    const x = await setup({ myASN: 4200000001, peerASN: 65001 });
    const c = await x.peer.connection(0);
    const [{ m: open }] = await c.waitFor('open');
    const o = open as OpenMessage;
    expect(o.myAS).toBe(23456);
    expect(o.holdTime).toBe(3);
    expect(o.bgpIdentifier).toBe(0x0a000002);
    const kinds = o.capabilities.map((cap) => cap.kind);
    expect(kinds).toEqual(expect.arrayContaining(['four-octet-as', 'multiprotocol', 'route-refresh', 'graceful-restart']));
    expect(o.capabilities.filter((cap) => cap.kind === 'multiprotocol')).toHaveLength(2);
    const gr = o.capabilities.find((cap) => cap.kind === 'graceful-restart');
    expect(gr).toMatchObject({ restartTime: 90, families: [{ afi: 1, safi: 1, flags: 0x80 }, { afi: 2, safi: 1, flags: 0x80 }] });
    expect(o.capabilities.find((cap) => cap.kind === 'four-octet-as')).toMatchObject({ asn: 4200000001 });
    c.open({ asn: 65001, holdTime: 3 });
    await waitState(x, 'Established');
    expect(x.states.map((s) => s.state)).toEqual(['Connect', 'OpenSent', 'OpenConfirm', 'Established']);
    // End-of-RIB for both families after the (empty) initial advertisement.
    const updates = await c.waitFor('update', { count: 2 });
    expect(updates.map((u) => u.m.nlri.length + u.m.withdrawn.length)).toEqual([0, 0]);
    expect(updates[1].m.attributes).toEqual([{ kind: 'mp-unreach-nlri', afi: 2, safi: 1, withdrawn: [] }]);
  });

  it('sends KEEPALIVEs every negotiated hold/3', async () => {
    const x = await setup({ holdTimeSeconds: 9 });
    const c = await x.peer.connection(0);
    await c.waitFor('open');
    c.open({ asn: 64512, holdTime: 3 }); // negotiated: min(9, 3) = 3 → every 1 s
    await waitState(x, 'Established');
    const start = c.received.length;
    // keep the session alive from our side
    const t = setInterval(() => c.send({ kind: 'keepalive' }), 500);
    try {
      const ks = await c.waitFor('keepalive', { from: start, count: 4, timeoutMs: 6000 });
      const gaps = ks.slice(1).map((k, i) => k.at - ks[i].at);
      for (const g of gaps) {
        expect(g).toBeGreaterThan(800);
        expect(g).toBeLessThan(1300);
      }
      expect(x.session.state).toBe('Established');
    } finally {
      clearInterval(t);
    }
  });

  it('enforces the hold timer: silence → NOTIFICATION Hold Timer Expired and close', async () => {
    const x = await setup();
    const c = await establish(x);
    const t0 = Date.now();
    const [n] = await c.waitFor('notification', { timeoutMs: 6000 });
    expect(n.m).toMatchObject({ code: ErrorCode.HoldTimerExpired, subcode: 0 });
    expect(n.at - t0).toBeGreaterThan(2500);
    await c.closed;
    expect(x.states.some((s) => s.reason === 'hold-timer-expired')).toBe(true);
  });

  it('rejects an OPEN from the wrong AS with Bad Peer AS', async () => {
    const x = await setup({ peerASN: 65001, myASN: 64512 });
    const c = await x.peer.connection(0);
    await c.waitFor('open');
    c.open({ asn: 65002, holdTime: 3 });
    const [n] = await c.waitFor('notification');
    expect(n.m).toMatchObject({ code: ErrorCode.OpenMessage, subcode: OpenSubcode.BadPeerAS });
    await c.closed;
    expect(x.session.lastDownReason?.reason).toBe('bad-open');
  });

  it('rejects a hold time of 2 s with Unacceptable Hold Time', async () => {
    const x = await setup();
    const c = await x.peer.connection(0);
    await c.waitFor('open');
    c.open({ asn: 64512, holdTime: 2 });
    const [n] = await c.waitFor('notification');
    expect(n.m).toMatchObject({ code: ErrorCode.OpenMessage, subcode: OpenSubcode.UnacceptableHoldTime });
  });

  it('answers garbage with a NOTIFICATION and reconnects with exponential backoff', async () => {
    const x = await setup();
    for (let i = 0; i < 3; i++) {
      const c = await x.peer.connection(i, 5000);
      await c.waitFor('open');
      c.raw(Buffer.alloc(40, 0x41));
      const [n] = await c.waitFor('notification');
      expect(n.m).toMatchObject({ code: ErrorCode.MessageHeader, subcode: MessageHeaderSubcode.ConnectionNotSynchronized });
      await c.closed;
    }
    await x.peer.connection(3, 5000);
    const gaps = x.peer.acceptedAt.slice(1).map((t, i) => t - x.peer.acceptedAt[i]);
    // 200 ms, 400 ms, 800 ms (±10 % jitter)
    expect(gaps[0]).toBeGreaterThanOrEqual(170);
    expect(gaps[1]).toBeGreaterThan(gaps[0] * 1.4);
    expect(gaps[2]).toBeGreaterThan(gaps[1] * 1.4);
  });

  it('advertises routes batched by attributes, withdraws at once, re-sends on ROUTE-REFRESH', async () => {
    const x = await setup({ myASN: 64600, peerASN: 65001 });
    x.session.setRoutes(
      new Map([
        route('198.51.100.7/32', { communities: [0xfde80001], largeCommunities: [{ global: 64600, local1: 1, local2: 2 }] }),
        route('198.51.100.8/32', { communities: [0xfde80001], largeCommunities: [{ global: 64600, local1: 1, local2: 2 }] }),
        route('198.51.100.9/32'),
        route('2001:db8:1::7/128'),
      ]),
    );
    const c = await establish(x, 65001);
    const ups = (await c.waitFor('update', { count: 4 })).map((u) => u.m);
    expect(announced(ups).sort()).toEqual(['198.51.100.7/32', '198.51.100.8/32', '198.51.100.9/32', '2001:db8:1::7/128']);
    const withComm = ups.find((u) => u.nlri.length === 2);
    expect(withComm?.attributes.map((a) => a.kind)).toEqual(['origin', 'as-path', 'next-hop', 'communities', 'large-communities']);
    expect(withComm?.attributes.find((a) => a.kind === 'next-hop')).toEqual({ kind: 'next-hop', addr: 0x7f000001n });
    expect(withComm?.attributes.find((a) => a.kind === 'as-path')).toEqual({ kind: 'as-path', segments: [{ type: 2, asns: [64600] }] });
    const v6 = ups.find((u) => u.attributes.some((a) => a.kind === 'mp-reach-nlri'));
    expect(v6?.attributes.find((a) => a.kind === 'mp-reach-nlri')).toMatchObject({ nextHop: { family: 6, global: 0x20010db8000000000000000000000002n } });
    expect(x.session.advertisedCount).toBe(4);

    const before = c.received.length;
    x.session.setRoutes(new Map([route('198.51.100.9/32')]));
    const [w4, w6] = (await c.waitFor('update', { from: before, count: 2 })).map((u) => u.m);
    expect(w4.withdrawn.map(formatPrefix).sort()).toEqual(['198.51.100.7/32', '198.51.100.8/32']);
    expect(w6.attributes[0]).toMatchObject({ kind: 'mp-unreach-nlri', withdrawn: [parsePrefix('2001:db8:1::7/128')] });

    const mark = c.received.length;
    c.send({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    const [again] = await c.waitFor('update', { from: mark });
    expect(again.m.nlri.map(formatPrefix)).toEqual(['198.51.100.9/32']);
  });

  it('sends LOCAL_PREF to internal peers only (default 100)', async () => {
    const x = await setup();
    x.session.setRoutes(new Map([route('198.51.100.7/32', { localPref: 250 }), route('198.51.100.8/32')]));
    const c = await establish(x);
    const ups = (await c.waitFor('update', { count: 2 })).map((u) => u.m).filter((u) => u.nlri.length > 0);
    const lp = ups.map((u) => [u.nlri.map(formatPrefix)[0], u.attributes.find((a) => a.kind === 'local-pref')]);
    expect(lp).toEqual(expect.arrayContaining([['198.51.100.7/32', { kind: 'local-pref', value: 250 }], ['198.51.100.8/32', { kind: 'local-pref', value: 100 }]]));
    expect(ups.every((u) => u.attributes.find((a) => a.kind === 'as-path')?.kind === 'as-path')).toBe(true);
  });

  it('answers an UPDATE in OpenConfirm with an FSM error', async () => {
    const x = await setup();
    const c = await x.peer.connection(0);
    await c.waitFor('open');
    c.open({ asn: 64512, holdTime: 3, keepalive: false });
    await waitState(x, 'OpenConfirm');
    c.send({ kind: 'update', withdrawn: [], attributes: [], nlri: [] });
    const [n] = await c.waitFor('notification');
    expect(n.m).toMatchObject({ code: ErrorCode.FiniteStateMachine, subcode: 2 });
  });

  it('reads and discards UPDATEs, treat-as-withdraw errors included, without resetting', async () => {
    const x = await setup();
    const c = await establish(x);
    // NLRI without NEXT_HOP: Missing Well-known Attribute, treat-as-withdraw (RFC 7606).
    c.send({ kind: 'update', withdrawn: [], attributes: [{ kind: 'origin', value: 0 }, { kind: 'as-path', segments: [] }], nlri: [parsePrefix('10.1.0.0/16')] });
    c.send({ kind: 'keepalive' });
    await new Promise((r) => setTimeout(r, 300));
    expect(x.session.state).toBe('Established');
    expect(c.received.some((r) => r.m.kind === 'notification')).toBe(false);
  });

  it('sends Cease on stop and stays Idle', async () => {
    const x = await setup();
    const c = await establish(x);
    await x.session.stop();
    const [n] = await c.waitFor('notification');
    expect(n.m).toMatchObject({ code: ErrorCode.Cease, subcode: 2 });
    expect(x.session.state).toBe('Idle');
    await new Promise((r) => setTimeout(r, 400));
    expect(x.peer.connections).toHaveLength(1);
  });
});
