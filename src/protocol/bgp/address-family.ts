// AFI/SAFI values ironlb speaks (IANA registries; RFC 4760 §3–§4).
import type { Family } from '../../ipam/address';

export const Afi = { IPv4: 1, IPv6: 2 } as const;
export const Safi = { Unicast: 1 } as const;

/** The IP family of a unicast AFI, or undefined for AFIs this codec does not parse. */
export function familyOfAfi(afi: number): Family | undefined {
  if (afi === Afi.IPv4) return 4;
  if (afi === Afi.IPv6) return 6;
  return undefined;
}

export function afiOfFamily(family: Family): number {
  return family === 4 ? Afi.IPv4 : Afi.IPv6;
}
