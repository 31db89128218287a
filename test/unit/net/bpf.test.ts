import { arpReplyFilter, arpRequestFilter, matchAll, neighborAdvertisementFilter, neighborSolicitationFilter, runFilter } from '../../../src/net/bpf';
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
