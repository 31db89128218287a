import {
  arpFilter,
  arpFilterFor,
  arpReplyFilter,
  arpRequestFilter,
  MAX_FILTER_INSTRUCTIONS,
  MAX_FILTERED_ARP_ADDRESSES,
  MAX_FILTERED_NDP_ADDRESSES,
  matchAll,
  neighborAdvertisementFilter,
  neighborDiscoveryFilter,
  neighborDiscoveryFilterFor,
  neighborSolicitationFilter,
  runFilter,
} from '../../../src/net/bpf';
import { arpReplyFrame, arpRequestFrame, neighborAdvertisementFrame, neighborSolicitationFrame } from '../protocol/fixtures';

describe('socket filters', () => {
  it('ARP request filter: requests in, replies and IPv6 out', () => {
    const f = arpRequestFilter();
    expect(runFilter(f, arpRequestFrame())).toBeGreaterThan(0);
    expect(runFilter(f, arpReplyFrame())).toBe(0);
    expect(runFilter(f, neighborSolicitationFrame())).toBe(0);
  });

  it('ARP reply filter is the converse', () => {
    expect(runFilter(arpReplyFilter(), arpReplyFrame())).toBeGreaterThan(0);
    expect(runFilter(arpReplyFilter(), arpRequestFrame())).toBe(0);
  });

  it('NS filter: Neighbor Solicitations in, advertisements and ARP out', () => {
    const f = neighborSolicitationFilter();
    expect(runFilter(f, neighborSolicitationFrame())).toBeGreaterThan(0);
    expect(runFilter(f, neighborAdvertisementFrame())).toBe(0);
    expect(runFilter(f, arpRequestFrame())).toBe(0);
    expect(runFilter(neighborAdvertisementFilter(), neighborAdvertisementFrame())).toBeGreaterThan(0);
  });

  it('drops frames too short to hold the checked fields (kernel semantics)', () => {
    expect(runFilter(neighborSolicitationFilter(), neighborSolicitationFrame().subarray(0, 54))).toBe(0);
    expect(runFilter(arpRequestFilter(), arpRequestFrame().subarray(0, 21))).toBe(0);
  });

  it('drops IPv6 packets that are not ICMPv6 even if byte 54 looks like NS', () => {
    const f = Buffer.from(neighborSolicitationFrame());
    f[20] = 6; // TCP
    expect(runFilter(neighborSolicitationFilter(), f)).toBe(0);
  });

  it('emits well-formed instructions with in-range jumps', () => {
    const prog = matchAll([
      { offset: 12, size: 2, value: 1 },
      { offset: 14, size: 1, value: 2 },
      { offset: 20, size: 2, value: 3 },
    ]);
    prog.forEach(([code, jt, jf, k], pc) => {
      expect(code).toBeLessThanOrEqual(0xffff);
      expect(pc + 1 + jt).toBeLessThanOrEqual(prog.length);
      expect(pc + 1 + jf).toBeLessThanOrEqual(prog.length);
      expect(k).toBeGreaterThanOrEqual(0);
    });
  });
});

describe('arpFilterFor: ARP requests only for the addresses of interest (a flood for others is dropped in the kernel)', () => {
  /** An ARP frame (fixtures layout): operation at 20, sender protocol address at 28, target at 38. */
  function arp(op: number, sender: number[], target: number[]): Buffer {
    const f = Buffer.from(arpRequestFrame());
    f.writeUInt16BE(op, 20);
    Buffer.from(sender).copy(f, 28);
    Buffer.from(target).copy(f, 38);
    return f;
  }
  const ip = (...b: number[]): Uint8Array => Uint8Array.from(b);
  const OWNED = [ip(198, 51, 100, 90), ip(198, 51, 100, 91)];
  const CLIENT = [198, 51, 100, 10];

  it('passes requests whose target or sender is of interest, every reply, nothing else', () => {
    const f = arpFilterFor(OWNED);
    expect(runFilter(f, arp(1, CLIENT, [198, 51, 100, 90]))).toBeGreaterThan(0);
    expect(runFilter(f, arp(1, CLIENT, [198, 51, 100, 91]))).toBeGreaterThan(0);
    // A host using our address asks for its gateway: sender is ours (a conflict to see).
    expect(runFilter(f, arp(1, [198, 51, 100, 90], [198, 51, 100, 1]))).toBeGreaterThan(0);
    // An RFC 5227 probe for ours: sender 0.0.0.0, target ours.
    expect(runFilter(f, arp(1, [0, 0, 0, 0], [198, 51, 100, 91]))).toBeGreaterThan(0);
    expect(runFilter(f, arp(1, CLIENT, [198, 51, 100, 92]))).toBe(0);
    expect(runFilter(f, arp(1, CLIENT, [198, 51, 100, 89]))).toBe(0);
    expect(runFilter(f, arp(2, [203, 0, 113, 7], [198, 51, 100, 10]))).toBeGreaterThan(0);
    expect(runFilter(f, arp(3, CLIENT, [198, 51, 100, 90]))).toBe(0); // RARP request
    expect(runFilter(f, neighborSolicitationFrame())).toBe(0);
    expect(runFilter(f, arp(1, CLIENT, [198, 51, 100, 90]).subarray(0, 40))).toBe(0); // too short for the target
  });

  it('with nothing of interest no request passes, replies still do', () => {
    const f = arpFilterFor([]);
    expect(runFilter(f, arp(1, CLIENT, [198, 51, 100, 90]))).toBe(0);
    expect(runFilter(f, arp(2, [198, 51, 100, 11], CLIENT))).toBeGreaterThan(0);
  });

  it('holds 1,800 addresses in blocks (jumps past 255 instructions): each passes, its neighbours do not', () => {
    // 198.18.0.0/15: 1,800 addresses, every other one, so that each has an unlisted neighbour.
    const listed = Array.from({ length: MAX_FILTERED_ARP_ADDRESSES }, (_, i) => ip(198, 18 + ((i * 2) >> 16), ((i * 2) >> 8) & 255, (i * 2) & 255));
    const f = arpFilterFor(listed);
    expect(f.length).toBeLessThanOrEqual(MAX_FILTER_INSTRUCTIONS);
    f.forEach(([, jt, jf]) => expect(Math.max(jt, jf)).toBeLessThanOrEqual(255));
    for (const a of listed) {
      expect(runFilter(f, arp(1, CLIENT, [...a]))).toBeGreaterThan(0);
      expect(runFilter(f, arp(1, CLIENT, [a[0], a[1], a[2], a[3] + 1]))).toBe(0);
      expect(runFilter(f, arp(1, [...a], CLIENT))).toBeGreaterThan(0);
    }
  });

  it('beyond that many, every ARP request passes (the responder checks each itself, as before)', () => {
    const many = Array.from({ length: MAX_FILTERED_ARP_ADDRESSES + 1 }, (_, i) => ip(198, 18, i >> 8, i & 255));
    expect(arpFilterFor(many)).toEqual(arpFilter());
  });
});

describe('neighborDiscoveryFilterFor: solicitations only for the IPv6 addresses of interest', () => {
  /** 2001:db8::<hi>:<lo> as 16 bytes. */
  const v6 = (hi: number, lo: number): Uint8Array => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, hi >> 8, hi & 255, lo >> 8, lo & 255]);
  const CLIENT = v6(0, 0x10);
  /** An NDP frame (fixtures layout): IPv6 source at 22, ICMPv6 type at 54, NS target at 62. */
  function ndp(type: 135 | 136, source: Uint8Array, target: Uint8Array): Buffer {
    const f = Buffer.from(type === 135 ? neighborSolicitationFrame() : neighborAdvertisementFrame());
    f[54] = type;
    Buffer.from(source).copy(f, 22);
    Buffer.from(target).copy(f, 62);
    return f;
  }
  const OWNED = [v6(0, 0x90), v6(0, 0x91)];

  it('passes solicitations whose target or source is of interest, every advertisement, nothing else', () => {
    const f = neighborDiscoveryFilterFor(OWNED);
    expect(runFilter(f, ndp(135, CLIENT, v6(0, 0x90)))).toBeGreaterThan(0);
    expect(runFilter(f, ndp(135, CLIENT, v6(0, 0x91)))).toBeGreaterThan(0);
    expect(runFilter(f, ndp(135, CLIENT, v6(0, 0x92)))).toBe(0); // the flood's kind
    expect(runFilter(f, ndp(135, v6(0, 0x90), v6(0, 0x92)))).toBeGreaterThan(0); // someone using our address
    expect(runFilter(f, ndp(136, v6(0, 0x11), CLIENT))).toBeGreaterThan(0); // advertisements always
    const echo = ndp(135, CLIENT, v6(0, 0x90));
    echo[54] = 128; // an echo request is no neighbour discovery
    expect(runFilter(f, echo)).toBe(0);
    const tcp = ndp(135, CLIENT, v6(0, 0x90));
    tcp[20] = 6;
    expect(runFilter(f, tcp)).toBe(0);
    expect(runFilter(f, arpRequestFrame())).toBe(0);
    expect(runFilter(f, ndp(135, CLIENT, v6(0, 0x90)).subarray(0, 70))).toBe(0); // too short for the target
  });

  it('with nothing of interest no solicitation passes, advertisements still do', () => {
    const f = neighborDiscoveryFilterFor([]);
    expect(runFilter(f, ndp(135, CLIENT, v6(0, 0x90)))).toBe(0);
    expect(runFilter(f, ndp(136, v6(0, 0x11), CLIENT))).toBeGreaterThan(0);
  });

  it(`holds ${MAX_FILTERED_NDP_ADDRESSES} addresses: each passes, an address differing in any one of its four words does not`, () => {
    const listed = Array.from({ length: MAX_FILTERED_NDP_ADDRESSES }, (_, i) => v6(i * 2, 0x1000 + i * 2));
    const f = neighborDiscoveryFilterFor(listed);
    expect(f.length).toBeLessThanOrEqual(MAX_FILTER_INSTRUCTIONS);
    f.forEach(([, jt, jf], pc) => {
      expect(Math.max(jt, jf)).toBeLessThanOrEqual(255);
      expect(pc + 1 + Math.max(jt, jf)).toBeLessThanOrEqual(f.length);
    });
    for (const a of listed) {
      expect(runFilter(f, ndp(135, CLIENT, a))).toBeGreaterThan(0);
      expect(runFilter(f, ndp(135, a, CLIENT))).toBeGreaterThan(0);
      for (const byte of [3, 7, 11, 15]) {
        const near = Uint8Array.from(a);
        near[byte] ^= 1;
        expect(runFilter(f, ndp(135, CLIENT, near))).toBe(0);
      }
    }
  });

  it('beyond that many, every solicitation passes (the responder checks each itself, as before)', () => {
    const many = Array.from({ length: MAX_FILTERED_NDP_ADDRESSES + 1 }, (_, i) => v6(0, i));
    expect(neighborDiscoveryFilterFor(many)).toEqual(neighborDiscoveryFilter());
  });
});
