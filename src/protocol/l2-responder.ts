// The decision half of the layer-2 responder, free of sockets: given one received frame, either
// write the answer into a caller-provided buffer (returning its length) or return why not.
// The worker (src/speaker/layer2/responder-worker.ts) only moves bytes between sockets and this.
import { bytesEqual, ipv4ToNumber, isUnspecifiedIPv6 } from './address';
import { ArpBodyOffset, ArpOperation, locateArp, writeArpReply } from './arp';
import { BufferWriter } from './buffer-writer';
import { ETHERNET_HEADER_LENGTH } from './ethernet';
import { ALL_NODES_MAC, ALL_NODES_MULTICAST, decodeNdpFrame, findLinkLayerAddress, isSolicitedNodeMulticastOf, peekSolicitationTarget, writeNeighborAdvertisement } from './ndp';

/**
 * Why a received frame was not answered. `notOwned` and `interfaceNotAllowed` are decided first,
 * from fixed offsets, before any checksum or option is looked at: a flood of requests for
 * addresses this node does not own costs a few byte compares each. `badSender`: the reply would
 * go to a broadcast, multicast or all-zero hardware address (a reflection attempt).
 * `rateLimited` is the caller's (the per-source reply limiter in the responder worker).
 */
export type L2DropReason = 'notOwned' | 'notRequest' | 'badDst' | 'malformed' | 'interfaceNotAllowed' | 'ownPacket' | 'badSender' | 'rateLimited';

export const L2_DROP_REASONS: readonly L2DropReason[] = ['notOwned', 'notRequest', 'badDst', 'malformed', 'interfaceNotAllowed', 'ownPacket', 'badSender', 'rateLimited'];

/** What the responder knows about the interface a frame arrived on. */
export interface ResponderInterfaceView {
  ifindex: number;
  mac: Buffer;
}

type Allowed = ReadonlySet<number> | null;
type Verdict = 'ok' | 'notOwned' | 'interfaceNotAllowed';

interface V6Entry {
  ip: Buffer;
  allowed: Allowed;
}

function low32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function verdict(allowed: Allowed | undefined, ifindex: number): Verdict {
  if (allowed === undefined) return 'notOwned';
  if (allowed !== null && !allowed.has(ifindex)) return 'interfaceNotAllowed';
  return 'ok';
}

/**
 * The addresses this node answers for, each with the ifindexes it may be answered on (null: any
 * interface the responder listens on). Lookups read the address in place and allocate nothing:
 * IPv4 is keyed by its 32-bit value, IPv6 by its low 32 bits and then compared whole.
 */
export class OwnedAddresses {
  private readonly v4 = new Map<number, Allowed>();
  private readonly v6 = new Map<number, V6Entry[]>();
  private v6Count = 0;

  setV4(ip: Uint8Array, ifindexes: Allowed = null): void {
    this.v4.set(ipv4ToNumber(ip), ifindexes);
  }

  setV6(ip: Uint8Array, ifindexes: Allowed = null): void {
    const key = low32(ip, 12);
    const list = this.v6.get(key) ?? [];
    const hit = list.find((e) => bytesEqual(e.ip, 0, ip, 0, 16));
    if (hit) {
      hit.allowed = ifindexes;
      return;
    }
    list.push({ ip: Buffer.from(ip.subarray(0, 16)), allowed: ifindexes });
    this.v6.set(key, list);
    this.v6Count++;
  }

  deleteV4(ip: Uint8Array): boolean {
    return this.v4.delete(ipv4ToNumber(ip));
  }

  deleteV6(ip: Uint8Array): boolean {
    const key = low32(ip, 12);
    const list = this.v6.get(key);
    const i = list ? list.findIndex((e) => bytesEqual(e.ip, 0, ip, 0, 16)) : -1;
    if (!list || i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.v6.delete(key);
    this.v6Count--;
    return true;
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
    this.v6Count = 0;
  }

  get sizeV4(): number {
    return this.v4.size;
  }

  get sizeV6(): number {
    return this.v6Count;
  }

  checkV4(ip: number, ifindex: number): Verdict {
    return verdict(this.v4.get(ip), ifindex);
  }

  /** `ip` is read at `at` (16 bytes). */
  checkV6(ip: Uint8Array, ifindex: number, at = 0): Verdict {
    const list = this.v6.get(low32(ip, at + 12));
    if (list) for (const e of list) if (bytesEqual(e.ip, 0, ip, at, 16)) return verdict(e.allowed, ifindex);
    return 'notOwned';
  }
}

function isBroadcast(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 6; i++) if (b[off + i] !== 0xff) return false;
  return true;
}

/** Whether a reply may be sent to the hardware address at `off`: unicast (the group bit clear,
 * which also rules out broadcast) and not all zeros. */
export function isUnicastMac(b: Uint8Array, off: number): boolean {
  if ((b[off] & 0x01) !== 0) return false;
  for (let i = 0; i < 6; i++) if (b[off + i] !== 0) return true;
  return false;
}

/**
 * ARP: answers requests (Ethernet destination broadcast or our MAC) for owned targets with a
 * unicast reply from the interface MAC to the requester's hardware address. The frame is read
 * through locateArp (the same path as decodeArpFrame) and the reply written by writeArpReply
 * (the same as buildArpReply), in place and without allocating; `out` (not the input buffer) must
 * hold at least 60 bytes. 802.1Q-tagged frames are not answered (malformed): the kernel strips
 * the tags of the VLANs this host serves before a packet socket sees them. Returns the reply
 * length or the drop reason.
 */
export function answerArp(
  frame: Uint8Array,
  length: number,
  iface: ResponderInterfaceView,
  owned: OwnedAddresses,
  out: Buffer,
): number | L2DropReason {
  const at = locateArp(frame, length);
  if (typeof at !== 'number' || at !== ETHERNET_HEADER_LENGTH) return at === 'badOperation' ? 'notRequest' : 'malformed';
  const B = ArpBodyOffset;
  if (((frame[at + B.operation] << 8) | frame[at + B.operation + 1]) !== ArpOperation.Request) return 'notRequest';
  // Ownership first: a flood of requests for other addresses stops here.
  const owner = owned.checkV4(ipv4ToNumber(frame, at + B.targetProtocol), iface.ifindex);
  if (owner !== 'ok') return owner;
  if (bytesEqual(frame, 6, iface.mac, 0, 6)) return 'ownPacket';
  if (!isBroadcast(frame, 0) && !bytesEqual(frame, 0, iface.mac, 0, 6)) return 'badDst';
  if (!isUnicastMac(frame, at + B.senderHardware) || !isUnicastMac(frame, 6)) return 'badSender';
  return writeArpReply(out, iface.mac, frame, at + B.senderHardware, frame, at + B.senderProtocol, frame, at + B.targetProtocol);
}

/**
 * NDP: answers Neighbor Solicitations for owned targets, multicast (to the solicited-node group)
 * and unicast (NUD probes), with or without a Source Link-Layer Address option. The answer is an
 * NA with Solicited=1, Override=1 and a Target Link-Layer Address option, sent to the NS source at
 * the SLLA (or, without one, the Ethernet source). The NA's source address is the target itself,
 * as the kernel does for its own addresses (some tools, e.g. ndisc6, accept nothing else). A DAD
 * probe (source ::) for an owned address is answered to all nodes with Solicited=0, which defends
 * the address.
 */
export function answerNdp(
  frame: Uint8Array,
  length: number,
  iface: ResponderInterfaceView,
  owned: OwnedAddresses,
  out: BufferWriter,
): number | L2DropReason {
  // Ownership first, from fixed offsets: a flood of solicitations for other addresses never
  // reaches the checksum or the option copies. (A frame of another layout, e.g. VLAN-tagged,
  // is fully decoded and checked below.)
  const targetAt = peekSolicitationTarget(frame, length);
  if (targetAt >= 0) {
    const owner = owned.checkV6(frame, iface.ifindex, targetAt);
    if (owner !== 'ok') return owner;
  }
  const decoded = decodeNdpFrame(frame, length);
  if (!decoded.ok) return decoded.reason === 'unsupportedType' || decoded.reason === 'notIcmpv6' ? 'notRequest' : 'malformed';
  const { ethernet, ipv6, message } = decoded.value;
  if (message.type !== 'neighborSolicitation') return 'notRequest';
  const target = message.targetAddress;
  const owner = owned.checkV6(target, iface.ifindex);
  if (owner !== 'ok') return owner;
  if (bytesEqual(ethernet.source, 0, iface.mac, 0, 6)) return 'ownPacket';

  const dst = ipv6.destination;
  const multicast = isSolicitedNodeMulticastOf(dst, target);
  if (!multicast && !bytesEqual(dst, 0, target, 0, 16)) return 'badDst';
  const ed = ethernet.destination;
  const ethOk = multicast
    ? ed[0] === 0x33 && ed[1] === 0x33 && bytesEqual(ed, 2, dst, 12, 4)
    : bytesEqual(ed, 0, iface.mac, 0, 6);
  if (!ethOk) return 'badDst';

  const dad = isUnspecifiedIPv6(ipv6.source);
  const replyTo = dad ? ALL_NODES_MAC : (findLinkLayerAddress(message.options, 'sourceLinkLayerAddress') ?? ethernet.source);
  if (!isUnicastMac(ethernet.source, 0) || (!dad && !isUnicastMac(replyTo, 0))) return 'badSender';
  out.reset();
  return writeNeighborAdvertisement(out, {
    sourceMac: iface.mac,
    destinationMac: replyTo,
    sourceIp: target,
    destinationIp: dad ? ALL_NODES_MULTICAST : ipv6.source,
    target,
    solicited: !dad,
    override: true,
  });
}
