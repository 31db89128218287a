// ARP for Ethernet/IPv4 (RFC 826), plus gratuitous announcements (RFC 5227 §3).
import { BROADCAST_MAC, ZERO_MAC } from './address';
import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';
import { Decoded, drop, ok, TruncatedError } from './errors';
import { encodeEthernetHeader, ETHERNET_HEADER_LENGTH, ETHERNET_MIN_FRAME, EtherType, readEthernetHeader } from './ethernet';
import type { EthernetHeader } from './ethernet';

export const ArpOperation = { Request: 1, Reply: 2 } as const;
export type ArpOperationCode = (typeof ArpOperation)[keyof typeof ArpOperation];

export const ARP_HARDWARE_ETHERNET = 1;
/** Body length for Ethernet/IPv4. */
export const ARP_PACKET_LENGTH = 28;
/** Ethernet header + ARP body, before padding to the 60-byte minimum. */
export const ARP_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH;

/** Byte offsets inside an untagged Ethernet frame carrying ARP (used by the zero-copy hot path). */
export const ArpFrameOffset = {
  ethDestination: 0,
  ethSource: 6,
  etherType: 12,
  hardwareType: 14,
  protocolType: 16,
  hardwareLength: 18,
  protocolLength: 19,
  operation: 20,
  senderHardware: 22,
  senderProtocol: 28,
  targetHardware: 32,
  targetProtocol: 38,
} as const;

export interface ArpPacket {
  operation: number;
  senderHardwareAddress: Buffer;
  senderProtocolAddress: Buffer;
  targetHardwareAddress: Buffer;
  targetProtocolAddress: Buffer;
}

export type ArpDropReason =
  | 'truncated'
  | 'notArp'
  | 'badHardwareType'
  | 'badProtocolType'
  | 'badAddressLength'
  | 'badOperation';

export function encodeArp(w: BufferWriter, p: ArpPacket): void {
  w.u16(ARP_HARDWARE_ETHERNET)
    .u16(EtherType.IPv4)
    .u8(6)
    .u8(4)
    .u16(p.operation)
    .mac(p.senderHardwareAddress)
    .ipv4(p.senderProtocolAddress)
    .mac(p.targetHardwareAddress)
    .ipv4(p.targetProtocolAddress);
}

/** Decodes an ARP body (no Ethernet header). Only Ethernet/IPv4 is accepted. */
export function decodeArp(body: Uint8Array, length = body.length): Decoded<ArpPacket, ArpDropReason> {
  const r = new BufferReader(body, 0, length);
  try {
    return readArp(r);
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}

function readArp(r: BufferReader): Decoded<ArpPacket, ArpDropReason> {
  const htype = r.u16('arp hardware type');
  const ptype = r.u16('arp protocol type');
  const hlen = r.u8('arp hardware length');
  const plen = r.u8('arp protocol length');
  const operation = r.u16('arp operation');
  if (htype !== ARP_HARDWARE_ETHERNET) return drop('badHardwareType', `hardware type ${htype}`);
  if (ptype !== EtherType.IPv4) return drop('badProtocolType', `protocol type 0x${ptype.toString(16)}`);
  if (hlen !== 6 || plen !== 4) return drop('badAddressLength', `hlen ${hlen} plen ${plen}`);
  if (operation !== ArpOperation.Request && operation !== ArpOperation.Reply) {
    return drop('badOperation', `operation ${operation}`);
  }
  return ok({
    operation,
    senderHardwareAddress: r.mac('arp sender hardware address'),
    senderProtocolAddress: r.ipv4('arp sender protocol address'),
    targetHardwareAddress: r.mac('arp target hardware address'),
    targetProtocolAddress: r.ipv4('arp target protocol address'),
  });
}

export interface ArpFrame {
  ethernet: EthernetHeader;
  arp: ArpPacket;
}

/** Decodes a whole Ethernet frame carrying ARP. Trailing padding is ignored. */
export function decodeArpFrame(frame: Uint8Array, length = frame.length): Decoded<ArpFrame, ArpDropReason> {
  const r = new BufferReader(frame, 0, length);
  try {
    const ethernet = readEthernetHeader(r);
    if (ethernet.etherType !== EtherType.ARP) return drop('notArp', `ethertype 0x${ethernet.etherType.toString(16)}`);
    const arp = readArp(r);
    return arp.ok ? ok({ ethernet, arp: arp.value }) : arp;
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}

/** Encodes Ethernet + ARP, padded to the 60-byte Ethernet minimum. */
export function encodeArpFrame(w: BufferWriter, f: ArpFrame): void {
  const start = w.offset;
  encodeEthernetHeader(w, f.ethernet);
  encodeArp(w, f.arp);
  w.padTo(start + ETHERNET_MIN_FRAME);
}

export function arpFrameBytes(f: ArpFrame): Buffer {
  const w = new BufferWriter(ETHERNET_MIN_FRAME);
  encodeArpFrame(w, f);
  return w.toBuffer();
}

/** A request from `senderMac`/`senderIp` asking who has `targetIp` (broadcast unless `to` is given). */
export function buildArpRequest(senderMac: Buffer, senderIp: Buffer, targetIp: Buffer, to: Buffer = BROADCAST_MAC): Buffer {
  return arpFrameBytes({
    ethernet: { destination: to, source: senderMac, etherType: EtherType.ARP },
    arp: {
      operation: ArpOperation.Request,
      senderHardwareAddress: senderMac,
      senderProtocolAddress: senderIp,
      targetHardwareAddress: ZERO_MAC,
      targetProtocolAddress: targetIp,
    },
  });
}

/** The unicast reply to `request`: `ourMac` has the request's target address. */
export function buildArpReply(request: ArpPacket, ourMac: Buffer): Buffer {
  return arpFrameBytes({
    ethernet: { destination: request.senderHardwareAddress, source: ourMac, etherType: EtherType.ARP },
    arp: {
      operation: ArpOperation.Reply,
      senderHardwareAddress: ourMac,
      senderProtocolAddress: request.targetProtocolAddress,
      targetHardwareAddress: request.senderHardwareAddress,
      targetProtocolAddress: request.senderProtocolAddress,
    },
  });
}

/**
 * Gratuitous ARP: broadcast, sender IP = target IP = `ip`, target hardware address broadcast
 * (as MetalLB/mdlayher send it). Returns [request, reply]; receivers update existing entries.
 */
export function buildGratuitousArp(mac: Buffer, ip: Buffer): [Buffer, Buffer] {
  const make = (operation: number) =>
    arpFrameBytes({
      ethernet: { destination: BROADCAST_MAC, source: mac, etherType: EtherType.ARP },
      arp: {
        operation,
        senderHardwareAddress: mac,
        senderProtocolAddress: ip,
        targetHardwareAddress: BROADCAST_MAC,
        targetProtocolAddress: ip,
      },
    });
  return [make(ArpOperation.Request), make(ArpOperation.Reply)];
}
