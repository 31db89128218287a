// ARP for Ethernet/IPv4 (RFC 826), plus gratuitous announcements (RFC 5227 §3).
import { BROADCAST_MAC, ZERO_MAC } from './address';
import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';
import { Decoded, drop, ok } from './errors';
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
  const at = checkArpBody(body, 0, clampLength(body, length));
  return typeof at === 'number' ? ok(readArpFields(body, at)) : drop(at);
}

export interface ArpFrame {
  ethernet: EthernetHeader;
  arp: ArpPacket;
}

function clampLength(b: Uint8Array, length: number): number {
  return Math.max(0, Math.min(length, b.length));
}

/** Checks the fixed ARP fields at `at` (Ethernet/IPv4 request or reply, all 28 bytes present). */
function checkArpBody(b: Uint8Array, at: number, end: number): number | ArpDropReason {
  if (end - at < 8) return 'truncated';
  if (((b[at] << 8) | b[at + 1]) !== ARP_HARDWARE_ETHERNET) return 'badHardwareType';
  if (((b[at + 2] << 8) | b[at + 3]) !== EtherType.IPv4) return 'badProtocolType';
  if (b[at + 4] !== 6 || b[at + 5] !== 4) return 'badAddressLength';
  const operation = (b[at + 6] << 8) | b[at + 7];
  if (operation !== ArpOperation.Request && operation !== ArpOperation.Reply) return 'badOperation';
  if (end - at < ARP_PACKET_LENGTH) return 'truncated';
  return at;
}

/**
 * Where the ARP body of an Ethernet frame starts (after the header and at most one 802.1Q tag),
 * or why the frame is not a whole Ethernet/IPv4 ARP request or reply. Reads in place, allocates
 * nothing. The one ARP decode path: decodeArpFrame and the responder's answerArp both use it, so
 * they cannot disagree on what an ARP frame is. Body fields: ArpBodyOffset.
 */
export function locateArp(frame: Uint8Array, length = frame.length): number | ArpDropReason {
  const end = clampLength(frame, length);
  if (end < ETHERNET_HEADER_LENGTH) return 'truncated';
  let at = 12;
  let etherType = (frame[at] << 8) | frame[at + 1];
  if (etherType === EtherType.VLAN) {
    if (end < ETHERNET_HEADER_LENGTH + 4) return 'truncated';
    at += 4;
    etherType = (frame[at] << 8) | frame[at + 1];
  }
  if (etherType !== EtherType.ARP) return 'notArp';
  return checkArpBody(frame, at + 2, end);
}

/** Field offsets inside an ARP body (add the body offset from locateArp). */
export const ArpBodyOffset = {
  operation: 6,
  senderHardware: 8,
  senderProtocol: 14,
  targetHardware: 18,
  targetProtocol: 24,
} as const;

function readArpFields(b: Uint8Array, at: number): ArpPacket {
  const O = ArpBodyOffset;
  const copy = (from: number, n: number) => Buffer.from(b.subarray(at + from, at + from + n));
  return {
    operation: (b[at + O.operation] << 8) | b[at + O.operation + 1],
    senderHardwareAddress: copy(O.senderHardware, 6),
    senderProtocolAddress: copy(O.senderProtocol, 4),
    targetHardwareAddress: copy(O.targetHardware, 6),
    targetProtocolAddress: copy(O.targetProtocol, 4),
  };
}

/** Decodes a whole Ethernet frame carrying ARP. Trailing padding is ignored. */
export function decodeArpFrame(frame: Uint8Array, length = frame.length): Decoded<ArpFrame, ArpDropReason> {
  const at = locateArp(frame, length);
  if (typeof at !== 'number') return drop(at);
  const ethernet = readEthernetHeader(new BufferReader(frame, 0, at));
  return ok({ ethernet, arp: readArpFields(frame, at) });
}

/**
 * Writes the unicast reply to a request into `out` (at least 60 bytes): from `ourMac` to the
 * requester's hardware address, "the requested address is at ourMac", padded to the Ethernet
 * minimum. The requester's hardware and protocol addresses and the requested address are read
 * in place from `sha`/`spa`/`tpa` at the given offsets, so the responder's hot path builds its
 * answer straight from the received frame without allocating. Returns the frame length (60).
 */
export function writeArpReply(
  out: Uint8Array,
  ourMac: Uint8Array,
  sha: Uint8Array,
  shaAt: number,
  spa: Uint8Array,
  spaAt: number,
  tpa: Uint8Array,
  tpaAt: number,
): number {
  const O = ArpFrameOffset;
  for (let i = 0; i < 6; i++) {
    const requester = sha[shaAt + i];
    out[O.ethDestination + i] = requester;
    out[O.targetHardware + i] = requester;
    out[O.ethSource + i] = ourMac[i];
    out[O.senderHardware + i] = ourMac[i];
  }
  for (let i = 0; i < 4; i++) {
    out[O.senderProtocol + i] = tpa[tpaAt + i];
    out[O.targetProtocol + i] = spa[spaAt + i];
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
  const out = Buffer.alloc(ETHERNET_MIN_FRAME);
  writeArpReply(out, ourMac, request.senderHardwareAddress, 0, request.senderProtocolAddress, 0, request.targetProtocolAddress, 0);
  return out;
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
