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

describe('issue 14 item 7: reflection and floods', () => {
  const arpFrom = (sha: string, target = VIP4, ethSource = sha) => {
    const f = buildArpRequest(parseMac(CLIENT_MAC), parseIPv4(CLIENT_IP4), parseIPv4(target));
    parseMac(ethSource).copy(f, 6); // Ethernet source
    parseMac(sha).copy(f, 22); // sender hardware address: where the reply would go
    return f;
  };

  it.each([
    ['broadcast', 'ff:ff:ff:ff:ff:ff'],
    ['IPv4 multicast', '01:00:5e:00:00:01'],
    ['IPv6 multicast', '33:33:00:00:00:01'],
    ['all-zero', '00:00:00:00:00:00'],
  ])('refuses an ARP request whose sender hardware address is %s (no reply to be reflected)', (_what, mac) => {
    expect(answerArp(arpFrom(mac), 60, eth0, owned(), Buffer.alloc(64))).toBe('badSender');
  });

  it('refuses an ARP request from a multicast Ethernet source', () => {
    expect(answerArp(arpFrom(CLIENT_MAC, VIP4, '01:00:5e:00:00:01'), 60, eth0, owned(), Buffer.alloc(64))).toBe('badSender');
  });

  it('still answers a locally administered unicast sender (02:...)', () => {
    expect(answerArp(arpFrom('02:00:00:00:00:42'), 60, eth0, owned(), Buffer.alloc(64))).toBe(60);
  });

  /** An NS from the client for `target`, its SLLA option set to `slla`. */
  const nsWithSlla = (slla: string, target = VIP6) => {
    const f = buildNeighborSolicitation({ sourceMac: client, sourceIp: parseIPv6(CLIENT_IP6), target: parseIPv6(target) });
    // The SLLA option is the last 8 bytes (type 1, length 1, MAC); the checksum is recomputed by
    // hand so that only the address differs from a valid solicitation.
    parseMac(slla).copy(f, f.length - 6);
    f.writeUInt16BE(0, 56);
    let sum = 0;
    const add16 = (b: Buffer, from: number, to: number) => {
      for (let i = from; i < to; i += 2) sum += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
    };
    add16(f, 22, 54); // source and destination addresses
    sum += f.length - 54 + 58; // upper-layer length + next header
    add16(f, 54, f.length);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    f.writeUInt16BE(~sum & 0xffff, 56);
    return f;
  };

  it('the hand checksum above is right: a unicast SLLA is answered', () => {
    const r = answerNdp(nsWithSlla('02:00:00:00:00:42'), 86, eth0, owned(), new BufferWriter(Buffer.alloc(256)));
    expect(r).toBe(86);
  });

  it.each([
    ['broadcast', 'ff:ff:ff:ff:ff:ff'],
    ['multicast', '33:33:00:00:00:01'],
    ['all-zero', '00:00:00:00:00:00'],
  ])('refuses an NS whose source link-layer address is %s', (_what, mac) => {
    const f = nsWithSlla(mac);
    expect(answerNdp(f, f.length, eth0, owned(), new BufferWriter(Buffer.alloc(256)))).toBe('badSender');
  });

  it('decides ownership before the checksum: an NS for an address we do not own is notOwned even when corrupt', () => {
    const f = buildNeighborSolicitation({ sourceMac: client, sourceIp: parseIPv6(CLIENT_IP6), target: parseIPv6('2001:db8:100::99') });
    f[57] ^= 0x55; // checksum
    expect(answerNdp(f, f.length, eth0, owned(), new BufferWriter(Buffer.alloc(256)))).toBe('notOwned');
  });

  it('decides ownership before the options: an NS for an address we do not own with a broken option is notOwned', () => {
    const f = buildNeighborSolicitation({ sourceMac: client, sourceIp: parseIPv6(CLIENT_IP6), target: parseIPv6('2001:db8:100::99') });
    f[79] = 0; // option length 0: must be discarded (RFC 4861 §4.6)
    expect(answerNdp(f, f.length, eth0, owned(), new BufferWriter(Buffer.alloc(256)))).toBe('notOwned');
  });

  it('decides ownership before the ARP destination and source checks', () => {
    expect(answerArp(arpReq('198.51.100.99', '02:00:00:00:00:99'), 60, eth0, owned(), Buffer.alloc(64))).toBe('notOwned');
  });
});

describe('OwnedAddresses (IPv6 keyed by the low 32 bits, then compared whole)', () => {
  it('keeps addresses that share their low 32 bits apart', () => {
    const o = new OwnedAddresses();
    o.setV6(parseIPv6('2001:db8:1::90'), new Set([2]));
    o.setV6(parseIPv6('2001:db8:2::90'), new Set([3]));
    expect(o.sizeV6).toBe(2);
    expect(o.checkV6(parseIPv6('2001:db8:1::90'), 2)).toBe('ok');
    expect(o.checkV6(parseIPv6('2001:db8:2::90'), 2)).toBe('interfaceNotAllowed');
    expect(o.checkV6(parseIPv6('2001:db8:3::90'), 2)).toBe('notOwned');
    o.setV6(parseIPv6('2001:db8:1::90')); // update in place, no duplicate
    expect(o.sizeV6).toBe(2);
    expect(o.deleteV6(parseIPv6('2001:db8:1::90'))).toBe(true);
    expect(o.deleteV6(parseIPv6('2001:db8:1::90'))).toBe(false);
    expect(o.checkV6(parseIPv6('2001:db8:2::90'), 3)).toBe('ok');
    expect(o.sizeV6).toBe(1);
  });

  it('reads the address in place at an offset', () => {
    const o = new OwnedAddresses();
    o.setV6(parseIPv6(VIP6));
    const frame = Buffer.concat([Buffer.alloc(62), parseIPv6(VIP6)]);
    expect(o.checkV6(frame, 1, 62)).toBe('ok');
  });
});

describe('found by the frame fuzzer', () => {
  it('refuses an NS from a multicast IPv6 source (RFC 4291 §2.7): its answer would go to a group', () => {
    // The fuzzer's input: a DAD probe whose source :: became ff00:: (checksum fixed up).
    const f = Buffer.from(
      '3333ff00009002000000001086dd6000000000183affff000000000000000000000000000000ff0200000000000000000001ff00009087004bce0000000020010db8010000000000000000000090',
      'hex',
    );
    expect(decodeNdpFrame(f)).toMatchObject({ ok: false, reason: 'badSource' });
    expect(answerNdp(f, f.length, eth0, owned(), new BufferWriter(Buffer.alloc(256)))).toBe('malformed');
  });
});
