// The Adj-RIB-Out on its own: what each sync sends, checked by decoding the UPDATEs it returns.
import { BgpDecodeError, decode, formatPrefix, parsePrefix, type UpdateMessage } from '../../../src/protocol/bgp';
import { AdjRibOut, prefixKey } from '../../../src/speaker/bgp/adj-rib-out';
import type { ExportPolicy, Route } from '../../../src/speaker/bgp/export-policy';

const policy: ExportPolicy = { internal: false, myASN: 64600, ipv4: true, ipv6: true, nextHop4: 0xc6336401n, nextHop6: 0x20010db8000000000000000000000001n, codec: { fourOctetAS: true } };
const route = (cidr: string, extra: Partial<Route> = {}): Route => ({ prefix: parsePrefix(cidr), communities: [], largeCommunities: [], ...extra });

function updates(wires: Buffer[]): UpdateMessage[] {
  return wires.map((w) => {
    const m = decode(w, { fourOctetAS: true });
    if (m instanceof BgpDecodeError || m.kind !== 'update') throw new Error(`not an UPDATE: ${m instanceof BgpDecodeError ? m.message : m.kind}`);
    return m;
  });
}
const announced = (us: UpdateMessage[]): string[] => us.flatMap((u) => [...u.nlri, ...u.attributes.flatMap((a) => (a.kind === 'mp-reach-nlri' ? a.nlri : []))]).map(formatPrefix).sort();
const withdrawn = (us: UpdateMessage[]): string[] => us.flatMap((u) => [...u.withdrawn, ...u.attributes.flatMap((a) => (a.kind === 'mp-unreach-nlri' ? a.withdrawn : []))]).map(formatPrefix).sort();

describe('AdjRibOut', () => {
  it('announces what is new, nothing twice, re-announces changed attributes, withdraws what went', () => {
    const rib = new AdjRibOut();
    let u = updates(rib.sync([route('198.51.100.7/32'), route('198.51.100.8/32'), route('2001:db8::7/128')], policy).updates);
    expect(announced(u)).toEqual(['198.51.100.7/32', '198.51.100.8/32', '2001:db8::7/128']);
    expect(rib.size).toBe(3);
    expect(rib.sync([route('198.51.100.7/32'), route('198.51.100.8/32'), route('2001:db8::7/128')], policy).updates).toEqual([]);
    u = updates(rib.sync([route('198.51.100.7/32', { communities: [1] }), route('2001:db8::7/128')], policy).updates);
    expect(withdrawn(u)).toEqual(['198.51.100.8/32']);
    expect(announced(u)).toEqual(['198.51.100.7/32']);
    expect(u[0].withdrawn.length).toBeGreaterThan(0); // withdrawals go first
    expect(rib.size).toBe(2);
  });

  it('keys prefixes by value: equal prefixes from different objects and texts are one route', () => {
    const rib = new AdjRibOut();
    rib.sync([route('198.51.100.7/32')], policy);
    expect(rib.sync([{ prefix: { family: 4, addr: 0xc6336407n, length: 32 }, communities: [], largeCommunities: [] }], policy).updates).toEqual([]);
    expect(prefixKey(parsePrefix('198.51.100.0/24'))).not.toBe(prefixKey(parsePrefix('198.51.100.0/25')));
    expect(prefixKey(parsePrefix('0.0.0.0/0'))).not.toBe(prefixKey(parsePrefix('::/0')));
  });

  it('forgetFamily (ROUTE-REFRESH) re-sends that family only', () => {
    const rib = new AdjRibOut();
    const routes = [route('198.51.100.7/32'), route('2001:db8::7/128')];
    rib.sync(routes, policy);
    rib.forgetFamily(6);
    expect(announced(updates(rib.sync(routes, policy).updates))).toEqual(['2001:db8::7/128']);
  });

  it('sends nothing of a family the peer did not negotiate, and reports prefixes without a next hop', () => {
    const rib = new AdjRibOut();
    const r = rib.sync([route('198.51.100.7/32'), route('2001:db8::7/128')], { ...policy, ipv6: false, nextHop4: undefined });
    expect(r.updates).toEqual([]);
    expect(r.unannounceable.map(formatPrefix)).toEqual(['198.51.100.7/32']);
    expect(rib.size).toBe(0);
  });
});
