import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_EXCLUDE, eligibleInterfaces, ineligibleReason, listInterfaces, parseExcludePatterns, supportsArp, supportsNdp } from '../../../src/net/interfaces';

type Addrs = ReturnType<typeof os.networkInterfaces>;

/** A fake /sys/class/net tree. */
function fakeSysfs(ifs: Array<{ name: string; ifindex: number; mac: string; flags: number; master?: boolean; operstate?: string }>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ironlb-sysfs-'));
  for (const i of ifs) {
    const dir = path.join(root, i.name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'ifindex'), `${i.ifindex}\n`);
    fs.writeFileSync(path.join(dir, 'address'), `${i.mac}\n`);
    fs.writeFileSync(path.join(dir, 'flags'), `0x${i.flags.toString(16)}\n`);
    fs.writeFileSync(path.join(dir, 'operstate'), `${i.operstate ?? 'up'}\n`);
    fs.writeFileSync(path.join(dir, 'mtu'), '1500\n');
    if (i.master) fs.symlinkSync('../br0', path.join(dir, 'master'));
  }
  return root;
}

const addr = (address: string, family: 'IPv4' | 'IPv6') => ({
  address,
  family,
  netmask: '',
  mac: '',
  internal: false,
  cidr: null,
  ...(family === 'IPv6' ? { scopeid: 0 } : {}),
});

describe('interfaces', () => {
  let root: string;
  const addresses = {
    eth0: [addr('198.51.100.11', 'IPv4'), addr('fe80::1%eth0', 'IPv6'), addr('2001:db8::11', 'IPv6')],
    eth1: [addr('198.51.100.12', 'IPv4')],
  } as unknown as Addrs;

  beforeAll(() => {
    root = fakeSysfs([
      { name: 'lo', ifindex: 1, mac: '00:00:00:00:00:00', flags: 0x9 },
      { name: 'eth0', ifindex: 2, mac: '02:AA:00:00:00:01', flags: 0x1003 },
      { name: 'eth1', ifindex: 3, mac: '02:aa:00:00:00:02', flags: 0x1003 },
      { name: 'veth12ab', ifindex: 4, mac: '02:aa:00:00:00:03', flags: 0x1003 },
      { name: 'kube-ipvs0', ifindex: 5, mac: '02:aa:00:00:00:04', flags: 0x82 },
      { name: 'ens4', ifindex: 6, mac: '02:aa:00:00:00:05', flags: 0x1002 }, // down
      { name: 'ens5', ifindex: 7, mac: '02:aa:00:00:00:06', flags: 0x1003, master: true },
      { name: 'tun0', ifindex: 8, mac: '', flags: 0x91 }, // point-to-point, NOARP
      { name: 'ens6', ifindex: 9, mac: '02:aa:00:00:00:07', flags: 0x1083 }, // NOARP
      { name: 'ens7', ifindex: 10, mac: '02:aa:00:00:00:08', flags: 0x1003, operstate: 'lowerlayerdown' }, // up, no carrier
      { name: 'ens8', ifindex: 11, mac: '02:aa:00:00:00:09', flags: 0x1003, operstate: 'unknown' }, // what many virtual links report
    ]);
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reads index, MAC, flags, master and addresses', () => {
    const all = listInterfaces({ sysfsRoot: root, addresses });
    expect(all.map((i) => i.name)).toEqual(['lo', 'eth0', 'eth1', 'veth12ab', 'kube-ipvs0', 'ens4', 'ens5', 'tun0', 'ens6', 'ens7', 'ens8']);
    const eth0 = all.find((i) => i.name === 'eth0')!;
    expect(eth0).toMatchObject({
      ifindex: 2,
      mac: '02:aa:00:00:00:01',
      up: true,
      broadcast: true,
      multicast: true,
      noArp: false,
      hasMaster: false,
      ipv4: ['198.51.100.11'],
      ipv6: ['fe80::1', '2001:db8::11'],
      ipv6LinkLocal: 'fe80::1',
    });
    expect(all.find((i) => i.name === 'ens5')!.hasMaster).toBe(true);
    expect(all.find((i) => i.name === 'tun0')!.mac).toBe('');
  });

  it('applies MetalLB rules with the default exclude list', () => {
    const all = listInterfaces({ sysfsRoot: root, addresses });
    const why = Object.fromEntries(all.map((i) => [i.name, ineligibleReason(i) ?? 'ok']));
    expect(why).toEqual({
      lo: 'excluded',
      eth0: 'ok',
      eth1: 'ok',
      veth12ab: 'excluded',
      'kube-ipvs0': 'excluded',
      ens4: 'down',
      ens5: 'hasMaster',
      tun0: 'noArp',
      ens6: 'noArp',
      ens7: 'noCarrier',
      ens8: 'ok',
    });
    expect(eligibleInterfaces(all).map((i) => i.name)).toEqual(['eth0', 'eth1', 'ens8']);
  });

  it('lets the exclude list be overridden (veth NICs in test namespaces) and restricted by include', () => {
    const all = listInterfaces({ sysfsRoot: root, addresses });
    expect(eligibleInterfaces(all, { exclude: [] }).map((i) => i.name)).toEqual(['eth0', 'eth1', 'veth12ab', 'ens8']);
    expect(eligibleInterfaces(all, { exclude: parseExcludePatterns(['^eth1$']), include: ['eth0', 'eth1', 'veth12ab'] }).map((i) => i.name)).toEqual([
      'eth0',
      'veth12ab',
    ]);
    expect(ineligibleReason(all[1], { include: ['eth1'] })).toBe('notIncluded');
  });

  it('ARP needs broadcast; NDP needs a link-local address', () => {
    const all = listInterfaces({ sysfsRoot: root, addresses });
    const eth0 = all.find((i) => i.name === 'eth0')!;
    const eth1 = all.find((i) => i.name === 'eth1')!;
    expect([supportsArp(eth0), supportsNdp(eth0)]).toEqual([true, true]);
    expect([supportsArp(eth1), supportsNdp(eth1)]).toEqual([true, false]);
  });

  it('has the MetalLB default exclusions', () => {
    for (const name of ['docker0', 'cbr0', 'dummy0', 'virbr0', 'lxcbr0', 'veth1', 'lo', 'cali123', 'tunl0', 'flannel.1', 'kube-ipvs0', 'cni0', 'nodelocaldns', 'lxc12']) {
      expect(DEFAULT_EXCLUDE.some((re) => re.test(name))).toBe(true);
    }
    for (const name of ['eth0', 'ens3', 'bond0', 'br0', 'lo0']) expect(DEFAULT_EXCLUDE.some((re) => re.test(name))).toBe(false);
  });

  it('returns [] when the sysfs root does not exist, and reads the real one', () => {
    expect(listInterfaces({ sysfsRoot: path.join(root, 'nope') })).toEqual([]);
    if (fs.existsSync('/sys/class/net/lo')) expect(listInterfaces().some((i) => i.name === 'lo' && i.loopback)).toBe(true);
  });
});
