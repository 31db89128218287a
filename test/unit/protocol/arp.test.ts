import fc from 'fast-check';
import { BROADCAST_MAC, formatIPv4, formatMac, parseIPv4, parseMac } from '../../../src/protocol/address';
import {
  ArpOperation,
  arpFrameBytes,
  buildArpReply,
  buildArpRequest,
  buildGratuitousArp,
  decodeArp,
  decodeArpFrame,
  encodeArp,
  ArpPacket,
} from '../../../src/protocol/arp';
import { BufferWriter } from '../../../src/protocol/buffer-writer';
import { decodeEthernet, encodeEthernetHeader, EtherType, etherTypeName } from '../../../src/protocol/ethernet';
import { arpReplyFrame, arpRequestFrame, CLIENT_MAC, hex, NODE_MAC } from './fixtures';

describe('Ethernet', () => {
  it('decodes the header of a captured frame', () => {
    const r = decodeEthernet(arpRequestFrame());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(formatMac(r.value.header.destination)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(r.value.header.source)).toBe(CLIENT_MAC);
    expect(etherTypeName(r.value.header.etherType)).toBe('ARP');
    expect(r.value.payload).toHaveLength(28);
  });

  it('decodes one 802.1Q tag', () => {
    const frame = hex('ffffffffffff', '020000000010', '8100', '0064', '0806', '00');
    const r = decodeEthernet(frame);
    expect(r.ok && r.value.header).toMatchObject({ vlan: 100, etherType: EtherType.ARP });
  });

  it('round-trips a header with and without a tag', () => {
    for (const vlan of [undefined, 42]) {
      const w = new BufferWriter();
      const h = { destination: parseMac(NODE_MAC), source: parseMac(CLIENT_MAC), etherType: EtherType.IPv6, ...(vlan ? { vlan } : {}) };
      encodeEthernetHeader(w, h);
      const r = decodeEthernet(w.toBuffer());
      expect(r.ok && r.value.header).toEqual(h);
    }
  });

  it.each([0, 1, 6, 13])('drops a %i-byte frame as truncated', (n) => {
    expect(decodeEthernet(arpRequestFrame().subarray(0, n))).toMatchObject({ ok: false, reason: 'truncated' });
  });
});

describe('ARP', () => {
  it('decodes a captured Linux request', () => {
    const r = decodeArpFrame(arpRequestFrame());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.value.arp;
    expect(p.operation).toBe(ArpOperation.Request);
    expect(formatMac(p.senderHardwareAddress)).toBe(CLIENT_MAC);
    expect(formatIPv4(p.senderProtocolAddress)).toBe('198.51.100.10');
    expect(formatMac(p.targetHardwareAddress)).toBe('00:00:00:00:00:00');
    expect(formatIPv4(p.targetProtocolAddress)).toBe('198.51.100.11');
  });

  it('builds the same reply the Linux kernel sent (plus padding to 60 bytes)', () => {
    const req = decodeArpFrame(arpRequestFrame());
    if (!req.ok) throw new Error('fixture');
    const reply = buildArpReply(req.value.arp, parseMac(NODE_MAC));
    expect(reply).toHaveLength(60);
    expect(reply.subarray(0, 42)).toEqual(arpReplyFrame());
    expect(reply.subarray(42).every((b) => b === 0)).toBe(true);
  });

  it('builds the same request the kernel sent', () => {
    const req = buildArpRequest(parseMac(CLIENT_MAC), parseIPv4('198.51.100.10'), parseIPv4('198.51.100.11'));
    expect(req.subarray(0, 42)).toEqual(arpRequestFrame());
  });

  it('builds gratuitous request and reply: broadcast, sender IP = target IP', () => {
    const [req, rep] = buildGratuitousArp(parseMac(NODE_MAC), parseIPv4('198.51.100.90'));
    for (const [frame, op] of [
      [req, ArpOperation.Request],
      [rep, ArpOperation.Reply],
    ] as const) {
      const r = decodeArpFrame(frame);
      if (!r.ok) throw new Error(r.reason);
      expect(r.value.ethernet.destination).toEqual(BROADCAST_MAC);
      expect(formatMac(r.value.ethernet.source)).toBe(NODE_MAC);
      expect(r.value.arp.operation).toBe(op);
      expect(formatIPv4(r.value.arp.senderProtocolAddress)).toBe('198.51.100.90');
      expect(formatIPv4(r.value.arp.targetProtocolAddress)).toBe('198.51.100.90');
      expect(formatMac(r.value.arp.senderHardwareAddress)).toBe(NODE_MAC);
    }
  });

  // Malformed input: each row changes one field of the captured request.
  const body = () => arpRequestFrame().subarray(14);
  const withByte = (b: Buffer, at: number, v: number) => {
    const c = Buffer.from(b);
    c[at] = v;
    return c;
  };
  it.each([
    { desc: 'wrong hardware type (IEEE 802 = 6)', input: withByte(body(), 1, 6), want: 'badHardwareType' },
    { desc: 'wrong protocol type', input: withByte(body(), 2, 0x86), want: 'badProtocolType' },
    { desc: 'hardware length 20 (IPoIB)', input: withByte(body(), 4, 20), want: 'badAddressLength' },
    { desc: 'protocol length 16', input: withByte(body(), 5, 16), want: 'badAddressLength' },
    { desc: 'operation 3 (RARP)', input: withByte(body(), 7, 3), want: 'badOperation' },
    { desc: 'truncated after the operation', input: body().subarray(0, 8), want: 'truncated' },
    { desc: 'truncated in the target address', input: body().subarray(0, 27), want: 'truncated' },
    { desc: 'empty', input: Buffer.alloc(0), want: 'truncated' },
  ])('drops $desc as $want', ({ input, want }) => {
    expect(decodeArp(input)).toMatchObject({ ok: false, reason: want });
  });

  it('drops a non-ARP frame', () => {
    const f = Buffer.from(arpRequestFrame());
    f.writeUInt16BE(EtherType.IPv4, 12);
    expect(decodeArpFrame(f)).toMatchObject({ ok: false, reason: 'notArp' });
  });

  it('respects an explicit length shorter than the buffer', () => {
    expect(decodeArpFrame(arpRequestFrame(), 41)).toMatchObject({ ok: false, reason: 'truncated' });
  });

  const arbPacket: fc.Arbitrary<ArpPacket> = fc.record({
    operation: fc.constantFrom(ArpOperation.Request, ArpOperation.Reply),
    senderHardwareAddress: fc.uint8Array({ minLength: 6, maxLength: 6 }).map(Buffer.from),
    senderProtocolAddress: fc.uint8Array({ minLength: 4, maxLength: 4 }).map(Buffer.from),
    targetHardwareAddress: fc.uint8Array({ minLength: 6, maxLength: 6 }).map(Buffer.from),
    targetProtocolAddress: fc.uint8Array({ minLength: 4, maxLength: 4 }).map(Buffer.from),
  });

  it('property: encode then decode gives the packet back', () => {
    fc.assert(
      fc.property(arbPacket, (p) => {
        const w = new BufferWriter();
        encodeArp(w, p);
        expect(w.offset).toBe(28);
        const r = decodeArp(w.toBuffer());
        expect(r).toEqual({ ok: true, value: p });
      }),
    );
  });

  it('property: frames round-trip and a successful decode re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(arbPacket, fc.uint8Array({ minLength: 6, maxLength: 6 }), (p, dst) => {
        const frame = arpFrameBytes({ ethernet: { destination: Buffer.from(dst), source: p.senderHardwareAddress, etherType: EtherType.ARP }, arp: p });
        const r = decodeArpFrame(frame);
        if (!r.ok) throw new Error(r.reason);
        expect(arpFrameBytes(r.value)).toEqual(frame);
      }),
    );
  });

  it('property: arbitrary bytes never throw out of the decoders', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const a = decodeArp(bytes);
        const b = decodeArpFrame(bytes);
        expect(typeof a.ok).toBe('boolean');
        expect(typeof b.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
