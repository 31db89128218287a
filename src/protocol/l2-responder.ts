// The decision half of the layer-2 responder, free of sockets: given one received frame, either
// write the answer into a caller-provided buffer (returning its length) or return why not.
// The worker (src/speaker/layer2/responder-worker.ts) only moves bytes between sockets and this.
import { bytesEqual, ipv4ToNumber, isUnspecifiedIPv6 } from './address';
import { ArpFrameOffset, ArpOperation, ARP_FRAME_LENGTH, ARP_HARDWARE_ETHERNET } from './arp';
import { BufferWriter } from './buffer-writer';
import { ETHERNET_MIN_FRAME, EtherType } from './ethernet';
import { ALL_NODES_MAC, ALL_NODES_MULTICAST, decodeNdpFrame, findLinkLayerAddress, isSolicitedNodeMulticastOf, writeNeighborAdvertisement } from './ndp';

export type L2DropReason = 'notOwned' | 'notRequest' | 'badDst' | 'malformed' | 'interfaceNotAllowed' | 'ownPacket';

export const L2_DROP_REASONS: readonly L2DropReason[] = ['notOwned', 'notRequest', 'badDst', 'malformed', 'interfaceNotAllowed', 'ownPacket'];

/** What the responder knows about the interface a frame arrived on. */
export interface ResponderInterfaceView {
  ifindex: number;
  mac: Buffer;
}

type Allowed = ReadonlySet<number> | null;

/**
 * The addresses this node answers for, each with the ifindexes it may be answered on (null: any
 * interface the responder listens on). IPv4 is keyed by its 32-bit value so the hot path does not
 * allocate; IPv6 by its hex text.
 */
export class OwnedAddresses {
  private readonly v4 = new Map<number, Allowed>();
  private readonly v6 = new Map<string, Allowed>();

  setV4(ip: Uint8Array, ifindexes: Allowed = null): void {
    this.v4.set(ipv4ToNumber(ip), ifindexes);
  }

  setV6(ip: Uint8Array, ifindexes: Allowed = null): void {
    this.v6.set(Buffer.from(ip.buffer, ip.byteOffset, 16).toString('hex'), ifindexes);
  }

  deleteV4(ip: Uint8Array): boolean {
    return this.v4.delete(ipv4ToNumber(ip));
  }

  deleteV6(ip: Uint8Array): boolean {
    return this.v6.delete(Buffer.from(ip.buffer, ip.byteOffset, 16).toString('hex'));
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
  }

  get sizeV4(): number {
    return this.v4.size;
  }

  get sizeV6(): number {
    return this.v6.size;
  }

  checkV4(ip: number, ifindex: number): 'ok' | 'notOwned' | 'interfaceNotAllowed' {
    const allowed = this.v4.get(ip);
    if (allowed === undefined) return 'notOwned';
    if (allowed !== null && !allowed.has(ifindex)) return 'interfaceNotAllowed';
    return 'ok';
  }

  checkV6(ip: Uint8Array, ifindex: number): 'ok' | 'notOwned' | 'interfaceNotAllowed' {
    const allowed = this.v6.get(Buffer.from(ip.buffer, ip.byteOffset, 16).toString('hex'));
    if (allowed === undefined) return 'notOwned';
    if (allowed !== null && !allowed.has(ifindex)) return 'interfaceNotAllowed';
    return 'ok';
  }
}

function isBroadcast(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 6; i++) if (b[off + i] !== 0xff) return false;
  return true;
}

/**
 * ARP: answers requests (Ethernet destination broadcast or our MAC) for owned targets with a
 * unicast reply from the interface MAC to the requester's hardware address. Works in place on the
 * fixed Ethernet/IPv4 layout without allocating; `out` (not the input buffer) must hold at least 60 bytes. Returns the reply length or the
 * drop reason.
 */
export function answerArp(
  frame: Uint8Array,
  length: number,
  iface: ResponderInterfaceView,
  owned: OwnedAddresses,
  out: Buffer,
): number | L2DropReason {
  const O = ArpFrameOffset;
  if (length < ARP_FRAME_LENGTH || length > frame.length) return 'malformed';
  if (((frame[O.etherType] << 8) | frame[O.etherType + 1]) !== EtherType.ARP) return 'malformed';
  if (((frame[O.hardwareType] << 8) | frame[O.hardwareType + 1]) !== ARP_HARDWARE_ETHERNET) return 'malformed';
  if (((frame[O.protocolType] << 8) | frame[O.protocolType + 1]) !== EtherType.IPv4) return 'malformed';
  if (frame[O.hardwareLength] !== 6 || frame[O.protocolLength] !== 4) return 'malformed';
  if (((frame[O.operation] << 8) | frame[O.operation + 1]) !== ArpOperation.Request) return 'notRequest';
  if (bytesEqual(frame, O.ethSource, iface.mac, 0, 6)) return 'ownPacket';
  if (!isBroadcast(frame, O.ethDestination) && !bytesEqual(frame, O.ethDestination, iface.mac, 0, 6)) return 'badDst';
  const verdict = owned.checkV4(ipv4ToNumber(frame, O.targetProtocol), iface.ifindex);
  if (verdict !== 'ok') return verdict;

  // Reply: to the requester's hardware address, from us, "target IP is at our MAC".
  // Byte loops instead of subarray(): no allocation on the hot path.
  const mac = iface.mac;
  for (let i = 0; i < 6; i++) {
    const requester = frame[O.senderHardware + i];
    out[O.ethDestination + i] = requester;
    out[O.targetHardware + i] = requester;
    out[O.ethSource + i] = mac[i];
    out[O.senderHardware + i] = mac[i];
  }
  for (let i = 0; i < 4; i++) {
    const target = frame[O.targetProtocol + i];
    out[O.targetProtocol + i] = frame[O.senderProtocol + i];
    out[O.senderProtocol + i] = target;
  }
  out[O.etherType] = EtherType.ARP >> 8;
  out[O.etherType + 1] = EtherType.ARP & 0xff;
  out[O.hardwareType] = 0;
  out[O.hardwareType + 1] = ARP_HARDWARE_ETHERNET;
  out[O.protocolType] = EtherType.IPv4 >> 8;
  out[O.protocolType + 1] = EtherType.IPv4 & 0xff;
  out[O.hardwareLength] = 6;
  out[O.protocolLength] = 4;
  out[O.operation] = 0;
  out[O.operation + 1] = ArpOperation.Reply;
  out.fill(0, ARP_FRAME_LENGTH, ETHERNET_MIN_FRAME);
  return ETHERNET_MIN_FRAME;
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
  const decoded = decodeNdpFrame(frame, length);
  if (!decoded.ok) return decoded.reason === 'unsupportedType' || decoded.reason === 'notIcmpv6' ? 'notRequest' : 'malformed';
  const { ethernet, ipv6, message } = decoded.value;
  if (message.type !== 'neighborSolicitation') return 'notRequest';
  if (bytesEqual(ethernet.source, 0, iface.mac, 0, 6)) return 'ownPacket';

  const target = message.targetAddress;
  const dst = ipv6.destination;
  const multicast = isSolicitedNodeMulticastOf(dst, target);
  if (!multicast && !bytesEqual(dst, 0, target, 0, 16)) return 'badDst';
  const ed = ethernet.destination;
  const ethOk = multicast
    ? ed[0] === 0x33 && ed[1] === 0x33 && bytesEqual(ed, 2, dst, 12, 4)
    : bytesEqual(ed, 0, iface.mac, 0, 6);
  if (!ethOk) return 'badDst';

  const verdict = owned.checkV6(target, iface.ifindex);
  if (verdict !== 'ok') return verdict;

  const dad = isUnspecifiedIPv6(ipv6.source);
  out.reset();
  return writeNeighborAdvertisement(out, {
    sourceMac: iface.mac,
    destinationMac: dad ? ALL_NODES_MAC : (findLinkLayerAddress(message.options, 'sourceLinkLayerAddress') ?? ethernet.source),
    sourceIp: target,
    destinationIp: dad ? ALL_NODES_MULTICAST : ipv6.source,
    target,
    solicited: !dad,
    override: true,
  });
}
