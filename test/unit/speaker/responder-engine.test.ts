// The responder worker's logic without a thread, root or sockets: a ResponderEngine over the
// in-memory FakePacketIo, driven by a hand-stepped clock. Frames in are built by the protocol
// builders; what comes out is read at hand-written byte offsets (RFC 826 / RFC 4861 layouts).
import { arpFilter, neighborDiscoveryFilter, runFilter } from '../../../src/net/bpf';
import { ETH_P_ARP, ETH_P_IPV6, PacketType } from '../../../src/net/native';
import { parseIPv4, parseIPv6, parseMac } from '../../../src/protocol/address';
import { buildArpRequest } from '../../../src/protocol/arp';
import { buildNeighborSolicitation } from '../../../src/protocol/ndp';
import { DEFAULT_TIMING } from '../../../src/speaker/layer2/gratuitous-schedule';
import { DEFAULT_REPLY_LIMIT } from '../../../src/speaker/layer2/reply-limiter';
import { ResponderEngine } from '../../../src/speaker/layer2/responder-engine';
import type { FromWorker, ResponderInterfaceConfig, ResponderStats, ToWorker } from '../../../src/speaker/layer2/responder-messages';
import { FakeClock } from '../../support/fake-clock';
import { FakePacketIo } from '../../support/fake-packet-io';

const NODE_MAC = '02:00:00:00:00:11';
const CLIENT_MAC = '02:00:00:00:00:10';
const VIP4 = '198.51.100.90';
const VIP6 = '2001:db8:100::90';
const ETH0: ResponderInterfaceConfig = { name: 'eth0', ifindex: 2, mac: NODE_MAC };
const ETH1: ResponderInterfaceConfig = { name: 'eth1', ifindex: 3, mac: '02:00:00:00:01:11' };
const hex = (b: Buffer, from: number, to: number) => b.subarray(from, to).toString('hex');

function setup(timing = { ...DEFAULT_TIMING, refreshIntervalMs: 0 }, kernelFilters = false) {
  const clock = new FakeClock(1000);
  const io = new FakePacketIo(clock, { kernelFilters });
  const wakeFd = io.createEventFd();
  const posted: FromWorker[] = [];
  const held = new Set<number>();
  let beats = 0;
  let fenced = false;
  const engine = new ResponderEngine(io, wakeFd, {
    post: (m) => posted.push(m),
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    beat: () => beats++,
    fenced: () => fenced,
    fdOpened: (fd) => held.add(fd),
    fdClosing: (fd) => held.delete(fd),
  });
  let id = 0;
  const send = (m: Omit<ToWorker, 'id'>): FromWorker => {
    const mid = ++id;
    engine.command({ ...m, id: mid } as ToWorker);
    const ack = posted.find((p) => p.type === 'ack' && p.id === mid);
    if (!ack || ack.type !== 'ack') throw new Error('no ack');
    if (ack.error) throw new Error(ack.error);
    return ack;
  };
  const configure = (interfaces: ResponderInterfaceConfig[], t = timing, limit = DEFAULT_REPLY_LIMIT) => send({ type: 'configure', interfaces, timing: t, limit } as Omit<ToWorker, 'id'>);
  const setAddresses = (addresses: Array<{ address: string; interfaces?: string[] }>) => send({ type: 'setAddresses', addresses } as Omit<ToWorker, 'id'>);
  const stats = (): ResponderStats => {
    const a = send({ type: 'getStats' });
    if (a.type !== 'ack' || !a.stats) throw new Error('no stats');
    return a.stats;
  };
  /** eth0 up, VIP4 owned, its first gratuitous frames cleared: the ARP socket's sent list then
   * holds only what the test provokes. */
  const ownVip4OnEth0 = () => {
    configure([ETH0]);
    setAddresses([{ address: VIP4 }]);
    const s = arpSocket(io);
    s.sent.length = 0;
    return s;
  };
  return { clock, io, wakeFd, engine, posted, held, configure, setAddresses, stats, send, ownVip4OnEth0, beats: () => beats, fence: () => (fenced = true) };
}

const arpSocket = (io: FakePacketIo, ifindex = 2) => io.socketsOn(ifindex, ETH_P_ARP)[0];
const ndpSocket = (io: FakePacketIo, ifindex = 2) => io.socketsOn(ifindex, ETH_P_IPV6)[0];
const request = (target: string, sha = CLIENT_MAC) => {
  const f = buildArpRequest(parseMac(CLIENT_MAC), parseIPv4('198.51.100.10'), parseIPv4(target));
  parseMac(sha).copy(f, 22);
  return f;
};

describe('ResponderEngine', () => {
  it('opens one filtered ARP and one NDP socket per interface, with an 8 MiB queue', () => {
    const { io, configure } = setup();
    configure([ETH0, { ...ETH1, arp: false }]);
    const arp = arpSocket(io);
    expect(runFilter(arp.filter!, request(VIP4))).toBeGreaterThan(0);
    // Requests and replies / NS and NA: answers, and the conflict detection's view of other hosts.
    expect(arp.filter).toEqual(arpFilter());
    expect(ndpSocket(io).filter).toEqual(neighborDiscoveryFilter());
    expect(arp.rcvbuf).toBe(8 << 20);
    expect(io.socketsOn(3, ETH_P_ARP)).toEqual([]); // arp: false
    expect(io.socketsOn(3, ETH_P_IPV6)).toHaveLength(1);
  });

  it('reports an interface whose socket cannot be opened, keeping its other socket', () => {
    const { io, configure, posted, stats } = setup();
    io.failOpen.set(2, 'ENODEV');
    configure([ETH0]);
    expect(posted).toContainEqual({ type: 'interfaceError', interface: 'eth0', message: 'arp: ENODEV: fake', code: 'ENODEV' });
    expect(stats().interfaces).toEqual([{ name: 'eth0', ifindex: 2, arp: false, ndp: true, multicastGroups: 0, error: 'arp: ENODEV: fake' }]);
  });

  it('joins the solicited-node group of each owned IPv6 address where it may be answered, and leaves it', () => {
    const { io, configure, setAddresses } = setup();
    configure([ETH0, ETH1]);
    setAddresses([{ address: VIP6 }, { address: '2001:db8:100::1:2345', interfaces: ['eth1'] }]);
    expect([...ndpSocket(io, 2).groups]).toEqual(['3333ff000090']);
    expect([...ndpSocket(io, 3).groups].sort()).toEqual(['3333ff000090', '3333ff012345']);
    setAddresses([]);
    expect(ndpSocket(io, 2).groups.size + ndpSocket(io, 3).groups.size).toBe(0);
  });

  it('announces a gained address before acknowledging it: ARP request + reply, unsolicited NA', () => {
    const { io, configure, setAddresses } = setup();
    configure([ETH0]);
    setAddresses([{ address: VIP4 }, { address: VIP6 }]);
    const [req, rep] = arpSocket(io).sent;
    expect(hex(req, 0, 6)).toBe('ffffffffffff');
    expect(hex(req, 20, 22)).toBe('0001');
    expect(hex(rep, 20, 22)).toBe('0002');
    expect(hex(req, 28, 32)).toBe('c633645a'); // sender IP = the address
    expect(hex(req, 38, 42)).toBe('c633645a'); // target IP = the address
    const [na] = ndpSocket(io).sent;
    expect(hex(na, 0, 6)).toBe('333300000001');
    expect(na[54]).toBe(136);
    expect(na[58] & 0x60).toBe(0x20); // override, not solicited
  });

  it('answers an ARP request for an owned address on the socket it came in on, and counts', () => {
    const { io, engine, ownVip4OnEth0, stats } = setup();
    const s = ownVip4OnEth0();
    io.deliver(2, ETH_P_ARP, request(VIP4));
    io.deliver(2, ETH_P_ARP, request('198.51.100.99'));
    io.deliver(2, ETH_P_ARP, request(VIP4), PacketType.Outgoing);
    engine.runSlice();
    expect(s.sent).toHaveLength(1);
    const r = s.sent[0];
    expect(hex(r, 0, 6)).toBe('020000000010'); // to the requester
    expect(hex(r, 6, 12)).toBe('020000000011'); // from us
    expect(hex(r, 20, 22)).toBe('0002');
    expect(hex(r, 28, 32)).toBe('c633645a'); // 198.51.100.90 is at...
    expect(hex(r, 22, 28)).toBe('020000000011'); // ...our MAC
    const c = stats().counters;
    expect(c.requests.arp).toBe(3);
    expect(c.replies.arp).toBe(1);
    expect(c.drops).toMatchObject({ notOwned: 1, ownPacket: 1 });
  });

  it("keeps each ARP socket's kernel filter to the addresses it answers or watches: a flood for others never queues", () => {
    const { io, engine, configure, setAddresses, stats } = setup(undefined, true);
    configure([ETH0]);
    setAddresses([{ address: VIP4 }, { address: VIP6 }]);
    const s = arpSocket(io);
    s.sent.length = 0;
    for (let i = 0; i < 50; i++) io.deliver(2, ETH_P_ARP, request(`198.51.100.${100 + i}`));
    io.deliver(2, ETH_P_ARP, request(VIP4));
    expect(s.filtered).toBe(50);
    expect(s.queue).toHaveLength(1);
    engine.runSlice();
    expect(s.sent).toHaveLength(1);
    expect(stats().counters.drops.notOwned).toBe(0);
    // The address lost: its requests are dropped by the kernel too, at once.
    setAddresses([{ address: VIP6 }]);
    io.deliver(2, ETH_P_ARP, request(VIP4));
    expect(s.filtered).toBe(51);
    // A second address gained: answered.
    setAddresses([{ address: '198.51.100.120' }]);
    s.sent.length = 0;
    io.deliver(2, ETH_P_ARP, request('198.51.100.120'));
    engine.runSlice();
    expect(s.sent.filter((f) => hex(f, 0, 6) === '020000000010')).toHaveLength(1);
  });

  it("keeps each NDP socket's kernel filter to the IPv6 addresses it answers or watches: a solicitation flood for others never queues", () => {
    const { io, engine, configure, setAddresses } = setup(undefined, true);
    configure([ETH0]);
    setAddresses([{ address: VIP4 }, { address: VIP6 }]);
    const s = ndpSocket(io);
    s.sent.length = 0;
    const solicit = (target: string) => buildNeighborSolicitation({ sourceMac: parseMac(CLIENT_MAC), sourceIp: parseIPv6('2001:db8:100::10'), target: parseIPv6(target) });
    for (let i = 0; i < 50; i++) io.deliver(2, ETH_P_IPV6, solicit(`2001:db8:100::${(0x100 + i).toString(16)}`));
    io.deliver(2, ETH_P_IPV6, solicit(VIP6));
    expect(s.filtered).toBe(50);
    expect(s.queue).toHaveLength(1);
    engine.runSlice();
    expect(s.sent).toHaveLength(1);
    // The address lost: its solicitations are dropped by the kernel too, at once.
    setAddresses([{ address: VIP4 }]);
    io.deliver(2, ETH_P_IPV6, solicit(VIP6));
    expect(s.filtered).toBe(51);
    // A second address gained: answered.
    setAddresses([{ address: '2001:db8:100::120' }]);
    s.sent.length = 0;
    io.deliver(2, ETH_P_IPV6, solicit('2001:db8:100::120'));
    engine.runSlice();
    expect(s.sent.filter((f) => f[54] === 136)).toHaveLength(1);
  });

  it('answers a Neighbor Solicitation for an owned address', () => {
    const { io, engine, configure, setAddresses } = setup();
    configure([ETH0]);
    setAddresses([{ address: VIP6 }]);
    const s = ndpSocket(io);
    s.sent.length = 0;
    io.deliver(2, ETH_P_IPV6, buildNeighborSolicitation({ sourceMac: parseMac(CLIENT_MAC), sourceIp: parseIPv6('2001:db8:100::10'), target: parseIPv6(VIP6) }));
    engine.runSlice();
    expect(s.sent).toHaveLength(1);
    expect(hex(s.sent[0], 0, 6)).toBe('020000000010');
    expect(s.sent[0][54]).toBe(136);
  });

  it('limits the answers to one source: a burst, then the sustained rate (issue 14 item 7)', () => {
    const { io, engine, clock, configure, setAddresses, stats } = setup();
    configure([ETH0], { ...DEFAULT_TIMING, refreshIntervalMs: 0, burstDurationMs: 0 }, { ratePerSecond: 100, burst: 200 });
    setAddresses([{ address: VIP4 }]); // no burst after the first gratuitous frames: only answers below
    const s = arpSocket(io);
    s.sent.length = 0;
    for (let i = 0; i < 300; i++) io.deliver(2, ETH_P_ARP, request(VIP4, '02:aa:00:00:00:01'));
    // 300 at one instant: the RECV_BUDGET (256) then the rest on the next pass, no time between.
    const at = clock.now();
    engine.runSlice();
    expect(clock.now()).toBeGreaterThanOrEqual(at); // poll may move time only when idle
    expect(s.sent.length).toBe(200);
    expect(stats().counters.drops.rateLimited).toBe(100);
    // The bucket refills at 100/s: about a second later (the slice above idled for some of it)
    // it holds 100 and a few more.
    clock.advance(1000);
    const refill = Math.floor(((clock.now() - at) * 100) / 1000);
    expect(refill).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < 150; i++) io.deliver(2, ETH_P_ARP, request(VIP4, '02:aa:00:00:00:01'));
    engine.runSlice();
    expect(s.sent.length).toBe(200 + refill);
    // Other sources have budgets of their own.
    for (let i = 0; i < 50; i++) io.deliver(2, ETH_P_ARP, request(VIP4, `02:bb:00:00:00:${(i + 16).toString(16)}`));
    engine.runSlice();
    expect(s.sent.length).toBe(250 + refill);
  });

  it('drops a request that would reflect its reply to a broadcast address', () => {
    const { io, engine, ownVip4OnEth0, stats } = setup();
    const s = ownVip4OnEth0();
    io.deliver(2, ETH_P_ARP, request(VIP4, 'ff:ff:ff:ff:ff:ff'));
    engine.runSlice();
    expect(s.sent).toEqual([]);
    expect(stats().counters.drops.badSender).toBe(1);
  });

  it('re-announces what it owns on an interface that comes back, and nothing on unchanged ones', () => {
    const { io, configure, setAddresses } = setup();
    configure([ETH0]);
    setAddresses([{ address: VIP4 }]);
    configure([]);
    configure([ETH0]);
    expect(arpSocket(io).sent).toHaveLength(2); // the new socket's comeback burst
    configure([ETH0]);
    expect(arpSocket(io).sent).toHaveLength(2);
  });

  it('posts counters every statsIntervalMs and link changes at once', () => {
    const { io, engine, clock, configure, posted } = setup();
    configure([ETH0], { ...DEFAULT_TIMING, statsIntervalMs: 200 });
    const start = clock.now();
    while (clock.now() < start + 1000) engine.runSlice();
    expect(posted.filter((m) => m.type === 'stats').length).toBeGreaterThanOrEqual(4);
    io.monitorEvents = 3;
    engine.runSlice();
    expect(posted.filter((m) => m.type === 'linksChanged')).toHaveLength(1);
  });

  it('beats on every pass of its loop, also when idle, at most MAX_POLL_WAIT_MS apart', () => {
    const { engine, clock, beats } = setup();
    const start = clock.now();
    while (clock.now() < start + 1000) engine.runSlice();
    expect(beats()).toBeGreaterThanOrEqual(10);
  });

  it('returns to its caller at once when woken by a command', () => {
    const { io, engine, wakeFd, clock } = setup();
    io.signal(wakeFd);
    const at = clock.now();
    engine.runSlice();
    expect(clock.now()).toBe(at);
    expect(io.eventFds.get(wakeFd)).toBe(0);
  });

  it('counts receive errors and send failures without stopping', () => {
    const { io, engine, ownVip4OnEth0, stats } = setup();
    ownVip4OnEth0();
    io.deliver(2, ETH_P_ARP, request(VIP4));
    io.sendBlocked = true;
    engine.runSlice();
    io.sendBlocked = false;
    io.recvError = 'ENETDOWN';
    io.deliver(2, ETH_P_ARP, request(VIP4));
    engine.runSlice();
    const s = stats();
    expect(s.counters.sendFailures).toBe(1);
    expect(s.counters.recvErrors).toBeGreaterThanOrEqual(1);
    expect(s.lastError).toMatch(/ENETDOWN/);
  });

  it('once fenced, answers nothing more', () => {
    const { io, engine, ownVip4OnEth0, fence } = setup();
    const s = ownVip4OnEth0();
    fence();
    io.deliver(2, ETH_P_ARP, request(VIP4));
    engine.runSlice();
    expect(s.sent).toEqual([]);
  });

  it('reports each fd it opens and closes, so that a record of them never names a closed one', () => {
    const { io, configure, held, send, wakeFd } = setup();
    configure([ETH0, ETH1]);
    expect([...held].sort()).toEqual(io.openFds().filter((fd) => fd !== wakeFd).sort());
    configure([ETH1]);
    expect([...held].sort()).toEqual(io.openFds().filter((fd) => fd !== wakeFd).sort());
    send({ type: 'stop' });
    expect(held.size).toBe(0);
    expect(io.openFds()).toEqual([wakeFd]); // the eventfd belongs to the main thread
  });

  it('rejects an invalid address with an error acknowledgement', () => {
    const { setAddresses } = setup();
    expect(() => setAddresses([{ address: 'nope' }])).toThrow(/invalid address/);
  });
});
