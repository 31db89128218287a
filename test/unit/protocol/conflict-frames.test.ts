// ARP probes and DAD probes, and reading claims, checked at hand-written RFC 826 / RFC 5227 /
// RFC 4861 byte offsets (not through the module's own decoders).
import { parseIPv4, parseIPv6, parseMac } from '../../../src/protocol/address';
import { buildArpRequest, buildGratuitousArp } from '../../../src/protocol/arp';
import { arpSenderAddress, buildArpProbe, buildDadProbe, macKey, macText, readArpClaim, readNdpClaim } from '../../../src/protocol/conflict-frames';
import { buildNeighborAdvertisement } from '../../../src/protocol/ndp';

const MAC = parseMac('02:00:00:00:00:11');
const OTHER = parseMac('02:00:00:00:00:10');
const hex = (b: Buffer, from: number, to: number) => b.subarray(from, to).toString('hex');

describe('conflict frames', () => {
  it('builds an RFC 5227 ARP probe: broadcast request, sender 0.0.0.0, target MAC zero', () => {
    const f = buildArpProbe(MAC, parseIPv4('198.51.100.90'));
    expect(f.length).toBe(60);
    expect(hex(f, 0, 6)).toBe('ffffffffffff');
    expect(hex(f, 6, 12)).toBe('020000000011');
    expect(hex(f, 12, 14)).toBe('0806');
    expect(hex(f, 20, 22)).toBe('0001'); // request
    expect(hex(f, 22, 28)).toBe('020000000011'); // sender MAC
    expect(hex(f, 28, 32)).toBe('00000000'); // sender IP 0.0.0.0
    expect(hex(f, 32, 38)).toBe('000000000000'); // target MAC
    expect(hex(f, 38, 42)).toBe('c633645a'); // 198.51.100.90
    expect(() => buildArpProbe(MAC, Buffer.alloc(3))).toThrow(RangeError);
  });

  it('builds a DAD probe: NS from :: to the solicited-node group, no source link-layer option', () => {
    const f = buildDadProbe(MAC, parseIPv6('2001:db8:100::90'));
    expect(hex(f, 0, 6)).toBe('3333ff000090');
    expect(hex(f, 22, 38)).toBe('0'.repeat(32)); // source ::
    expect(hex(f, 38, 54)).toBe('ff0200000000000000000001ff000090');
    expect(f[54]).toBe(135);
    expect(f.length).toBe(14 + 40 + 24); // no option
  });

  it('reads the sender of ARP frames; a probe (sender 0.0.0.0) claims nothing', () => {
    const req = buildArpRequest(OTHER, parseIPv4('198.51.100.90'), parseIPv4('198.51.100.1'));
    expect(arpSenderAddress(req, req.length)).toBe(0xc633645a);
    expect(readArpClaim(req, req.length)).toEqual({ address: parseIPv4('198.51.100.90'), mac: '020000000010' });
    const [garpReq, garpReply] = buildGratuitousArp(OTHER, parseIPv4('198.51.100.91'));
    expect(readArpClaim(garpReply, garpReply.length)?.mac).toBe('020000000010');
    expect(arpSenderAddress(garpReq, garpReq.length)).toBe(0xc633645b);
    const probe = buildArpProbe(OTHER, parseIPv4('198.51.100.90'));
    expect(arpSenderAddress(probe, probe.length)).toBe(-1);
    expect(readArpClaim(probe, probe.length)).toBeUndefined();
  });

  it('ignores truncated frames and a sender MAC that differs from the Ethernet source', () => {
    const req = buildArpRequest(OTHER, parseIPv4('198.51.100.90'), parseIPv4('198.51.100.1'));
    expect(arpSenderAddress(req, 30)).toBe(-1);
    expect(readArpClaim(req, 30)).toBeUndefined();
    const forged = Buffer.from(req);
    MAC.copy(forged, 6); // Ethernet source differs from the ARP sender
    expect(readArpClaim(forged, forged.length)).toBeUndefined();
  });

  it('reads an NA claim from its target link-layer option', () => {
    const target = parseIPv6('2001:db8:100::90');
    const na = buildNeighborAdvertisement({ sourceMac: OTHER, destinationMac: parseMac('33:33:00:00:00:01'), sourceIp: target, destinationIp: parseIPv6('ff02::1'), target, solicited: false, override: true });
    expect(readNdpClaim(na, na.length)).toEqual({ address: target, mac: '020000000010' });
    expect(readNdpClaim(buildDadProbe(OTHER, target), 78)).toBeUndefined();
  });

  it('normalises MAC text', () => {
    expect(macKey('02:00:00:00:00:1A')).toBe('02000000001a');
    expect(macKey('nope')).toBeUndefined();
    expect(macText('02000000001a')).toBe('02:00:00:00:00:1a');
  });
});
