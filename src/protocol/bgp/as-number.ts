// AS numbers across the 2-octet/4-octet boundary (RFC 6793).

/** Stands in for a 4-octet AS wherever only 2 octets fit (RFC 6793 §9). */
export const AS_TRANS = 23456;

/** The value a 2-octet AS field carries for `asn` (RFC 6793 §4.2.2). */
export function twoOctetAS(asn: number): number {
  if (!Number.isInteger(asn) || asn < 0 || asn > 0xffffffff) throw new RangeError(`AS ${asn} out of range`);
  return asn > 0xffff ? AS_TRANS : asn;
}
