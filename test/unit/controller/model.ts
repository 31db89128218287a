// A brute-force model of what the controller must guarantee, written without src/ipam or
// src/controller: pools are lists of numbers (198.51.100.N), sharing is MetalLB's rule table
// written out, and a configuration is accepted by enumerating every live address.
export const PREFIX = '198.51.100.';
export const UNIVERSE = 16; // 198.51.100.0 to .15
export const ip = (n: number): string => `${PREFIX}${n}`;
export const num = (text: string): number => Number(text.slice(PREFIX.length));

export type PoolName = 'a' | 'b' | 'c';

export interface PoolSpec {
  name: PoolName;
  lo: number;
  hi: number;
  auto: boolean;
  avoidBuggy: boolean;
  crossNs: boolean;
}

export interface ConfigMapSpec {
  pools: PoolSpec[] | 'invalid';
  allow: boolean;
}

export interface SvcSpec {
  lb: boolean;
  ports: number[];
  local: boolean;
  app: 'x' | 'y';
  lbIP?: number | 'bad';
  pool?: PoolName | 'nope';
  share?: 'k1' | 'k2';
}

/** The addresses a pool hands out: lo..hi, without .0 under avoid-buggy-ips (.255 is outside the universe). */
export function addressesOf(p: PoolSpec): number[] {
  const out: number[] = [];
  for (let n = p.lo; n <= p.hi; n++) if (!(p.avoidBuggy && n === 0)) out.push(n);
  return out;
}

export function poolWith(pools: readonly PoolSpec[] | undefined, n: number): PoolSpec | undefined {
  return pools?.find((p) => addressesOf(p).includes(n));
}

export function configText(cm: ConfigMapSpec): string {
  if (cm.pools === 'invalid') return 'address-pools:\n- name: broken\n  addresses: [198.51.100.0/30]\n';
  const lines = ['address-pools:'];
  for (const p of cm.pools) {
    lines.push(`- name: ${p.name}`, '  protocol: layer2', `  addresses: [${ip(p.lo)}-${ip(p.hi)}]`, `  auto-assign: ${p.auto}`, `  avoid-buggy-ips: ${p.avoidBuggy}`);
    if (!p.crossNs) lines.push('  cross-namespace-sharing: false');
  }
  return lines.join('\n') + '\n';
}

export const validRequest = (s: SvcSpec): boolean => s.lbIP !== 'bad';

const namespaceOf = (key: string): string => key.split('/')[0];

/** MetalLB's sharing table plus ironlb's Local-in-one-namespace rule (the pool's rule is checked on takings). */
export function mayShare(aKey: string, a: SvcSpec, bKey: string, b: SvcSpec): boolean {
  if (!a.share || a.share !== b.share) return false;
  if (a.local !== b.local) return false;
  if (a.local && (a.app !== b.app || namespaceOf(aKey) !== namespaceOf(bKey))) return false;
  return !a.ports.some((p) => b.ports.includes(p));
}

/**
 * Whether the Service shows what it asks for under these pools: an address at all; the requested
 * one; one of the named pool. Unknown pools and invalid requests are never satisfied.
 */
export function satisfied(spec: SvcSpec, shown: readonly number[], pools: readonly PoolSpec[] | undefined): boolean {
  if (shown.length !== 1) return false;
  if (!validRequest(spec)) return false;
  if (typeof spec.lbIP === 'number' && shown[0] !== spec.lbIP) return false;
  if (spec.pool !== undefined) {
    const named = pools?.find((p) => p.name === spec.pool);
    if (!named || !addressesOf(named).includes(shown[0])) return false;
  }
  return true;
}

/**
 * The Services a new pool list would take an address from: each LoadBalancer Service whose shown
 * address is in a pool now and would be in none, or is in the pool its valid request names now
 * and would not be any more.
 */
export function losers(services: ReadonlyMap<string, SvcSpec>, shown: (key: string) => number[], inForce: readonly PoolSpec[] | undefined, next: readonly PoolSpec[]): Set<string> {
  const out = new Set<string>();
  for (const [key, spec] of services) {
    const addrs = shown(key);
    if (!spec.lb || addrs.length !== 1 || !poolWith(inForce, addrs[0])) continue;
    const home = poolWith(next, addrs[0]);
    const wasIn = poolWith(inForce, addrs[0])?.name;
    if (!home) out.add(key);
    else if (validRequest(spec) && spec.pool !== undefined && wasIn === spec.pool && next.some((p) => p.name === spec.pool) && home.name !== spec.pool) out.add(key);
  }
  return out;
}
