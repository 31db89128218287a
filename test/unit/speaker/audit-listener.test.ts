// AuditListener: collects the MACs that claim an address while its audit probe is out, from real
// frames (gratuitous ARP request/reply, unsolicited NA); ignores probes, other addresses, and
// everything once read.
import { buildGratuitousArp } from '../../../src/protocol/arp';
import { buildArpProbe } from '../../../src/protocol/conflict-frames';
import { buildUnsolicitedNeighborAdvertisement } from '../../../src/protocol/ndp';
import { AuditListener } from '../../../src/speaker/layer2/audit-listener';

const MAC_1 = Buffer.from('020000000001', 'hex');
const MAC_2 = Buffer.from('020000000002', 'hex');
const V4_91 = Buffer.from([198, 51, 100, 91]);
const V4_92 = Buffer.from([198, 51, 100, 92]);
const V6 = Buffer.from('20010db8000000000000000000000091', 'hex');

describe('AuditListener', () => {
  it('collects the ARP claimants of an audited address until it is read', () => {
    const l = new AuditListener();
    expect(l.begin('198.51.100.91', 0)).toBe(true);
    for (const f of buildGratuitousArp(MAC_1, V4_91)) l.inspectArp(f, f.length);
    for (const f of buildGratuitousArp(MAC_2, V4_92)) l.inspectArp(f, f.length); // not audited
    const probe = buildArpProbe(MAC_2, V4_91); // sender 0.0.0.0: claims nothing
    l.inspectArp(probe, probe.length);
    expect(l.take('198.51.100.91')).toEqual(['020000000001']);
    for (const f of buildGratuitousArp(MAC_2, V4_91)) l.inspectArp(f, f.length);
    expect(l.take('198.51.100.91')).toEqual([]);
  });

  it('collects two claimants, and NA claimants of an IPv6 address', () => {
    const l = new AuditListener();
    l.begin('198.51.100.91', 0);
    l.begin('2001:db8::91', 0);
    for (const m of [MAC_2, MAC_1]) for (const f of buildGratuitousArp(m, V4_91)) l.inspectArp(f, f.length);
    const na = buildUnsolicitedNeighborAdvertisement(MAC_2, V6, V6);
    l.inspectNdp(na, na.length);
    expect(l.take('198.51.100.91')).toEqual(['020000000001', '020000000002']);
    expect(l.take('2001:0db8:0:0::91')).toEqual(['020000000002']);
  });

  it('an unread window is dropped after 10 s', () => {
    const l = new AuditListener();
    l.begin('198.51.100.91', 0);
    l.begin('198.51.100.92', 10_001);
    for (const f of buildGratuitousArp(MAC_1, V4_91)) l.inspectArp(f, f.length);
    expect(l.take('198.51.100.91')).toEqual([]);
  });
});
