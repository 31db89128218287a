import fc from 'fast-check';
import { formatIPv4, formatIPv6, formatMac, parseIPv4, parseIPv6, parseMac } from '../../../src/protocol/address';
import { ArpOperation, buildArpRequest, buildGratuitousArp, decodeArpFrame } from '../../../src/protocol/arp';
import { BufferWriter } from '../../../src/protocol/buffer-writer';
import { answerArp, answerNdp, L2DropReason, OwnedAddresses, ResponderInterfaceView } from '../../../src/protocol/l2-responder';
import { buildNeighborAdvertisement, buildNeighborSolicitation, decodeNdpFrame, findLinkLayerAddress, solicitedNodeMulticast } from '../../../src/protocol/ndp';
import { arpReplyFrame, arpRequestFrame, CLIENT_MAC, NODE_MAC } from './fixtures';

const VIP4 = '198.51.100.90';
const VIP6 = '2001:db8:100::90';
const CLIENT_IP4 = '198.51.100.10';
const CLIENT_IP6 = '2001:db8:100::10';
const eth0: ResponderInterfaceView = { ifindex: 2, mac: parseMac(NODE_MAC) };
const eth1: ResponderInterfaceView = { ifindex: 3, mac: parseMac('02:00:00:00:01:11') };

function owned(): OwnedAddresses {
  const o = new OwnedAddresses();
  o.setV4(parseIPv4(VIP4));
  o.setV6(parseIPv6(VIP6));
  o.setV4(parseIPv4('198.51.100.91'), new Set([3])); // only on eth1
  o.setV6(parseIPv6('2001:db8:100::91'), new Set([3]));
  return o;
}

const client = parseMac(CLIENT_MAC);
const arpReq = (target: string, to?: string) => buildArpRequest(client, parseIPv4(CLIENT_IP4), parseIPv4(target), to ? parseMac(to) : undefined);

describe('answerArp', () => {
  it('answers a broadcast request for an owned address with a unicast reply from the interface MAC', () => {
    const out = Buffer.alloc(64);
    const n = answerArp(arpReq(VIP4), 60, eth0, owned(), out);
    expect(n).toBe(60);
    const r = decodeArpFrame(out, n as number);
    if (!r.ok) throw new Error(r.reason);
    expect(formatMac(r.value.ethernet.destination)).toBe(CLIENT_MAC);
    expect(formatMac(r.value.ethernet.source)).toBe(NODE_MAC);
    expect(r.value.arp.operation).toBe(ArpOperation.Reply);
    expect(formatMac(r.value.arp.senderHardwareAddress)).toBe(NODE_MAC);
    expect(formatIPv4(r.value.arp.senderProtocolAddress)).toBe(VIP4);
    expect(formatMac(r.value.arp.targetHardwareAddress)).toBe(CLIENT_MAC);
    expect(formatIPv4(r.value.arp.targetProtocolAddress)).toBe(CLIENT_IP4);
  });

  it('produces what the kernel produced for the captured request (padded)', () => {
    const o = new OwnedAddresses();
    o.setV4(parseIPv4('198.51.100.11'));
    const out = Buffer.alloc(64, 0xaa);
    expect(answerArp(arpRequestFrame(), 42, eth0, o, out)).toBe(60);
    expect(out.subarray(0, 42)).toEqual(arpReplyFrame());
    expect(out.subarray(42, 60).every((b) => b === 0)).toBe(true);
  });

  it('answers a unicast request addressed to our MAC', () => {
    expect(answerArp(arpReq(VIP4, NODE_MAC), 60, eth0, owned(), Buffer.alloc(64))).toBe(60);
  });

  const table: Array<{ desc: string; frame: () => Buffer; iface?: ResponderInterfaceView; len?: number; want: L2DropReason }> = [
    { desc: 'a request for an address we do not own', frame: () => arpReq('198.51.100.99'), want: 'notOwned' },
    { desc: 'a request for an address limited to another interface', frame: () => arpReq('198.51.100.91'), want: 'interfaceNotAllowed' },
    { desc: 'a reply', frame: () => arpReplyFrame(), want: 'notRequest' },
    { desc: 'a gratuitous reply', frame: () => buildGratuitousArp(client, parseIPv4(VIP4))[1], want: 'notRequest' },
    { desc: 'a request unicast to another MAC', frame: () => arpReq(VIP4, '02:00:00:00:00:99'), want: 'badDst' },
    { desc: 'our own gratuitous request', frame: () => buildGratuitousArp(eth0.mac, parseIPv4(VIP4))[0], want: 'ownPacket' },
    { desc: 'a truncated frame', frame: () => arpReq(VIP4), len: 41, want: 'malformed' },
    {
      desc: 'a wrong hardware type',
      frame: () => {
        const f = arpReq(VIP4);
        f[15] = 6;
        return f;
      },
      want: 'malformed',
    },
    {
      desc: 'a 20-byte hardware address length',
      frame: () => {
        const f = arpReq(VIP4);
        f[18] = 20;
        return f;
      },
      want: 'malformed',
    },
  ];
  it.each(table)('drops $desc ($want)', ({ frame, iface, len, want }) => {
    const f = frame();
    expect(answerArp(f, len ?? f.length, iface ?? eth0, owned(), Buffer.alloc(64))).toBe(want);
  });

  it('answers the interface-limited address on its own interface', () => {
    expect(answerArp(arpReq('198.51.100.91'), 60, eth1, owned(), Buffer.alloc(64))).toBe(60);
  });

  it('stops answering the moment an address is deleted', () => {
    const o = owned();
    o.deleteV4(parseIPv4(VIP4));
    expect(answerArp(arpReq(VIP4), 60, eth0, o, Buffer.alloc(64))).toBe('notOwned');
  });

  it('does not allocate a new buffer: the reply lands in `out`', () => {
    const out = Buffer.alloc(64);
    answerArp(arpReq(VIP4), 60, eth0, owned(), out);
    expect(out.readUInt16BE(20)).toBe(ArpOperation.Reply);
  });

  it('property: never throws, whatever the bytes and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -5, max: 100 }), (bytes, len) => {
        const r = answerArp(bytes, len, eth0, owned(), Buffer.alloc(64));
        expect(typeof r === 'number' || typeof r === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('answerNdp', () => {
  const ns = (opts: { target?: string; unicast?: boolean; slla?: boolean; src?: string; ethDst?: string } = {}) => {
    const target = parseIPv6(opts.target ?? VIP6);
    return buildNeighborSolicitation({
      sourceMac: client,
      sourceIp: parseIPv6(opts.src ?? CLIENT_IP6),
      target,
      destinationIp: opts.unicast ? target : undefined,
      destinationMac: opts.ethDst ? parseMac(opts.ethDst) : opts.unicast ? eth0.mac : undefined,
      includeSourceLinkLayer: opts.slla,
    });
  };
  const answer = (f: Buffer, iface = eth0, o = owned()) => {
    const w = new BufferWriter(Buffer.alloc(256));
    const r = answerNdp(f, f.length, iface, o, w);
    return { r, frame: typeof r === 'number' ? Buffer.from(w.view(0, r)) : undefined };
  };

  function expectNa(frame: Buffer | undefined, want: { ethDst: string; ipDst: string; solicited: boolean }) {
    const d = decodeNdpFrame(frame!);
    if (!d.ok) throw new Error(d.reason);
    const m = d.value.message;
    if (m.type !== 'neighborAdvertisement') throw new Error('not an NA');
    expect(formatMac(d.value.ethernet.destination)).toBe(want.ethDst);
    expect(formatMac(d.value.ethernet.source)).toBe(NODE_MAC);
    expect(formatIPv6(d.value.ipv6.destination)).toBe(want.ipDst);
    expect(formatIPv6(d.value.ipv6.source)).toBe(VIP6);
    expect(d.value.ipv6.hopLimit).toBe(255);
    expect(m).toMatchObject({ solicited: want.solicited, override: true, router: false });
    expect(formatIPv6(m.targetAddress)).toBe(VIP6);
    expect(formatMac(findLinkLayerAddress(m.options, 'targetLinkLayerAddress')!)).toBe(NODE_MAC);
  }

  it('answers a multicast NS with SLLA: NA S=1 O=1 to the SLLA', () => {
    const { r, frame } = answer(ns());
    expect(typeof r).toBe('number');
    expectNa(frame, { ethDst: CLIENT_MAC, ipDst: CLIENT_IP6, solicited: true });
  });

  it('answers a unicast NUD probe without SLLA, to the Ethernet source', () => {
    const { frame } = answer(ns({ unicast: true, slla: false }));
    expectNa(frame, { ethDst: CLIENT_MAC, ipDst: CLIENT_IP6, solicited: true });
  });

  it('answers a unicast NUD probe with SLLA', () => {
    const { frame } = answer(ns({ unicast: true, slla: true }));
    expectNa(frame, { ethDst: CLIENT_MAC, ipDst: CLIENT_IP6, solicited: true });
  });

  it('defends against DAD for an owned address: NA to all nodes, S=0', () => {
    const { frame } = answer(ns({ src: '::' }));
    expectNa(frame, { ethDst: '33:33:00:00:00:01', ipDst: 'ff02::1', solicited: false });
  });

  const table: Array<{ desc: string; frame: () => Buffer; want: L2DropReason }> = [
    { desc: 'an NS for an address we do not own', frame: () => ns({ target: '2001:db8:100::99' }), want: 'notOwned' },
    { desc: 'an NS for an address limited to another interface', frame: () => ns({ target: '2001:db8:100::91' }), want: 'interfaceNotAllowed' },
    {
      desc: 'an NA',
      frame: () =>
        buildNeighborAdvertisement({
          sourceMac: client,
          destinationMac: eth0.mac,
          sourceIp: parseIPv6(CLIENT_IP6),
          destinationIp: parseIPv6(VIP6),
          target: parseIPv6(CLIENT_IP6),
          solicited: true,
          override: true,
        }),
      want: 'notRequest',
    },
    { desc: 'a unicast NS to another MAC', frame: () => ns({ unicast: true, ethDst: '02:00:00:00:00:99' }), want: 'badDst' },
    { desc: 'a multicast NS with a non-matching Ethernet group', frame: () => ns({ ethDst: '33:33:ff:00:00:91' }), want: 'badDst' },
    {
      desc: 'an NS to another solicited-node group',
      frame: () =>
        buildNeighborSolicitation({
          sourceMac: client,
          sourceIp: parseIPv6(CLIENT_IP6),
          target: parseIPv6(VIP6),
          destinationIp: solicitedNodeMulticast(parseIPv6('2001:db8::1:2:3')),
        }),
      want: 'badDst',
    },
    {
      desc: 'our own NS',
      frame: () => buildNeighborSolicitation({ sourceMac: eth0.mac, sourceIp: parseIPv6(CLIENT_IP6), target: parseIPv6(VIP6) }),
      want: 'ownPacket',
    },
    {
      desc: 'an NS with a bad checksum',
      frame: () => {
        const f = ns();
        f[57] ^= 0x55;
        return f;
      },
      want: 'malformed',
    },
    { desc: 'a truncated NS', frame: () => ns().subarray(0, 70), want: 'malformed' },
  ];
  it.each(table)('drops $desc ($want)', ({ frame, want }) => {
    expect(answer(frame()).r).toBe(want);
  });

  it('property: never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 140 }), (bytes) => {
        const r = answerNdp(bytes, bytes.length, eth0, owned(), new BufferWriter(Buffer.alloc(256)));
        expect(typeof r === 'number' || typeof r === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('OwnedAddresses', () => {
  it('tracks per-family entries and interface limits', () => {
    const o = owned();
    expect(o.sizeV4).toBe(2);
    expect(o.sizeV6).toBe(2);
    expect(o.checkV6(parseIPv6(VIP6), 9)).toBe('ok');
    expect(o.checkV6(parseIPv6('2001:db8:100::91'), 2)).toBe('interfaceNotAllowed');
    expect(o.deleteV6(parseIPv6(VIP6))).toBe(true);
    expect(o.checkV6(parseIPv6(VIP6), 2)).toBe('notOwned');
    o.clear();
    expect(o.sizeV4 + o.sizeV6).toBe(0);
  });

  it('keys IPv6 by value, not by buffer identity or offset', () => {
    const o = new OwnedAddresses();
    o.setV6(parseIPv6(VIP6));
    const embedded = Buffer.concat([Buffer.alloc(7), parseIPv6(VIP6)]).subarray(7);
    expect(o.checkV6(embedded, 1)).toBe('ok');
  });
});
