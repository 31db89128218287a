// AddressPool builders shared by the allocator tests, the config summary tests and bench:ipam.
import type { AddressPool } from '../../src/config/types';
import { cidrToRange, parseCIDR, parseIP, summarizeRange, type IPRange } from '../../src/ipam/address';

export function rangeOf(text: string): IPRange {
  if (text.includes('/')) return cidrToRange(parseCIDR(text));
  const [a, b] = text.split('-').map((s) => parseIP(s));
  return { family: a.family, start: a.value, end: (b ?? a).value };
}

export interface PoolOptions {
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
  priority?: number;
}

/** A layer2 pool; `addresses` are CIDRs, `A-B` ranges or single addresses. */
export function pool(name: string, addresses: readonly string[], opts: PoolOptions = {}): AddressPool {
  return {
    name,
    protocol: 'layer2',
    addresses: addresses.map((text) => {
      const range = rangeOf(text);
      return { text, range, cidrs: summarizeRange(range) };
    }),
    autoAssign: opts.autoAssign ?? true,
    avoidBuggyIPs: opts.avoidBuggyIPs ?? false,
    bgpAdvertisements: [],
    priority: opts.priority ?? 0,
    interfaces: [],
    nodeSelectors: [],
  };
}
