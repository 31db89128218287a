// Ethernet II header (IEEE 802.3 framing with an EtherType), optionally one 802.1Q tag.
import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';
import { Decoded, drop, ok, TruncatedError } from './errors';

export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPv6: 0x86dd,
} as const;
export type EtherTypeName = keyof typeof EtherType;

export function etherTypeName(t: number): string {
  for (const [k, v] of Object.entries(EtherType)) if (v === t) return k;
  return `0x${t.toString(16).padStart(4, '0')}`;
}

/** Destination + source + EtherType. */
export const ETHERNET_HEADER_LENGTH = 14;
/** Minimum frame length without the FCS; shorter frames are padded on send. */
export const ETHERNET_MIN_FRAME = 60;

export interface EthernetHeader {
  destination: Buffer;
  source: Buffer;
  /** The EtherType of the payload (after the VLAN tag, if any). */
  etherType: number;
  /** 802.1Q VLAN id, when the frame carried one tag. */
  vlan?: number;
}

export interface EthernetFrame {
  header: EthernetHeader;
  /** View of the bytes after the header. */
  payload: Buffer;
}

export type EthernetDropReason = 'truncated';

export function encodeEthernetHeader(w: BufferWriter, h: EthernetHeader): void {
  w.mac(h.destination).mac(h.source);
  if (h.vlan !== undefined) w.u16(EtherType.VLAN).u16(h.vlan & 0x0fff);
  w.u16(h.etherType);
}

/** Reads the header; throws TruncatedError (use decodeEthernet for the non-throwing API). */
export function readEthernetHeader(r: BufferReader): EthernetHeader {
  const destination = r.mac('ethernet destination');
  const source = r.mac('ethernet source');
  let etherType = r.u16('ethertype');
  if (etherType === EtherType.VLAN) {
    const tci = r.u16('vlan tag');
    etherType = r.u16('ethertype');
    return { destination, source, etherType, vlan: tci & 0x0fff };
  }
  return { destination, source, etherType };
}

export function decodeEthernet(frame: Uint8Array, length = frame.length): Decoded<EthernetFrame, EthernetDropReason> {
  const r = new BufferReader(frame, 0, length);
  try {
    const header = readEthernetHeader(r);
    return ok({ header, payload: r.rest() });
  } catch (e) {
    if (e instanceof TruncatedError) return drop('truncated', e.message);
    throw e;
  }
}
