// Neighbor Discovery (RFC 4861): Neighbor Solicitation / Advertisement, link-layer address
// options, solicited-node multicast helpers and whole-frame builders with the ICMPv6 checksum.
import { isMulticastIPv6, isUnspecifiedIPv6, parseIPv6 } from './address';
import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';
import { Decoded, drop, ok, TruncatedError } from './errors';
import { encodeEthernetHeader, EtherType, readEthernetHeader } from './ethernet';
import type { EthernetHeader } from './ethernet';
import { decodeIcmpv6, Icmpv6Type, setIcmpv6Checksum } from './icmpv6';
import { encodeIpv6Header, IPV6_HEADER_LENGTH, NextHeader, readIpv6Header } from './ipv6';
import type { Ipv6Header } from './ipv6';
import { encodeNdpOption, findLinkLayerAddress, optionLength, readOptions, type NdpOption } from './ndp-options';

export * from './ndp-options';

/** Hop limit every NDP message must be sent and received with (RFC 4861 §7.1.1). */
export const NDP_HOP_LIMIT = 255;

export interface NeighborSolicitation {
  type: 'neighborSolicitation';
  targetAddress: Buffer;
  options: NdpOption[];
}

export interface NeighborAdvertisement {
  type: 'neighborAdvertisement';
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetAddress: Buffer;
  options: NdpOption[];
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

export type NdpDropReason =
  | 'truncated'
  | 'notIpv6'
  | 'badVersion'
  | 'badPayloadLength'
  | 'notIcmpv6'
  | 'badChecksum'
  | 'badHopLimit'
  | 'badCode'
  | 'unsupportedType'
  | 'badTargetAddress'
  | 'badOption'
  | 'badSource';

const FLAG_ROUTER = 0x80000000;
const FLAG_SOLICITED = 0x40000000;
const FLAG_OVERRIDE = 0x20000000;

/** ICMPv6 header (4) + reserved/flags (4) + target (16). */
export const NDP_NS_NA_FIXED_LENGTH = 24;

export const ALL_NODES_MULTICAST: Buffer = parseIPv6('ff02::1');
export const ALL_NODES_MAC: Buffer = Buffer.from([0x33, 0x33, 0, 0, 0, 1]);

/** ff02::1:ffXX:XXXX for the low 24 bits of `address`. */
export function solicitedNodeMulticast(address: Uint8Array): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0xff;
  b[1] = 0x02;
  b[11] = 0x01;
  b[12] = 0xff;
  b[13] = address[13];
  b[14] = address[14];
  b[15] = address[15];
  return b;
}

/** Whether `destination` is the solicited-node multicast address of `target`. */
export function isSolicitedNodeMulticastOf(destination: Uint8Array, target: Uint8Array): boolean {
  if (destination[0] !== 0xff || destination[1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (destination[i] !== 0) return false;
  return (
    destination[11] === 0x01 &&
    destination[12] === 0xff &&
    destination[13] === target[13] &&
    destination[14] === target[14] &&
    destination[15] === target[15]
  );
}

/** 33:33 + the low 32 bits of an IPv6 multicast address (RFC 2464 §7). */
export function ipv6MulticastMac(group: Uint8Array): Buffer {
  return Buffer.from([0x33, 0x33, group[12], group[13], group[14], group[15]]);
}

/** The Ethernet multicast address 33:33:ff:XX:XX:XX a host joins to hear NS for `address`. */
export function solicitedNodeMac(address: Uint8Array): Buffer {
  return ipv6MulticastMac(solicitedNodeMulticast(address));
}

// --- messages -----------------------------------------------------------------------------

/** Writes the ICMPv6 message (checksum left zero: the frame writer fills it in). */
export function encodeNdpMessage(w: BufferWriter, m: NdpMessage): void {
  if (m.type === 'neighborSolicitation') {
    w.u8(Icmpv6Type.NeighborSolicitation).u8(0).u16(0).u32(0);
  } else {
    const flags = (m.router ? FLAG_ROUTER : 0) | (m.solicited ? FLAG_SOLICITED : 0) | (m.override ? FLAG_OVERRIDE : 0);
    w.u8(Icmpv6Type.NeighborAdvertisement).u8(0).u16(0).u32(flags >>> 0);
  }
  w.ipv6(m.targetAddress);
  for (const o of m.options) encodeNdpOption(w, o);
}

export function ndpMessageLength(m: NdpMessage): number {
  return NDP_NS_NA_FIXED_LENGTH + m.options.reduce((n, o) => n + optionLength(o), 0);
}

/**
 * Decodes an NS or NA from an ICMPv6 message (type, code, checksum, body). Checks the code and
 * the target; does not verify the checksum (decodeIcmpv6 / decodeNdpFrame do).
 */
export function decodeNdpMessage(message: Uint8Array, length = message.length): Decoded<NdpMessage, NdpDropReason> {
  const r = new BufferReader(message, 0, length);
  try {
    const type = r.u8('icmpv6 type');
    const code = r.u8('icmpv6 code');
    r.skip(2, 'icmpv6 checksum');
    if (type !== Icmpv6Type.NeighborSolicitation && type !== Icmpv6Type.NeighborAdvertisement) {
      return drop('unsupportedType', `icmpv6 type ${type}`);
    }
    if (code !== 0) return drop('badCode', `code ${code}`);
    const flags = r.u32('ndp flags/reserved');
    const targetAddress = r.ipv6('ndp target address');
    if (isMulticastIPv6(targetAddress)) return drop('badTargetAddress', 'multicast target');
    const options = readOptions(r);
    if (!options) return drop('badOption');
    if (type === Icmpv6Type.NeighborSolicitation) {
      return ok({ type: 'neighborSolicitation', targetAddress, options });
    }
    return ok({
      type: 'neighborAdvertisement',
      router: (flags & FLAG_ROUTER) !== 0,
      solicited: (flags & FLAG_SOLICITED) !== 0,
      override: (flags & FLAG_OVERRIDE) !== 0,
      targetAddress,
      options,
    });
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}

// --- frames -------------------------------------------------------------------------------

export interface NdpFrame {
  ethernet: EthernetHeader;
  ipv6: Ipv6Header;
  message: NdpMessage;
}

/**
 * Decodes and validates an Ethernet frame carrying NS or NA (RFC 4861 §7.1.1 / §7.1.2): IPv6 with
 * next header ICMPv6 (no extension headers), hop limit 255, valid checksum, code 0, non-multicast
 * target, well-formed options, a source that is not multicast; an NS from the unspecified address (DAD) must go to the target's
 * solicited-node group and carry no source link-layer option; an NA to a multicast destination
 * must not be Solicited.
 */
export function decodeNdpFrame(frame: Uint8Array, length = frame.length): Decoded<NdpFrame, NdpDropReason> {
  const r = new BufferReader(frame, 0, length);
  try {
    const ethernet = readEthernetHeader(r);
    if (ethernet.etherType !== EtherType.IPv6) return drop('notIpv6');
    const ipStart = r.offset;
    const { version, ...ipv6 } = readIpv6Header(r);
    if (version !== 6) return drop('badVersion', `version ${version}`);
    if (ipv6.payloadLength > r.remaining) return drop('badPayloadLength');
    if (ipv6.nextHeader !== NextHeader.ICMPv6) return drop('notIcmpv6', `next header ${ipv6.nextHeader}`);
    const icmpStart = ipStart + IPV6_HEADER_LENGTH;
    const icmp = decodeIcmpv6(ipv6.source, ipv6.destination, frame.subarray(icmpStart, icmpStart + ipv6.payloadLength));
    if (!icmp.ok) return icmp;
    if (icmp.value.type !== Icmpv6Type.NeighborSolicitation && icmp.value.type !== Icmpv6Type.NeighborAdvertisement) {
      return drop('unsupportedType', `icmpv6 type ${icmp.value.type}`);
    }
    if (ipv6.hopLimit !== NDP_HOP_LIMIT) return drop('badHopLimit', `hop limit ${ipv6.hopLimit}`);
    const message = decodeNdpMessage(frame.subarray(icmpStart, icmpStart + ipv6.payloadLength));
    if (!message.ok) return message;
    const m = message.value;
    // RFC 4291 §2.7: never a multicast source (an answer to one would go to a whole group).
    if (isMulticastIPv6(ipv6.source)) return drop('badSource', 'multicast source address');
    if (m.type === 'neighborSolicitation' && isUnspecifiedIPv6(ipv6.source)) {
      if (!isSolicitedNodeMulticastOf(ipv6.destination, m.targetAddress)) return drop('badSource', 'DAD NS not to solicited-node group');
      if (findLinkLayerAddress(m.options, 'sourceLinkLayerAddress')) return drop('badSource', 'DAD NS with source link-layer option');
    }
    if (m.type === 'neighborAdvertisement' && m.solicited && isMulticastIPv6(ipv6.destination)) {
      return drop('badSource', 'solicited NA to a multicast destination');
    }
    return ok({ ethernet, ipv6, message: m });
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}

/** Offsets in an untagged Ethernet frame carrying IPv6 + ICMPv6 without extension headers. */
const NS_NEXT_HEADER_AT = 14 + 6;
const NS_TYPE_AT = 14 + IPV6_HEADER_LENGTH;
const NS_TARGET_AT = NS_TYPE_AT + 8;

/**
 * Where the target address of a Neighbor Solicitation sits, judged from fixed offsets only
 * (untagged Ethernet, IPv6, next header ICMPv6, type 135, long enough for the target), or -1.
 * Validates nothing else: a cheap first look so that the responder can drop solicitations for
 * addresses it does not own before decodeNdpFrame verifies the checksum and copies options.
 */
export function peekSolicitationTarget(frame: Uint8Array, length = frame.length): number {
  const end = Math.min(length, frame.length);
  if (end < NS_TARGET_AT + 16) return -1;
  if (((frame[12] << 8) | frame[13]) !== EtherType.IPv6) return -1;
  if (frame[NS_NEXT_HEADER_AT] !== NextHeader.ICMPv6 || frame[NS_TYPE_AT] !== Icmpv6Type.NeighborSolicitation) return -1;
  return NS_TARGET_AT;
}

export interface NdpFrameSpec {
  sourceMac: Buffer;
  destinationMac: Buffer;
  sourceIp: Buffer;
  destinationIp: Buffer;
  message: NdpMessage;
  /** Defaults to 255; other values only for tests. */
  hopLimit?: number;
}

/** Writes Ethernet + IPv6 + NDP message with the ICMPv6 checksum; returns the frame length. */
export function writeNdpFrame(w: BufferWriter, spec: NdpFrameSpec): number {
  const start = w.offset;
  encodeEthernetHeader(w, { destination: spec.destinationMac, source: spec.sourceMac, etherType: EtherType.IPv6 });
  const ipStart = w.offset;
  encodeIpv6Header(w, {
    trafficClass: 0,
    flowLabel: 0,
    payloadLength: 0,
    nextHeader: NextHeader.ICMPv6,
    hopLimit: spec.hopLimit ?? NDP_HOP_LIMIT,
    source: spec.sourceIp,
    destination: spec.destinationIp,
  });
  const icmpStart = w.offset;
  encodeNdpMessage(w, spec.message);
  const icmpEnd = w.offset;
  w.setU16At(ipStart + 4, icmpEnd - icmpStart);
  setIcmpv6Checksum(spec.sourceIp, spec.destinationIp, w.view(icmpStart, icmpEnd));
  return w.offset - start;
}

export function ndpFrameBytes(spec: NdpFrameSpec): Buffer {
  const w = new BufferWriter(128);
  writeNdpFrame(w, spec);
  return w.toBuffer();
}

/**
 * A Neighbor Solicitation from `sourceMac`/`sourceIp` for `target`. By default multicast to the
 * target's solicited-node group with a Source Link-Layer Address option; pass `destinationIp` +
 * `destinationMac` for a unicast NUD probe, `includeSourceLinkLayer: false` to omit the option.
 */
export function buildNeighborSolicitation(opts: {
  sourceMac: Buffer;
  sourceIp: Buffer;
  target: Buffer;
  destinationIp?: Buffer;
  destinationMac?: Buffer;
  includeSourceLinkLayer?: boolean;
}): Buffer {
  const destinationIp = opts.destinationIp ?? solicitedNodeMulticast(opts.target);
  const destinationMac = opts.destinationMac ?? ipv6MulticastMac(destinationIp);
  const includeSlla = opts.includeSourceLinkLayer ?? !isUnspecifiedIPv6(opts.sourceIp);
  return ndpFrameBytes({
    sourceMac: opts.sourceMac,
    destinationMac,
    sourceIp: opts.sourceIp,
    destinationIp,
    message: {
      type: 'neighborSolicitation',
      targetAddress: opts.target,
      options: includeSlla ? [{ kind: 'sourceLinkLayerAddress', address: opts.sourceMac }] : [],
    },
  });
}

export interface NeighborAdvertisementSpec {
  sourceMac: Buffer;
  destinationMac: Buffer;
  sourceIp: Buffer;
  destinationIp: Buffer;
  target: Buffer;
  solicited: boolean;
  override: boolean;
  router?: boolean;
}

function naMessage(s: NeighborAdvertisementSpec): NeighborAdvertisement {
  return {
    type: 'neighborAdvertisement',
    router: s.router ?? false,
    solicited: s.solicited,
    override: s.override,
    targetAddress: s.target,
    options: [{ kind: 'targetLinkLayerAddress', address: s.sourceMac }],
  };
}

/** Writes an NA carrying a Target Link-Layer Address option = `sourceMac`; returns the length. */
export function writeNeighborAdvertisement(w: BufferWriter, s: NeighborAdvertisementSpec): number {
  return writeNdpFrame(w, { sourceMac: s.sourceMac, destinationMac: s.destinationMac, sourceIp: s.sourceIp, destinationIp: s.destinationIp, message: naMessage(s) });
}

export function buildNeighborAdvertisement(s: NeighborAdvertisementSpec): Buffer {
  const w = new BufferWriter(96);
  writeNeighborAdvertisement(w, s);
  return w.toBuffer();
}

/** Unsolicited NA to all nodes (ff02::1, 33:33:00:00:00:01): Override=1, Solicited=0. */
export function buildUnsolicitedNeighborAdvertisement(mac: Buffer, sourceIp: Buffer, target: Buffer): Buffer {
  return buildNeighborAdvertisement({
    sourceMac: mac,
    destinationMac: ALL_NODES_MAC,
    sourceIp,
    destinationIp: ALL_NODES_MULTICAST,
    target,
    solicited: false,
    override: true,
  });
}
