// The responder engine's address-table rules (responder-addresses.ts), pure: interface limits,
// the ifindexes an address is answered on, the kernel filters' address lists and the IPv6
// solicited-node groups. Expected values written by hand (RFC 4291 §2.7.1 / RFC 2464 §7:
// 33:33:ff and the address's last three bytes).
import {
  addressesByFamily,
  allowedIfindexes,
  allowedOn,
  interfaceLimit,
  solicitedNodeGroups,
  type AddrState,
} from '../../../src/speaker/layer2/responder-addresses';

const v4 = (text: string, bytes: number[], interfaces: string[] | null = null): AddrState => ({ text, family: 4, bytes: Buffer.from(bytes), interfaces });
const v6 = (text: string, tail: number[], interfaces: string[] | null = null): AddrState => {
  const bytes = Buffer.alloc(16);
  Buffer.from([0x20, 0x01, 0x0d, 0xb8]).copy(bytes, 0);
  Buffer.from(tail).copy(bytes, 16 - tail.length);
  return { text, family: 6, bytes, interfaces };
};

const A4 = v4('198.51.100.90', [198, 51, 100, 90]);
const B4 = v4('198.51.100.91', [198, 51, 100, 91], ['eth1']);
const A6 = v6('2001:db8::90', [0x00, 0x00, 0x90]);
const B6 = v6('2001:db8::1:2345', [0x01, 0x23, 0x45], ['eth1']);
const C6 = v6('2001:db8::7:1:2345', [0x07, 0x00, 0x01, 0x23, 0x45]); // same last three bytes as B6

describe('responder address table', () => {
  it.each([
    { list: undefined, limit: null },
    { list: [], limit: null },
    { list: ['eth0'], limit: ['eth0'] },
    { list: ['eth0', 'eth1'], limit: ['eth0', 'eth1'] },
  ])('interfaceLimit($list) is $limit', ({ list, limit }) => {
    expect(interfaceLimit(list)).toEqual(limit);
  });

  it('interfaceLimit copies the list', () => {
    const list = ['eth0'];
    const limit = interfaceLimit(list);
    list.push('eth1');
    expect(limit).toEqual(['eth0']);
  });

  it.each([
    { interfaces: null, name: 'eth0', allowed: true },
    { interfaces: null, name: 'anything', allowed: true },
    { interfaces: ['eth1'], name: 'eth1', allowed: true },
    { interfaces: ['eth1'], name: 'eth0', allowed: false },
    { interfaces: [], name: 'eth0', allowed: false },
  ])('allowedOn(limit $interfaces, $name) is $allowed', ({ interfaces, name, allowed }) => {
    expect(allowedOn({ interfaces }, name)).toBe(allowed);
  });

  it.each([
    { rule: 'no limit: any interface', interfaces: null, ifindexes: null },
    { rule: 'a limit to open interfaces: their indexes', interfaces: ['eth0', 'eth1'], ifindexes: [2, 3] },
    { rule: 'an interface not open is left out', interfaces: ['eth1', 'gone0'], ifindexes: [3] },
    { rule: 'only closed interfaces: answered nowhere, not anywhere', interfaces: ['gone0'], ifindexes: [] },
  ])('allowedIfindexes: $rule', ({ interfaces, ifindexes }) => {
    const open: Record<string, number> = { eth0: 2, eth1: 3 };
    const got = allowedIfindexes({ ...A4, interfaces }, (name) => open[name]);
    expect(got === null ? null : [...got].sort()).toEqual(ifindexes);
  });

  it('addressesByFamily lists every table, each address under its family', () => {
    const owned = new Map([A4, A6, B4].map((a) => [a.text, a]));
    const watched = new Map([B6].map((a) => [a.text, a]));
    const { v4: four, v6: six } = addressesByFamily(owned, watched);
    expect(four.map((b) => Buffer.from(b).toString('hex'))).toEqual(['c633645a', 'c633645b']);
    expect(six.map((b) => Buffer.from(b).toString('hex'))).toEqual(['20010db8000000000000000000000090', '20010db8000000000000000000012345']);
    expect(addressesByFamily()).toEqual({ v4: [], v6: [] });
  });

  it.each([
    { name: 'eth0', groups: ['3333ff000090', '3333ff012345'] }, // B6 is limited to eth1; C6 shares its group
    { name: 'eth1', groups: ['3333ff000090', '3333ff012345'] },
    { name: 'eth2', groups: ['3333ff000090', '3333ff012345'] },
  ])('solicitedNodeGroups on $name', ({ name, groups }) => {
    const got = solicitedNodeGroups([A4, A6, B4, B6, C6], name);
    expect([...got.keys()].sort()).toEqual(groups);
    for (const [key, mac] of got) expect(mac.toString('hex')).toBe(key);
  });

  it('solicitedNodeGroups: an IPv6 address limited elsewhere joins nothing here; IPv4 never does', () => {
    expect([...solicitedNodeGroups([A4, B4, B6], 'eth0').keys()]).toEqual([]);
    expect([...solicitedNodeGroups([B6], 'eth1').keys()]).toEqual(['3333ff012345']);
  });
});
