// Which configured pool holds an address: what the speakers (layer 2 and BGP) and the CLI ask of
// every Service's address to learn how it is announced. Pure.
import { tryParseIP } from '../ip/address';
import { rangeContains } from '../ipam/address';
import type { AddressPool, Config } from './types';

/** The pool holding an address, if any (pools never overlap, and are few: a scan is fine). */
export function poolOf(config: Config, ip: string): AddressPool | undefined {
  const addr = tryParseIP(ip);
  if (!addr) return undefined;
  return config.pools.find((p) => p.addresses.some((a) => rangeContains(a.range, addr)));
}
