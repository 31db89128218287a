// The C answer path (native/src/l2_answer.c) against the TypeScript it ports (answerArp /
// answerNdp in src/protocol/l2-responder.ts): hand-written rows for every drop reason, the answers,
// tagged frames and every truncation of valid requests. The random rows: l2-answer-native-fuzz,
// the limiter: l2-answer-native-limiter.
import { ipv4ToNumber, parseIPv4, parseIPv6, parseMac } from '../../../src/protocol/address';
import { buildArpRequest, buildGratuitousArp } from '../../../src/protocol/arp';
import { L2_DROP_REASONS, L2DropReason, ResponderInterfaceView } from '../../../src/protocol/l2-responder';
import { buildNeighborAdvertisement, buildNeighborSolicitation, ndpFrameBytes, NdpOption, solicitedNodeMulticast } from '../../../src/protocol/ndp';
import { L2OwnedEntry, tryLoadNative } from '../../../src/net/native';
import { agree, cAnswer, fixChecksum, Kind, reasonCode, tsAnswer, tsTable, vlanTagged } from '../../support/l2-answer-diff';
import { arpReplyFrame, arpRequestFrame, CLIENT_MAC, NODE_MAC, neighborSolicitationFrame } from '../protocol/fixtures';

const native = tryLoadNative();
const d = native ? describe : describe.skip;
if (!native) console.warn('skipping the C answer path tests: the addon is not built (npm run build:native)');
const named = (name: string) => expect.objectContaining({ name });

const VIP4 = '198.51.100.90';
const VIP6 = '2001:db8:100::90';
const CLIENT_IP4 = '198.51.100.10';
const CLIENT_IP6 = '2001:db8:100::10';
const eth0: ResponderInterfaceView = { ifindex: 2, mac: parseMac(NODE_MAC) };
const eth1: ResponderInterfaceView = { ifindex: 3, mac: parseMac('02:00:00:00:01:11') };
const client = parseMac(CLIENT_MAC);

const ENTRIES: L2OwnedEntry[] = [
  { ip: parseIPv4(VIP4), ifindexes: null },
  { ip: parseIPv6(VIP6), ifindexes: null },
  { ip: parseIPv4('198.51.100.91'), ifindexes: [3] },
  { ip: parseIPv6('2001:db8:100::91'), ifindexes: [3] },
  { ip: parseIPv4('198.51.100.92'), ifindexes: [] },
  { ip: parseIPv6('2001:db8:100::92'), ifindexes: [] },
  { ip: parseIPv4('198.51.100.11'), ifindexes: [2, 7] }, // the captured request's target
];

const arpReq = (target: string, to?: string) => buildArpRequest(client, parseIPv4(CLIENT_IP4), parseIPv4(target), to ? parseMac(to) : undefined);
const patched = (f: Buffer, at: number, bytes: number[] | Buffer) => {
  Buffer.from(bytes).copy(f, at);
  return f;
};
const ns = (o: { target?: string; unicast?: boolean; slla?: boolean; src?: string; ethDst?: string; from?: Buffer } = {}) => {
  const target = parseIPv6(o.target ?? VIP6);
  return buildNeighborSolicitation({
    sourceMac: o.from ?? client,
    sourceIp: parseIPv6(o.src ?? CLIENT_IP6),
    target,
    destinationIp: o.unicast ? target : undefined,
    destinationMac: o.ethDst ? parseMac(o.ethDst) : o.unicast ? eth0.mac : undefined,
    includeSourceLinkLayer: o.slla,
  });
};
/** An NS with its own options (checksum right). */
const nsWith = (options: NdpOption[], src = CLIENT_IP6) => {
  const target = parseIPv6(VIP6);
  const dst = solicitedNodeMulticast(target);
  return ndpFrameBytes({ sourceMac: client, destinationMac: Buffer.from([0x33, 0x33, ...dst.subarray(12)]), sourceIp: parseIPv6(src), destinationIp: dst, message: { type: 'neighborSolicitation', targetAddress: target, options } });
};
const fixed = (f: Buffer) => {
  fixChecksum(f);
  return f;
};

interface Row {
  desc: string;
  kind: Kind;
  frame: () => Buffer;
  want: L2DropReason | number;
  iface?: ResponderInterfaceView;
  len?: number;
}

const rows: Row[] = [
  // ARP
  { desc: 'a broadcast request for an owned address', kind: 'arp', frame: () => arpReq(VIP4), want: 60 },
  { desc: 'a request unicast to our MAC', kind: 'arp', frame: () => arpReq(VIP4, NODE_MAC), want: 60 },
  { desc: 'an interface-limited address on its interface', kind: 'arp', frame: () => arpReq('198.51.100.91'), iface: eth1, want: 60 },
  { desc: 'a request for an address we do not own', kind: 'arp', frame: () => arpReq('198.51.100.99'), want: 'notOwned' },
  { desc: 'a request for an address we do not own, unicast elsewhere (ownership first)', kind: 'arp', frame: () => arpReq('198.51.100.99', '02:00:00:00:00:99'), want: 'notOwned' },
  { desc: 'a request for an address limited to another interface', kind: 'arp', frame: () => arpReq('198.51.100.91'), want: 'interfaceNotAllowed' },
  { desc: 'a request for an address answered on no interface', kind: 'arp', frame: () => arpReq('198.51.100.92'), iface: eth1, want: 'interfaceNotAllowed' },
  { desc: 'a reply', kind: 'arp', frame: () => arpReplyFrame(), want: 'notRequest' },
  { desc: 'operation 3', kind: 'arp', frame: () => patched(arpReq(VIP4), 20, [0, 3]), want: 'notRequest' },
  { desc: 'a tagged request with operation 3 (badOperation beats the tag)', kind: 'arp', frame: () => patched(vlanTagged(arpReq(VIP4)), 24, [0, 3]), want: 'notRequest' },
  { desc: 'a request unicast to another MAC', kind: 'arp', frame: () => arpReq(VIP4, '02:00:00:00:00:99'), want: 'badDst' },
  { desc: 'a truncated request', kind: 'arp', frame: () => arpReq(VIP4), len: 41, want: 'malformed' },
  { desc: 'a wrong hardware type', kind: 'arp', frame: () => patched(arpReq(VIP4), 15, [6]), want: 'malformed' },
  { desc: 'a 20-byte hardware address length', kind: 'arp', frame: () => patched(arpReq(VIP4), 18, [20]), want: 'malformed' },
  { desc: 'an IPv6 EtherType', kind: 'arp', frame: () => patched(arpReq(VIP4), 12, [0x86, 0xdd]), want: 'malformed' },
  { desc: 'an 802.1Q-tagged request', kind: 'arp', frame: () => vlanTagged(arpReq(VIP4)), want: 'malformed' },
  { desc: 'our own gratuitous request', kind: 'arp', frame: () => buildGratuitousArp(eth0.mac, parseIPv4(VIP4))[0], want: 'ownPacket' },
  { desc: 'our own request unicast elsewhere (ownPacket before badDst)', kind: 'arp', frame: () => buildArpRequest(eth0.mac, parseIPv4(CLIENT_IP4), parseIPv4(VIP4), parseMac('02:00:00:00:00:99')), want: 'ownPacket' },
  { desc: 'a broadcast sender hardware address', kind: 'arp', frame: () => patched(arpReq(VIP4), 22, parseMac('ff:ff:ff:ff:ff:ff')), want: 'badSender' },
  { desc: 'an all-zero sender hardware address', kind: 'arp', frame: () => patched(arpReq(VIP4), 22, Buffer.alloc(6)), want: 'badSender' },
  { desc: 'a multicast Ethernet source', kind: 'arp', frame: () => patched(arpReq(VIP4), 6, parseMac('01:00:5e:00:00:01')), want: 'badSender' },
  // NDP
  { desc: 'a multicast NS with SLLA', kind: 'ndp', frame: () => ns(), want: 86 },
  { desc: 'a unicast NUD probe without SLLA', kind: 'ndp', frame: () => ns({ unicast: true, slla: false }), want: 86 },
  { desc: 'a unicast NUD probe with SLLA', kind: 'ndp', frame: () => ns({ unicast: true, slla: true }), want: 86 },
  { desc: 'a DAD probe (answered to all nodes)', kind: 'ndp', frame: () => ns({ src: '::' }), want: 86 },
  { desc: 'an NS whose SLLA has 2 units (not an SLLA: answered to the Ethernet source)', kind: 'ndp', frame: () => nsWith([{ kind: 'raw', type: 1, data: Buffer.alloc(14, 2) }]), want: 86 },
  { desc: 'an NS with two SLLAs (the first wins)', kind: 'ndp', frame: () => nsWith([{ kind: 'raw', type: 14, data: Buffer.alloc(6, 9) }, { kind: 'sourceLinkLayerAddress', address: parseMac('02:00:00:00:00:42') }, { kind: 'sourceLinkLayerAddress', address: client }]), want: 86 },
  { desc: 'an 802.1Q-tagged NS (answered, untagged)', kind: 'ndp', frame: () => vlanTagged(ns()), want: 86 },
  { desc: 'an NS for an address we do not own', kind: 'ndp', frame: () => ns({ target: '2001:db8:100::99' }), want: 'notOwned' },
  { desc: 'a corrupt NS for an address we do not own (ownership first)', kind: 'ndp', frame: () => patched(ns({ target: '2001:db8:100::99' }), 57, [0x55]), want: 'notOwned' },
  { desc: 'an NS for an address limited to another interface', kind: 'ndp', frame: () => ns({ target: '2001:db8:100::91' }), want: 'interfaceNotAllowed' },
  { desc: 'a corrupt NS for an address answered on no interface', kind: 'ndp', frame: () => patched(ns({ target: '2001:db8:100::92' }), 79, [0]), want: 'interfaceNotAllowed' },
  { desc: 'an NA', kind: 'ndp', frame: () => buildNeighborAdvertisement({ sourceMac: client, destinationMac: eth0.mac, sourceIp: parseIPv6(CLIENT_IP6), destinationIp: parseIPv6(VIP6), target: parseIPv6(VIP6), solicited: true, override: true }), want: 'notRequest' },
  { desc: 'an echo request', kind: 'ndp', frame: () => fixed(patched(ns(), 54, [128])), want: 'notRequest' },
  { desc: 'an echo request of odd length (the checksum covers the odd byte)', kind: 'ndp', frame: () => fixed(patched(patched(Buffer.concat([ns(), Buffer.from([7])]), 18, [0, 33]), 54, [128])), want: 'notRequest' },
  { desc: 'next header UDP', kind: 'ndp', frame: () => patched(ns(), 20, [17]), want: 'notRequest' },
  { desc: 'a unicast NS to another MAC', kind: 'ndp', frame: () => ns({ unicast: true, ethDst: '02:00:00:00:00:99' }), want: 'badDst' },
  { desc: 'a multicast NS with a non-matching Ethernet group', kind: 'ndp', frame: () => ns({ ethDst: '33:33:ff:00:00:91' }), want: 'badDst' },
  { desc: 'a unicast NS to another address', kind: 'ndp', frame: () => fixed(patched(ns({ unicast: true }), 53, [0x99])), want: 'badDst' },
  { desc: 'an NS with a bad checksum', kind: 'ndp', frame: () => patched(ns(), 57, [0x55]), want: 'malformed' },
  { desc: 'an NS with hop limit 64', kind: 'ndp', frame: () => patched(ns(), 21, [64]), want: 'malformed' },
  { desc: 'a truncated NS', kind: 'ndp', len: 70, frame: () => ns(), want: 'malformed' },
  { desc: 'a DAD probe with SLLA', kind: 'ndp', frame: () => ns({ src: '::', slla: true }), want: 'malformed' },
  { desc: 'an NS from a multicast source', kind: 'ndp', frame: () => ns({ src: 'ff02::1' }), want: 'malformed' },
  { desc: 'an NS with an option of length 0', kind: 'ndp', frame: () => fixed(patched(ns(), 79, [0])), want: 'malformed' },
  { desc: 'an NS with code 1', kind: 'ndp', frame: () => fixed(patched(ns(), 55, [1])), want: 'malformed' },
  { desc: 'IPv6 version 4', kind: 'ndp', frame: () => patched(ns(), 14, [0x40]), want: 'malformed' },
  { desc: 'a payload length past the frame', kind: 'ndp', frame: () => patched(ns(), 18, [0, 33]), want: 'malformed' },
  { desc: 'our own NS', kind: 'ndp', frame: () => ns({ from: eth0.mac }), want: 'ownPacket' },
  { desc: 'our own NS unicast to another MAC (ownPacket before badDst)', kind: 'ndp', frame: () => ns({ from: eth0.mac, unicast: true, ethDst: '02:00:00:00:00:99' }), want: 'ownPacket' },
  { desc: 'an NS whose SLLA is multicast', kind: 'ndp', frame: () => nsWith([{ kind: 'sourceLinkLayerAddress', address: parseMac('33:33:00:00:00:01') }]), want: 'badSender' },
  { desc: 'a DAD probe from an all-zero Ethernet source', kind: 'ndp', frame: () => ns({ src: '::', from: Buffer.alloc(6) }), want: 'badSender' },
];

d('C answer path (l2_answer.c) against answerArp / answerNdp', () => {
  const n = native!;
  const table = n.l2OwnedTest(ENTRIES);
  const ts = tsTable(ENTRIES);

  it('numbers the drop reasons as l2_answer.h does (L2_NOT_OWNED = 1 ... L2_RATE_LIMITED = 8)', () => {
    expect(L2_DROP_REASONS).toEqual(['notOwned', 'notRequest', 'badDst', 'malformed', 'interfaceNotAllowed', 'ownPacket', 'badSender', 'rateLimited']);
    expect(n.l2OwnedSizeTest(table, 4)).toBe(ts.sizeV4);
    expect(n.l2OwnedSizeTest(table, 6)).toBe(ts.sizeV6);
  });

  it.each(rows)('$kind: $desc -> $want', ({ kind, frame, want, iface, len }) => {
    const f = frame();
    const length = len ?? f.length;
    const got = cAnswer(n, kind, f, length, iface ?? eth0, table);
    expect(got.r).toBe(typeof want === 'number' ? want : reasonCode(want));
    agree(n, kind, f, length, iface ?? eth0, table, ts);
  });

  it('every drop reason but rateLimited is reached by a row, for ARP and for NDP', () => {
    for (const kind of ['arp', 'ndp'] as const) {
      const reached = new Set(rows.filter((r) => r.kind === kind).map((r) => r.want));
      for (const reason of L2_DROP_REASONS.slice(0, 7)) expect([kind, reached.has(reason)]).toEqual([kind, true]);
    }
  });

  it("answers the captured kernel request with the kernel's reply, padded with zeros to 60 bytes", () => {
    const got = cAnswer(n, 'arp', arpRequestFrame(), 42, eth0, table);
    expect(got.r).toBe(60);
    expect(got.bytes).toEqual(Buffer.concat([arpReplyFrame(), Buffer.alloc(18)]));
  });

  it('answers the captured kernel NS exactly as answerNdp does (an NA from the target, S=1 O=1, TLLA)', () => {
    const entries = [{ ip: parseIPv6('2001:db8:100::11'), ifindexes: null }];
    const got = cAnswer(n, 'ndp', neighborSolicitationFrame(), 86, eth0, n.l2OwnedTest(entries));
    expect(got).toEqual(tsAnswer('ndp', neighborSolicitationFrame(), 86, eth0, tsTable(entries)));
    const na = got.bytes!;
    expect([na.subarray(0, 6), na.subarray(22, 38), na.subarray(38, 54)].map((b) => b.toString('hex'))).toEqual(['020000000010', '20010db8010000000000000000000011', '20010db8010000000000000000000010']);
    expect([na[54], na[58], na[78], na[79]]).toEqual([136, 0x60, 2, 1]);
  });

  it('answers a DAD probe to all nodes with Solicited=0', () => {
    const na = cAnswer(n, 'ndp', ns({ src: '::' }), 78, eth0, table).bytes!;
    expect(na.subarray(0, 6).toString('hex')).toBe('333300000001');
    expect(na.subarray(38, 54).toString('hex')).toBe('ff020000000000000000000000000001');
    expect(na[58]).toBe(0x20);
  });

  it('takes the owned table as an array of entries too', () => {
    expect(n.l2AnswerTest('arp', arpReq(VIP4), 60, 2, eth0.mac, ENTRIES, Buffer.alloc(256))).toBe(60);
    expect(n.l2AnswerTest('arp', arpReq(VIP4), 60, 2, eth0.mac, [], Buffer.alloc(256))).toBe(reasonCode('notOwned'));
  });

  const valid: Array<[string, Kind, () => Buffer]> = [
    ['a broadcast ARP request', 'arp', () => arpReq(VIP4)],
    ['a tagged ARP request', 'arp', () => vlanTagged(arpReq(VIP4))],
    ['the captured ARP request', 'arp', () => arpRequestFrame()],
    ['a multicast NS with SLLA', 'ndp', () => ns()],
    ['a NUD probe', 'ndp', () => ns({ unicast: true, slla: false })],
    ['a DAD probe', 'ndp', () => ns({ src: '::' })],
    ['a tagged NS', 'ndp', () => vlanTagged(ns())],
    ['an NS for an address limited to another interface', 'ndp', () => ns({ target: '2001:db8:100::91' })],
  ];
  it.each(valid)('%s cut to every length agrees (the rest of the frame still in the buffer, or not)', (_desc, kind, frame) => {
    const f = frame();
    for (let len = 0; len <= f.length + 2; len++) {
      agree(n, kind, f, len, eth0, table, ts);
      agree(n, kind, Buffer.from(f.subarray(0, len)), len, eth0, table, ts);
    }
  });

  it('refuses bad arguments with TypeError or RangeError', () => {
    const f = arpReq(VIP4);
    const out = Buffer.alloc(256);
    expect(() => n.l2AnswerTest('rarp' as Kind, f, 60, 2, eth0.mac, table, out)).toThrow(named('TypeError'));
    expect(() => n.l2AnswerTest('arp', 'x' as unknown as Buffer, 60, 2, eth0.mac, table, out)).toThrow(named('TypeError'));
    expect(() => n.l2AnswerTest('arp', f, -1, 2, eth0.mac, table, out)).toThrow(named('RangeError'));
    expect(() => n.l2AnswerTest('arp', f, 1.5, 2, eth0.mac, table, out)).toThrow(named('RangeError'));
    expect(() => n.l2AnswerTest('arp', f, 60, 2, Buffer.alloc(5), table, out)).toThrow(named('RangeError'));
    expect(() => n.l2AnswerTest('arp', f, 60, 2, eth0.mac, table, Buffer.alloc(255))).toThrow(named('RangeError'));
    expect(() => n.l2AnswerTest('arp', f, 60, 2, eth0.mac, n.l2LimiterTest(1, 1, 1) as never, out)).toThrow(named('TypeError'));
    expect(() => n.l2OwnedTest([{ ip: Buffer.alloc(5), ifindexes: null }])).toThrow(named('RangeError'));
    expect(() => n.l2OwnedTest([{ ip: Buffer.alloc(4), ifindexes: 'x' as never }])).toThrow(named('TypeError'));
    expect(() => n.l2OwnedTest({} as never)).toThrow(named('TypeError'));
    expect(() => n.l2OwnedSizeTest(table, 5 as never)).toThrow(named('RangeError'));
  });

  it('keys addresses by value (a table of consecutive addresses, each with its own interfaces)', () => {
    const entries: L2OwnedEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      const ip = Buffer.alloc(4);
      ip.writeUInt32BE(ipv4ToNumber(parseIPv4('10.0.0.0')) + i);
      entries.push({ ip, ifindexes: i % 3 === 0 ? null : [i % 5] });
    }
    const c = n.l2OwnedTest(entries);
    const t = tsTable(entries);
    for (let i = 0; i < 3100; i += 7) {
      const target = Buffer.alloc(4);
      target.writeUInt32BE(ipv4ToNumber(parseIPv4('10.0.0.0')) + i);
      agree(n, 'arp', buildArpRequest(client, parseIPv4(CLIENT_IP4), target), 60, { ifindex: i % 4, mac: eth0.mac }, c, t);
    }
  });
});
