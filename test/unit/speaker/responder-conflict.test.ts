// The responder engine's address conflict detection over the in-memory FakePacketIo and a
// hand-stepped clock: an address gained with gain 'probe' is probed (ARP probes read at RFC 5227
// byte offsets) and neither answered nor announced until the probe round ends in silence; a reply
// from a foreign MAC makes it a conflict; our speakers' MACs never do. Timings: DEFAULT_CONFLICT_TIMING
// (3 probes 100 ms apart, 200 ms of silence), stepped explicitly.
import { ETH_P_ARP } from '../../../src/net/native';
import { parseIPv4, parseMac } from '../../../src/protocol/address';
import { buildArpRequest, buildGratuitousArp } from '../../../src/protocol/arp';
import { DEFAULT_TIMING } from '../../../src/speaker/layer2/gratuitous-schedule';
import { DEFAULT_REPLY_LIMIT } from '../../../src/speaker/layer2/reply-limiter';
import { ResponderEngine } from '../../../src/speaker/layer2/responder-engine';
import type { FromWorker, ToWorker } from '../../../src/speaker/layer2/responder-messages';
import { FakeClock } from '../../support/fake-clock';
import { FakePacketIo } from '../../support/fake-packet-io';

type Cmd = ToWorker extends infer T ? (T extends ToWorker ? Omit<T, 'id'> : never) : never;

const VIP = '198.51.100.90';
const HOST_MAC = '02:00:00:00:00:99';
const PEER_MAC = '02:00:00:00:00:12';

function setup() {
  const clock = new FakeClock(1000);
  const io = new FakePacketIo(clock);
  const posted: FromWorker[] = [];
  const engine = new ResponderEngine(io, io.createEventFd(), { post: (m) => posted.push(m), now: () => clock.now(), wallNow: () => clock.wallNow() });
  let id = 0;
  const send = (m: Cmd) => engine.command({ ...m, id: ++id } as ToWorker);
  send({ type: 'configure', interfaces: [{ name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:11' }], timing: { ...DEFAULT_TIMING, refreshIntervalMs: 0 }, limit: DEFAULT_REPLY_LIMIT });
  send({ type: 'knownMacs', macs: [PEER_MAC] });
  const arp = io.socketsOn(2, ETH_P_ARP)[0];
  const step = (ms: number) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      clock.advance(10);
      engine.runSlice();
    }
  };
  const isProbe = (f: Buffer) => f.readUInt16BE(20) === 1 && f.readUInt32BE(28) === 0 && f.subarray(38, 42).equals(parseIPv4(VIP));
  const isGratuitous = (f: Buffer) => f.subarray(28, 32).equals(parseIPv4(VIP)) && f.subarray(38, 42).equals(parseIPv4(VIP));
  const request = () => buildArpRequest(parseMac('02:00:00:00:00:10'), parseIPv4('198.51.100.10'), parseIPv4(VIP));
  const replyFrom = (mac: string) => buildGratuitousArp(parseMac(mac), parseIPv4(VIP))[1];
  return { engine, io, arp, posted, send, step, isProbe, isGratuitous, request, replyFrom };
}

describe('responder engine: conflict detection', () => {
  it("probes before announcing ('probe'): 3 probes, no answers meanwhile, then the announcement", () => {
    const { engine, io, arp, send, step, isProbe, isGratuitous, request } = setup();
    send({ type: 'setAddresses', addresses: [{ address: VIP, gain: 'probe' }] });
    expect(arp.sent.filter(isProbe)).toHaveLength(1);
    expect(arp.sent.some(isGratuitous)).toBe(false);
    io.deliver(2, ETH_P_ARP, request());
    engine.runSlice();
    expect(arp.sent.filter((f) => f.readUInt16BE(20) === 2 && !isGratuitous(f))).toHaveLength(0); // not answered while probing
    step(300);
    expect(arp.sent.filter(isProbe)).toHaveLength(3);
    expect(arp.sent.some(isGratuitous)).toBe(false);
    step(200);
    expect(arp.sent.some(isGratuitous)).toBe(true);
    io.deliver(2, ETH_P_ARP, request());
    engine.runSlice();
    expect(arp.sent.filter((f) => f.readUInt16BE(20) === 2 && !isGratuitous(f))).toHaveLength(1);
  });

  it('a foreign answer to the probe: a conflict naming its MAC, never announced; a peer speaker answering is no conflict', () => {
    const t = setup();
    t.send({ type: 'setAddresses', addresses: [{ address: VIP, gain: 'probe' }] });
    t.io.deliver(2, ETH_P_ARP, t.replyFrom(PEER_MAC));
    t.engine.runSlice();
    expect(t.posted.filter((m) => m.type === 'conflict')).toEqual([]);
    t.io.deliver(2, ETH_P_ARP, t.replyFrom(HOST_MAC));
    t.engine.runSlice();
    expect(t.posted.filter((m) => m.type === 'conflict')).toEqual([{ type: 'conflict', address: VIP, mac: '020000000099', phase: 'probing' }]);
    t.step(1000);
    expect(t.arp.sent.some(t.isGratuitous)).toBe(false);
  });

  it('a foreign gratuitous ARP for an owned address: reported and defended once per 10 s', () => {
    const t = setup();
    t.send({ type: 'setAddresses', addresses: [{ address: VIP }] }); // gain 'none': owned at once
    t.step(5000);
    t.arp.sent.length = 0;
    t.io.deliver(2, ETH_P_ARP, t.replyFrom(HOST_MAC));
    t.engine.runSlice();
    expect(t.posted.filter((m) => m.type === 'conflict')).toEqual([{ type: 'conflict', address: VIP, mac: '020000000099', phase: 'announcing' }]);
    expect(t.arp.sent.filter(t.isGratuitous)).toHaveLength(2); // one defence: gratuitous request + reply
    t.io.deliver(2, ETH_P_ARP, t.replyFrom(HOST_MAC));
    t.engine.runSlice();
    expect(t.posted.filter((m) => m.type === 'conflict')).toHaveLength(1);
    expect(t.arp.sent.filter(t.isGratuitous)).toHaveLength(2);
  });
});
