// Builders for allocator tests: pools from address text, requests with defaults.
import type { AddressPool } from '../../../src/config/types';
import { parseIP } from '../../../src/ipam/address';
import type { ServiceRequest } from '../../../src/ipam/types';

export { pool, rangeOf, type PoolOptions } from '../../helpers/pools';

/** A single-stack IPv4 service on TCP/80 with no sharing, unless overridden. */
export function svc(key: string, over: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    key,
    families: [4],
    familyPolicy: 'SingleStack',
    requestedIPs: [],
    sharingKey: '',
    backendKey: '',
    ports: [{ protocol: 'TCP', port: 80 }],
    ...over,
  };
}

export function tcp(...ports: number[]): { protocol: string; port: number }[] {
  return ports.map((port) => ({ protocol: 'TCP', port }));
}

// Written independently of src/ipam so that the tests do not check the code against itself.
const avoided = (p: AddressPool, family: 4 | 6, value: bigint): boolean => family === 4 && p.avoidBuggyIPs && [0n, 255n].includes(value & 255n);

/** True when the pool may hand out the address: inside an entry, and not .0/.255 under avoid-buggy-ips. */
export function poolHands(p: AddressPool, text: string): boolean {
  const ip = parseIP(text);
  return !avoided(p, ip.family, ip.value) && p.addresses.some((a) => a.range.family === ip.family && a.range.start <= ip.value && ip.value <= a.range.end);
}

/** Pool size by enumeration; only for small pools. */
export function bruteTotal(p: AddressPool, family: 4 | 6): bigint {
  const seen = new Set<bigint>();
  for (const { range } of p.addresses) {
    if (range.family !== family) continue;
    for (let x = range.start; x <= range.end; x++) {
      if (!avoided(p, family, x)) seen.add(x);
    }
  }
  return BigInt(seen.size);
}
