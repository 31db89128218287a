// Neighbor Discovery options (RFC 4861 §4.6): the link-layer address options the responder
// reads and writes, and every other option kept byte for byte.
import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';

export const NdpOptionType = {
  SourceLinkLayerAddress: 1,
  TargetLinkLayerAddress: 2,
  PrefixInformation: 3,
  RedirectedHeader: 4,
  MTU: 5,
  Nonce: 14,
} as const;

export type NdpOption =
  | { kind: 'sourceLinkLayerAddress'; address: Buffer }
  | { kind: 'targetLinkLayerAddress'; address: Buffer }
  /** Any other option, kept byte for byte (data excludes the 2-byte type/length). */
  | { kind: 'raw'; type: number; data: Buffer };

/** Bytes the option takes on the wire. */
export function optionLength(o: NdpOption): number {
  if (o.kind === 'raw') return 2 + o.data.length;
  return 8;
}

export function encodeNdpOption(w: BufferWriter, o: NdpOption): void {
  if (o.kind === 'raw') {
    const total = 2 + o.data.length;
    if (total % 8 !== 0 || total === 0 || total > 255 * 8) {
      throw new RangeError(`ndp: raw option length ${total} is not a non-zero multiple of 8`);
    }
    w.u8(o.type).u8(total / 8).bytes(o.data);
    return;
  }
  const type = o.kind === 'sourceLinkLayerAddress' ? NdpOptionType.SourceLinkLayerAddress : NdpOptionType.TargetLinkLayerAddress;
  w.u8(type).u8(1).mac(o.address);
}

/** Parses options up to the end of `r`. Returns undefined when an option is malformed. */
export function readOptions(r: BufferReader): NdpOption[] | undefined {
  const out: NdpOption[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 2) return undefined;
    const type = r.u8('ndp option type');
    const units = r.u8('ndp option length');
    if (units === 0) return undefined; // RFC 4861 §4.6: must silently discard
    const dataLen = units * 8 - 2;
    if (dataLen > r.remaining) return undefined;
    const data = r.copy(dataLen, 'ndp option data');
    if ((type === NdpOptionType.SourceLinkLayerAddress || type === NdpOptionType.TargetLinkLayerAddress) && units === 1) {
      out.push({
        kind: type === NdpOptionType.SourceLinkLayerAddress ? 'sourceLinkLayerAddress' : 'targetLinkLayerAddress',
        address: data.subarray(0, 6),
      });
    } else {
      out.push({ kind: 'raw', type, data });
    }
  }
  return out;
}

export function findLinkLayerAddress(options: NdpOption[], kind: 'sourceLinkLayerAddress' | 'targetLinkLayerAddress'): Buffer | undefined {
  for (const o of options) if (o.kind === kind) return o.address;
  return undefined;
}
