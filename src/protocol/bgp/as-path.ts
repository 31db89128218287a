// AS_PATH / AS4_PATH segments (RFC 4271 §4.3, confederation types RFC 5065 §3, AS4_PATH RFC 6793 §3).
import { twoOctetAS } from './as-number';
import { BgpDecodeError } from './errors';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export const AsPathSegmentType = {
  AsSet: 1,
  AsSequence: 2,
  AsConfedSequence: 3,
  AsConfedSet: 4,
} as const;

export interface AsPathSegment {
  readonly type: number;
  readonly asns: readonly number[];
}

export type AsWidth = 2 | 4;

/** The segment count is one octet. */
const MAX_SEGMENT_ASNS = 255;

export function isConfederationSegment(s: AsPathSegment): boolean {
  return s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet;
}

function isSegmentType(t: number): boolean {
  return t >= AsPathSegmentType.AsSet && t <= AsPathSegmentType.AsConfedSet;
}

/** RFC 7606 §7.2: unknown segment type, zero-length segment and overrun are all malformed. */
export function decodeAsPath(r: BufferReader, width: AsWidth, fail: (detail: string) => BgpDecodeError): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 2) throw fail('truncated segment header');
    const type = r.u8();
    const count = r.u8();
    if (!isSegmentType(type)) throw fail(`segment type ${type}`);
    if (count === 0) throw fail('empty segment');
    if (count * width > r.remaining) throw fail(`segment of ${count} ASNs overruns the attribute`);
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(width === 4 ? r.u32() : r.u16());
    segments.push({ type, asns });
  }
  return segments;
}

/**
 * Writes segments with `width`-octet ASNs. On a 2-octet session ASNs that do not fit become
 * AS_TRANS (RFC 6793 §4.2.2); segments longer than 255 ASNs continue in a further segment.
 */
export function encodeAsPath(w: BufferWriter, segments: readonly AsPathSegment[], width: AsWidth): void {
  for (const s of segments) {
    if (s.asns.length === 0) throw new RangeError('AS_PATH segment without ASNs');
    for (let i = 0; i < s.asns.length; i += MAX_SEGMENT_ASNS) {
      const chunk = s.asns.slice(i, i + MAX_SEGMENT_ASNS);
      w.u8(s.type).u8(chunk.length);
      for (const asn of chunk) {
        if (width === 4) w.u32(asn);
        else w.u16(twoOctetAS(asn));
      }
    }
  }
}

export function hasFourOctetOnlyAS(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => s.asns.some((asn) => asn > 0xffff));
}
