// How many addresses a pool can hand out, per family, for the CLI and for pool metrics.
import { rangeSize, type IPRange } from '../ipam/address';
import type { AddressPool } from './types';

export interface AddressCount {
  readonly v4: bigint;
  readonly v6: bigint;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Addresses in [start, end] whose value is congruent to `residue` modulo `modulus`. */
function countCongruent(range: IPRange, residue: bigint, modulus: bigint): bigint {
  return floorDiv(range.end - residue, modulus) - floorDiv(range.start - 1n - residue, modulus);
}

/**
 * With avoid-buggy-ips, IPv4 addresses ending in .0 or .255 are never handed out, so they are
 * subtracted exactly (MetalLB approximates this per /24). Entries never overlap in a valid config.
 */
export function poolAddressCount(pool: AddressPool): AddressCount {
  let v4 = 0n;
  let v6 = 0n;
  for (const { range } of pool.addresses) {
    let size = rangeSize(range);
    if (range.family === 4 && pool.avoidBuggyIPs) {
      size -= countCongruent(range, 0n, 256n) + countCongruent(range, 255n, 256n);
    }
    if (range.family === 4) v4 += size;
    else v6 += size;
  }
  return { v4, v6 };
}
