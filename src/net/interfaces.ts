// Network interfaces as the layer-2 speaker sees them: read from /sys/class/net (index, MAC,
// flags, master) plus os.networkInterfaces() for addresses, and the MetalLB-compatible rules for
// which of them may carry ARP/NDP answers.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** linux/if.h */
export const IfFlag = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOARP: 0x80,
  MULTICAST: 0x1000,
} as const;

export interface NetInterface {
  name: string;
  ifindex: number;
  /** Lower-case colon form; '' for interfaces without a link-layer address. */
  mac: string;
  flags: number;
  up: boolean;
  broadcast: boolean;
  multicast: boolean;
  loopback: boolean;
  noArp: boolean;
  /** /sys/class/net/<if>/master exists: a bond or bridge member (the master is used instead). */
  hasMaster: boolean;
  operState: string;
  mtu: number;
  ipv4: string[];
  ipv6: string[];
  /** First fe80::/10 address, without zone. */
  ipv6LinkLocal?: string;
}

/**
 * MetalLB's default announcedInterfacesToExclude (config/manifests/metallb-native.yaml).
 * Note `^veth.*`: test namespaces use veth NICs, so tests pass their own list.
 */
export const DEFAULT_EXCLUDE: readonly RegExp[] = [
  /^docker.*/,
  /^cbr.*/,
  /^dummy.*/,
  /^virbr.*/,
  /^lxcbr.*/,
  /^veth.*/,
  /^lo$/,
  /^cali.*/,
  /^tunl.*/,
  /^flannel.*/,
  /^kube-ipvs.*/,
  /^cni.*/,
  /^nodelocaldns.*/,
  /^lxc.*/,
];

/** Turns user-supplied pattern text (config, flags) into anchored-as-written RegExps. */
export function parseExcludePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => new RegExp(p));
}

type AddressInfo = ReturnType<typeof os.networkInterfaces>;

export interface ListOptions {
  /** Defaults to /sys/class/net. */
  sysfsRoot?: string;
  /** Defaults to os.networkInterfaces(). */
  addresses?: AddressInfo;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function linkExists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** All interfaces of the current network namespace, sorted by ifindex. */
export function listInterfaces(opts: ListOptions = {}): NetInterface[] {
  const root = opts.sysfsRoot ?? '/sys/class/net';
  const addrs = opts.addresses ?? os.networkInterfaces();
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const out: NetInterface[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    const ifindex = Number(readText(path.join(dir, 'ifindex')));
    if (!Number.isInteger(ifindex) || ifindex <= 0) continue;
    const flags = parseInt(readText(path.join(dir, 'flags')) ?? '0', 16) || 0;
    const rawMac = (readText(path.join(dir, 'address')) ?? '').toLowerCase();
    const infos = addrs[name] ?? [];
    const ipv4 = infos.filter((a) => a.family === 'IPv4').map((a) => a.address);
    const ipv6 = infos.filter((a) => a.family === 'IPv6').map((a) => a.address.split('%')[0]);
    out.push({
      name,
      ifindex,
      mac: /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(rawMac) ? rawMac : '',
      flags,
      up: (flags & IfFlag.UP) !== 0,
      broadcast: (flags & IfFlag.BROADCAST) !== 0,
      multicast: (flags & IfFlag.MULTICAST) !== 0,
      loopback: (flags & IfFlag.LOOPBACK) !== 0,
      noArp: (flags & IfFlag.NOARP) !== 0,
      hasMaster: linkExists(path.join(dir, 'master')),
      operState: readText(path.join(dir, 'operstate')) ?? 'unknown',
      mtu: Number(readText(path.join(dir, 'mtu')) ?? 0),
      ipv4,
      ipv6,
      ipv6LinkLocal: ipv6.find((a) => /^fe[89ab]/i.test(a)),
    });
  }
  return out.sort((a, b) => a.ifindex - b.ifindex);
}

export interface EligibilityOptions {
  /** Only these names (L2Advertisement.interfaces); empty or absent means all. */
  include?: readonly string[];
  /** Name patterns to skip; defaults to DEFAULT_EXCLUDE. Pass [] to exclude nothing. */
  exclude?: readonly RegExp[];
}

export type IneligibleReason = 'excluded' | 'notIncluded' | 'down' | 'noCarrier' | 'hasMaster' | 'noArp' | 'noMac';

/** RFC 2863 operstates of an administratively up link that cannot pass frames (cable out, veth
 * peer down, bond without slaves). 'unknown' is what many virtual links report: that one counts as up. */
const NO_CARRIER_STATES = new Set(['down', 'lowerlayerdown', 'notpresent']);

/** Why `i` may not carry announcements, or undefined when it may. */
export function ineligibleReason(i: NetInterface, opts: EligibilityOptions = {}): IneligibleReason | undefined {
  const exclude = opts.exclude ?? DEFAULT_EXCLUDE;
  if (exclude.some((re) => re.test(i.name))) return 'excluded';
  if (opts.include && opts.include.length > 0 && !opts.include.includes(i.name)) return 'notIncluded';
  if (!i.up) return 'down';
  if (NO_CARRIER_STATES.has(i.operState)) return 'noCarrier';
  if (i.hasMaster) return 'hasMaster';
  if (i.noArp) return 'noArp';
  if (i.mac === '' || i.mac === '00:00:00:00:00:00') return 'noMac';
  return undefined;
}

/** Interfaces that may carry ARP/NDP answers, in ifindex order. */
export function eligibleInterfaces(all: readonly NetInterface[], opts: EligibilityOptions = {}): NetInterface[] {
  return all.filter((i) => ineligibleReason(i, opts) === undefined);
}

/** The ARP responder needs a broadcast-capable link. */
export function supportsArp(i: NetInterface): boolean {
  return i.broadcast;
}

/** The NDP responder needs IPv6 on the link (MetalLB: a link-local address). */
export function supportsNdp(i: NetInterface): boolean {
  return i.ipv6LinkLocal !== undefined;
}
