import fc from 'fast-check';
import { formatIPv6, formatMac, parseIPv6, parseMac } from '../../../src/protocol/address';
import { BufferWriter } from '../../../src/protocol/buffer-writer';
import { decodeIcmpv6, icmpv6Checksum, verifyIcmpv6Checksum } from '../../../src/protocol/icmpv6';
import { decodeIpv6, encodeIpv6Header, Ipv6Header, NextHeader } from '../../../src/protocol/ipv6';
import {
  ALL_NODES_MAC,
  buildNeighborAdvertisement,
  buildNeighborSolicitation,
  buildUnsolicitedNeighborAdvertisement,
  decodeNdpFrame,
  decodeNdpMessage,
  encodeNdpMessage,
  findLinkLayerAddress,
  isSolicitedNodeMulticastOf,
  NdpMessage,
  NdpOption,
  ndpFrameBytes,
  solicitedNodeMac,
  solicitedNodeMulticast,
} from '../../../src/protocol/ndp';
import { CLIENT_MAC, hex, neighborAdvertisementFrame, neighborSolicitationFrame, NODE_MAC } from './fixtures';

const CLIENT_IP = '2001:db8:100::10';
const NODE_IP = '2001:db8:100::11';

describe('IPv6 header', () => {
  it('decodes the captured NS header and cuts the payload to payloadLength', () => {
    const padded = Buffer.concat([neighborSolicitationFrame().subarray(14), Buffer.alloc(10)]);
    const r = decodeIpv6(padded);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.header).toMatchObject({ payloadLength: 32, nextHeader: NextHeader.ICMPv6, hopLimit: 255, trafficClass: 0, flowLabel: 0 });
    expect(formatIPv6(r.value.header.source)).toBe(CLIENT_IP);
    expect(formatIPv6(r.value.header.destination)).toBe('ff02::1:ff00:11');
    expect(r.value.payload).toHaveLength(32);
  });

  it.each([
    { desc: 'version 4', mutate: (b: Buffer) => (b[0] = 0x45), want: 'badVersion' },
    { desc: 'payload length beyond the data', mutate: (b: Buffer) => b.writeUInt16BE(200, 4), want: 'badPayloadLength' },
  ])('drops $desc', ({ mutate, want }) => {
    const b = Buffer.from(neighborSolicitationFrame().subarray(14));
    mutate(b);
    expect(decodeIpv6(b)).toMatchObject({ ok: false, reason: want });
  });

  it('drops a truncated header', () => {
    expect(decodeIpv6(neighborSolicitationFrame().subarray(14, 50))).toMatchObject({ ok: false, reason: 'truncated' });
  });

  it('property: header round-trips', () => {
    const arb: fc.Arbitrary<Ipv6Header> = fc.record({
      trafficClass: fc.integer({ min: 0, max: 255 }),
      flowLabel: fc.integer({ min: 0, max: 0xfffff }),
      payloadLength: fc.constant(0),
      nextHeader: fc.integer({ min: 0, max: 255 }),
      hopLimit: fc.integer({ min: 0, max: 255 }),
      source: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(Buffer.from),
      destination: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(Buffer.from),
    });
    fc.assert(
      fc.property(arb, (h) => {
        const w = new BufferWriter();
        encodeIpv6Header(w, h);
        const r = decodeIpv6(w.toBuffer());
        expect(r.ok && r.value.header).toEqual(h);
      }),
    );
  });
});

describe('ICMPv6 checksum', () => {
  const icmp = (f: Buffer) => f.subarray(54);
  const src = (f: Buffer) => f.subarray(22, 38);
  const dst = (f: Buffer) => f.subarray(38, 54);

  it('verifies the kernel checksums of the captured NS and NA', () => {
    for (const f of [neighborSolicitationFrame(), neighborAdvertisementFrame()]) {
      expect(verifyIcmpv6Checksum(src(f), dst(f), icmp(f))).toBe(true);
    }
  });

  it('recomputes the captured checksum value', () => {
    const f = Buffer.from(neighborSolicitationFrame());
    const m = Buffer.from(icmp(f));
    m.writeUInt16BE(0, 2);
    expect(icmpv6Checksum(src(f), dst(f), m)).toBe(0x19eb);
  });

  it('handles odd lengths (pads the last byte with zero)', () => {
    const s = parseIPv6('::1');
    const m = hex('80 00 0000 0001 0001 ab');
    m.writeUInt16BE(icmpv6Checksum(s, s, m), 2);
    expect(verifyIcmpv6Checksum(s, s, m)).toBe(true);
  });

  it('reports a bad checksum as a drop reason', () => {
    const f = Buffer.from(neighborSolicitationFrame());
    f[56] ^= 0xff;
    expect(decodeIcmpv6(src(f), dst(f), icmp(f))).toMatchObject({ ok: false, reason: 'badChecksum' });
    expect(decodeNdpFrame(f)).toMatchObject({ ok: false, reason: 'badChecksum' });
  });

  it('a checksum over the wrong pseudo-header fails', () => {
    const f = neighborSolicitationFrame();
    expect(verifyIcmpv6Checksum(dst(f), src(f).map((x) => x ^ 1), icmp(f))).toBe(false);
  });
});

describe('NDP', () => {
  it('decodes the captured NS', () => {
    const r = decodeNdpFrame(neighborSolicitationFrame());
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.message.type).toBe('neighborSolicitation');
    expect(formatIPv6(r.value.message.targetAddress)).toBe(NODE_IP);
    expect(formatMac(findLinkLayerAddress(r.value.message.options, 'sourceLinkLayerAddress')!)).toBe(CLIENT_MAC);
  });

  it('decodes the captured NA', () => {
    const r = decodeNdpFrame(neighborAdvertisementFrame());
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.message).toMatchObject({ type: 'neighborAdvertisement', router: false, solicited: true, override: true });
    expect(formatMac(findLinkLayerAddress(r.value.message.options, 'targetLinkLayerAddress')!)).toBe(NODE_MAC);
  });

  it('builds byte-identical NS and NA to the kernel ones', () => {
    expect(buildNeighborSolicitation({ sourceMac: parseMac(CLIENT_MAC), sourceIp: parseIPv6(CLIENT_IP), target: parseIPv6(NODE_IP) })).toEqual(
      neighborSolicitationFrame(),
    );
    expect(
      buildNeighborAdvertisement({
        sourceMac: parseMac(NODE_MAC),
        destinationMac: parseMac(CLIENT_MAC),
        sourceIp: parseIPv6(NODE_IP),
        destinationIp: parseIPv6(CLIENT_IP),
        target: parseIPv6(NODE_IP),
        solicited: true,
        override: true,
      }),
    ).toEqual(neighborAdvertisementFrame());
  });

  it('solicited-node multicast address and MAC', () => {
    const a = parseIPv6('2001:db8:100::1:2345:6789');
    expect(formatIPv6(solicitedNodeMulticast(a))).toBe('ff02::1:ff45:6789');
    expect(formatMac(solicitedNodeMac(a))).toBe('33:33:ff:45:67:89');
    expect(isSolicitedNodeMulticastOf(parseIPv6('ff02::1:ff45:6789'), a)).toBe(true);
    expect(isSolicitedNodeMulticastOf(parseIPv6('ff02::1:ff45:6788'), a)).toBe(false);
    expect(isSolicitedNodeMulticastOf(parseIPv6('ff05::1:ff45:6789'), a)).toBe(false);
  });

  it('unsolicited NA goes to all nodes with Override=1 Solicited=0', () => {
    const f = buildUnsolicitedNeighborAdvertisement(parseMac(NODE_MAC), parseIPv6('2001:db8:100::90'), parseIPv6('2001:db8:100::90'));
    const r = decodeNdpFrame(f);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.ethernet.destination).toEqual(ALL_NODES_MAC);
    expect(formatIPv6(r.value.ipv6.destination)).toBe('ff02::1');
    expect(r.value.ipv6.hopLimit).toBe(255);
    expect(r.value.message).toMatchObject({ type: 'neighborAdvertisement', solicited: false, override: true, router: false });
  });

  // Malformed and invalid inputs, each derived from the captured NS (checksum fixed up unless the
  // row is about the checksum).
  function mutateNs(mutate: (f: Buffer) => void, fixChecksum = true): Buffer {
    const f = Buffer.from(neighborSolicitationFrame());
    mutate(f);
    if (fixChecksum) {
      const len = f.readUInt16BE(18);
      const m = f.subarray(54, 54 + len);
      m.writeUInt16BE(0, 2);
      m.writeUInt16BE(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), m), 2);
    }
    return f;
  }
  it.each([
    { desc: 'hop limit 64 (forwarded from off-link)', input: () => mutateNs((f) => (f[21] = 64)), want: 'badHopLimit' },
    { desc: 'code 1', input: () => mutateNs((f) => (f[55] = 1)), want: 'badCode' },
    { desc: 'multicast target', input: () => mutateNs((f) => (f[62] = 0xff)), want: 'badTargetAddress' },
    { desc: 'option with length 0', input: () => mutateNs((f) => (f[79] = 0)), want: 'badOption' },
    { desc: 'option longer than the packet', input: () => mutateNs((f) => (f[79] = 2)), want: 'badOption' },
    { desc: 'bad checksum', input: () => mutateNs((f) => (f[56] ^= 1), false), want: 'badChecksum' },
    { desc: 'next header TCP', input: () => mutateNs((f) => (f[20] = 6), false), want: 'notIcmpv6' },
    { desc: 'echo request instead of NS', input: () => mutateNs((f) => (f[54] = 128)), want: 'unsupportedType' },
    { desc: 'not IPv6', input: () => mutateNs((f) => f.writeUInt16BE(0x0800, 12), false), want: 'notIpv6' },
    { desc: 'truncated in the target', input: () => neighborSolicitationFrame().subarray(0, 70), want: 'badPayloadLength' },
    { desc: 'truncated in the header', input: () => neighborSolicitationFrame().subarray(0, 30), want: 'truncated' },
    {
      desc: 'DAD NS (source ::) with a source link-layer option',
      input: () => mutateNs((f) => f.fill(0, 22, 38)),
      want: 'badSource',
    },
  ])('drops $desc as $want', ({ input, want }) => {
    expect(decodeNdpFrame(input())).toMatchObject({ ok: false, reason: want });
  });

  it('accepts a DAD NS without options', () => {
    const f = buildNeighborSolicitation({ sourceMac: parseMac(CLIENT_MAC), sourceIp: parseIPv6('::'), target: parseIPv6(NODE_IP) });
    const r = decodeNdpFrame(f);
    expect(r.ok && r.value.message.options).toEqual([]);
  });

  it('keeps unknown options byte for byte (raw fallback)', () => {
    const m: NdpMessage = {
      type: 'neighborSolicitation',
      targetAddress: parseIPv6(NODE_IP),
      options: [{ kind: 'raw', type: 14, data: hex('010203040506') }],
    };
    const w = new BufferWriter();
    encodeNdpMessage(w, m);
    expect(decodeNdpMessage(w.toBuffer())).toEqual({ ok: true, value: m });
  });

  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map(Buffer.from);
  const unicast6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
    const x = Buffer.from(b);
    if (x[0] === 0xff) x[0] = 0x20;
    return x;
  });
  const option: fc.Arbitrary<NdpOption> = fc.oneof(
    mac.map((address) => ({ kind: 'sourceLinkLayerAddress' as const, address })),
    mac.map((address) => ({ kind: 'targetLinkLayerAddress' as const, address })),
    fc
      .tuple(fc.integer({ min: 3, max: 255 }), fc.integer({ min: 1, max: 4 }))
      .chain(([type, units]) => fc.uint8Array({ minLength: units * 8 - 2, maxLength: units * 8 - 2 }).map((d) => ({ kind: 'raw' as const, type, data: Buffer.from(d) }))),
  );
  const message: fc.Arbitrary<NdpMessage> = fc.oneof(
    fc.record({ type: fc.constant('neighborSolicitation' as const), targetAddress: unicast6, options: fc.array(option, { maxLength: 4 }) }),
    fc.record({
      type: fc.constant('neighborAdvertisement' as const),
      router: fc.boolean(),
      solicited: fc.boolean(),
      override: fc.boolean(),
      targetAddress: unicast6,
      options: fc.array(option, { maxLength: 4 }),
    }),
  );

  it('property: messages round-trip through whole frames with a valid checksum', () => {
    fc.assert(
      fc.property(message, mac, mac, unicast6, unicast6, (m, srcMac, dstMac, src, dst) => {
        const frame = ndpFrameBytes({ sourceMac: srcMac, destinationMac: dstMac, sourceIp: src, destinationIp: dst, message: m });
        const r = decodeNdpFrame(frame);
        if (!r.ok) throw new Error(`${r.reason} ${r.detail ?? ''}`);
        expect(r.value.message).toEqual(m);
        expect(ndpFrameBytes({ sourceMac: srcMac, destinationMac: dstMac, sourceIp: src, destinationIp: dst, message: r.value.message })).toEqual(frame);
      }),
    );
  });

  it('property: arbitrary bytes (and mutated valid frames) never throw out of decodeNdpFrame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        expect(typeof decodeNdpFrame(bytes).ok).toBe('boolean');
        expect(typeof decodeNdpMessage(bytes).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 85 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 86 }), (at, v, len) => {
        const f = Buffer.from(neighborSolicitationFrame());
        f[at] = v;
        expect(typeof decodeNdpFrame(f, len).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
