// Whether a new configuration may replace the one in force (pure). MetalLB v0.12 refused a
// configuration that took addresses away from live Services ("new config not compatible with
// assigned IPs"); ironlb does the same and names every Service that would lose its address,
// unless the ConfigMap carries ironlb.io/allow-address-changes: "true". Losing it includes being
// moved because the pool a Service names by annotation would no longer contain its address.
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { parseIP } from '../ipam/address';
import type { Allocator } from '../ipam/allocator';
import { PoolState } from '../ipam/pool';
import { ALLOW_ADDRESS_CHANGES, type ConfigMeta, type Verdict } from '../k8s/config-gate';
import { buildRequest, handling, serviceKey } from './service-request';

export function configCompatibility(
  holding: Allocator,
  config: Config,
  meta: ConfigMeta,
  services: readonly k8s.V1Service[],
  lbClass: string | undefined,
): { verdict: Verdict; blockers: ReadonlySet<string> } {
  if (meta.allowAddressChanges) return { verdict: { ok: true }, blockers: new Set() };
  const lost = new Map(holding.invalidatedBy(config.pools).map((l) => [l.key, l.why]));
  const pools = new Map(config.pools.map((p) => [p.name, p]));
  for (const svc of services) {
    const key = serviceKey(svc);
    const held = holding.assignmentOf(key);
    if (!held || lost.has(key) || !handling(svc, lbClass).handled) continue;
    const built = buildRequest(svc);
    const named = built.ok && built.request.poolName ? pools.get(built.request.poolName) : undefined;
    // No pool named, or one that does not exist (the Service keeps its address), or its address is
    // not in the named pool now either (its own request waits to be met): nothing the config does.
    if (!named || held.pool !== named.name) continue;
    const state = new PoolState(named);
    if (!held.ips.every((ip) => state.contains(parseIP(ip)))) lost.set(key, `${held.ips.join(', ')} would leave pool "${named.name}", which the Service asks for`);
  }
  if (lost.size === 0) return { verdict: { ok: true }, blockers: new Set() };
  const n = `${lost.size} Service${lost.size === 1 ? '' : 's'}`;
  const items = [...lost].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, why]) => `${key}: ${why}`);
  return {
    blockers: new Set(lost.keys()),
    verdict: {
      ok: false,
      reason: 'IncompatibleConfig',
      summary:
        `configuration refused: it would take the address of ${n} ` +
        `(change the pools, remove or re-address those Services, or set ${ALLOW_ADDRESS_CHANGES}: "true" ${meta.optInWhere ?? 'on the ConfigMap'} to let the controller move them)`,
      items,
    },
  };
}
