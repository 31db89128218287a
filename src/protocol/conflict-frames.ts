// Address conflict detection frames (RFC 5227 for IPv4, RFC 4862 §5.4 DAD for IPv6): the probes
// an elected node sends before it first announces an address, and the reading of the frames that
// show somebody else using an address (who claims which address, from which MAC). Reads in place
// through the same decode paths as the responder (locateArp, decodeNdpFrame); pure, no I/O.
import { BROADCAST_MAC, ZERO_MAC } from './address';
import { ArpBodyOffset, ArpOperation, arpFrameBytes, locateArp } from './arp';
import { EtherType } from './ethernet';
import { buildNeighborSolicitation, decodeNdpFrame, findLinkLayerAddress } from './ndp';

const IPV4_ZERO = Buffer.alloc(4);
const IPV6_UNSPECIFIED = Buffer.alloc(16);

/**
 * ARP Probe (RFC 5227 §2.1.1): a broadcast request with sender hardware address `mac`, sender
 * protocol address 0.0.0.0, target hardware address zero and target protocol address `ip`.
 * A host that uses `ip` answers it; nobody's ARP cache learns anything from it.
 */
export function buildArpProbe(mac: Buffer, ip: Buffer): Buffer {
  if (mac.length !== 6 || ip.length !== 4) throw new RangeError('buildArpProbe: need a 6-byte MAC and a 4-byte IPv4 address');
  return arpFrameBytes({
    ethernet: { destination: BROADCAST_MAC, source: mac, etherType: EtherType.ARP },
    arp: {
      operation: ArpOperation.Request,
      senderHardwareAddress: mac,
      senderProtocolAddress: IPV4_ZERO,
      targetHardwareAddress: ZERO_MAC,
      targetProtocolAddress: ip,
    },
  });
}

/** DAD probe (RFC 4862 §5.4.2): an NS from :: for `target` to its solicited-node group, no SLLA option. */
export function buildDadProbe(mac: Buffer, target: Buffer): Buffer {
  if (mac.length !== 6 || target.length !== 16) throw new RangeError('buildDadProbe: need a 6-byte MAC and a 16-byte IPv6 address');
  return buildNeighborSolicitation({ sourceMac: mac, sourceIp: IPV6_UNSPECIFIED, target, includeSourceLinkLayer: false });
}

/** A frame that shows a host using an address: its sender address and hardware address. */
export interface AddressClaim {
  /** 4 or 16 bytes (a copy). */
  address: Buffer;
  /** The claimant's MAC as lower-case hex without separators (the ARP sender / NA target link-layer address). */
  mac: string;
}

/**
 * The IPv4 address an ARP frame's sender claims (request or reply, gratuitous or not), as a
 * 32-bit unsigned number, or -1 when the frame is no whole Ethernet/IPv4 ARP frame or its sender
 * address is 0.0.0.0 (a probe claims nothing). Allocates nothing: the responder checks every
 * ARP frame with it before it looks closer.
 */
export function arpSenderAddress(frame: Uint8Array, length: number): number {
  const at = locateArp(frame, length);
  if (typeof at !== 'number') return -1;
  const o = at + ArpBodyOffset.senderProtocol;
  const v = ((frame[o] << 24) >>> 0) + (frame[o + 1] << 16) + (frame[o + 2] << 8) + frame[o + 3];
  return v === 0 ? -1 : v;
}

/**
 * The claim an ARP frame makes: its sender protocol address and sender hardware address. The
 * Ethernet source must be the same MAC (a proxy or a forged frame is not evidence of a host).
 */
export function readArpClaim(frame: Uint8Array, length: number): AddressClaim | undefined {
  const at = locateArp(frame, length);
  if (typeof at !== 'number') return undefined;
  const sha = at + ArpBodyOffset.senderHardware;
  for (let i = 0; i < 6; i++) if (frame[sha + i] !== frame[6 + i]) return undefined;
  const spa = at + ArpBodyOffset.senderProtocol;
  const address = Buffer.from(frame.subarray(spa, spa + 4));
  if (address.every((b) => b === 0)) return undefined;
  return { address, mac: Buffer.from(frame.subarray(sha, sha + 6)).toString('hex') };
}

/**
 * The claim a Neighbor Advertisement makes: its target address, from the Target Link-Layer
 * Address option (else the Ethernet source). Solicitations claim nothing here (a DAD NS from
 * another host probing the same address is not use of it). Checksums and fields are verified.
 */
export function readNdpClaim(frame: Uint8Array, length: number): AddressClaim | undefined {
  const d = decodeNdpFrame(frame, length);
  if (!d.ok || d.value.message.type !== 'neighborAdvertisement') return undefined;
  const m = d.value.message;
  const mac = findLinkLayerAddress(m.options, 'targetLinkLayerAddress') ?? d.value.ethernet.source;
  return { address: Buffer.from(m.targetAddress), mac: Buffer.from(mac).toString('hex') };
}

/** "aa:bb:cc:dd:ee:ff" or "aabbccddeeff" → "aabbccddeeff"; undefined when not a MAC. */
export function macKey(text: string): string | undefined {
  const hex = text.toLowerCase().replace(/[:-]/g, '');
  return /^[0-9a-f]{12}$/.test(hex) ? hex : undefined;
}

/** "aabbccddeeff" → "aa:bb:cc:dd:ee:ff". */
export function macText(key: string): string {
  return key.match(/../g)?.join(':') ?? key;
}
