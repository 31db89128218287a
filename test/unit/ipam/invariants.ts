// Checks that must hold after every allocator operation, recomputed by brute force.
import type { AddressPool } from '../../../src/config/types';
import { parseIP } from '../../../src/ipam/address';
import type { Allocator } from '../../../src/ipam/allocator';
import type { Assignment } from '../../../src/ipam/types';
import { bruteTotal, poolHands } from './helpers';

function mayShare(a: Assignment, b: Assignment): boolean {
  const portsClash = a.ports.some((p) => b.ports.some((q) => p.protocol === q.protocol && p.port === q.port));
  return a.sharingKey !== '' && a.sharingKey === b.sharingKey && a.backendKey === b.backendKey && !portsClash;
}

/**
 * @param pools the pools last given to setPools
 * @param keys every service key the test has used (holders are looked up through them)
 */
export function checkInvariants(alloc: Allocator, pools: readonly AddressPool[], keys: Iterable<string>): void {
  const byName = new Map(pools.map((p) => [p.name, p]));
  const holdersOf = new Map<string, Assignment[]>();
  for (const key of new Set(keys)) {
    const a = alloc.assignmentOf(key);
    if (!a) continue;
    const pool = byName.get(a.pool);
    if (!pool) throw new Error(`${key} holds addresses of pool "${a.pool}", which is not configured`);
    const families = a.ips.map((ip) => parseIP(ip).family);
    if (a.ips.length < 1 || a.ips.length > 2 || new Set(families).size !== families.length) {
      throw new Error(`${key} holds ${a.ips.join(',')}: not one address per family`);
    }
    for (const ip of a.ips) {
      if (!poolHands(pool, ip)) throw new Error(`${key} holds ${ip}, which pool "${a.pool}" may not hand out`);
      holdersOf.set(ip, [...(holdersOf.get(ip) ?? []), a]);
    }
  }
  for (const [ip, holders] of holdersOf) {
    const keysOn = holders.map((h) => h.key).sort();
    const reported = alloc.servicesOn(ip);
    if (JSON.stringify(reported) !== JSON.stringify(keysOn)) throw new Error(`servicesOn(${ip}) = ${reported} but holders are ${keysOn}`);
    for (const [i, a] of holders.entries()) {
      for (const b of holders.slice(i + 1)) {
        if (!mayShare(a, b)) throw new Error(`${a.key} and ${b.key} both hold ${ip} but may not share it`);
      }
    }
  }
  const stats = alloc.stats();
  const expectedOrder = [...pools].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1)).map((p) => p.name);
  if (JSON.stringify(stats.map((s) => s.pool)) !== JSON.stringify(expectedOrder)) throw new Error(`stats order ${stats.map((s) => s.pool)}`);
  for (const s of stats) {
    const pool = byName.get(s.pool) as AddressPool;
    const inUse = (family: 4 | 6): bigint =>
      BigInt([...holdersOf.keys()].filter((ip) => parseIP(ip).family === family && poolHands(pool, ip)).length);
    const want = { pool: s.pool, totalV4: bruteTotal(pool, 4), totalV6: bruteTotal(pool, 6), inUseV4: inUse(4), inUseV6: inUse(6) };
    if (JSON.stringify(s, big) !== JSON.stringify(want, big)) throw new Error(`stats ${JSON.stringify(s, big)} != ${JSON.stringify(want, big)}`);
  }
}

function big(_: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
