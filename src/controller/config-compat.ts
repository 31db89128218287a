// Whether a new configuration may replace the one in force (pure). MetalLB v0.12 refused a
// configuration that took addresses away from live Services ("new config not compatible with
// assigned IPs"); ironlb does the same and names every Service that would lose its address,
// unless the ConfigMap carries ironlb.io/allow-address-changes: "true".
import type { Config } from '../config/types';
import type { Allocator } from '../ipam/allocator';
import { ALLOW_ADDRESS_CHANGES, type ConfigMeta, type Verdict } from '../k8s/config-gate';

export function configCompatibility(holding: Allocator, config: Config, meta: ConfigMeta): { verdict: Verdict; blockers: ReadonlySet<string> } {
  if (meta.allowAddressChanges) return { verdict: { ok: true }, blockers: new Set() };
  const lost = holding.invalidatedBy(config.pools);
  if (lost.length === 0) return { verdict: { ok: true }, blockers: new Set() };
  const n = `${lost.length} Service${lost.length === 1 ? '' : 's'}`;
  return {
    blockers: new Set(lost.map((l) => l.key)),
    verdict: {
      ok: false,
      reason: 'IncompatibleConfig',
      summary:
        `configuration refused: it would take the address of ${n} ` +
        `(change the pools, remove or re-address those Services, or set ${ALLOW_ADDRESS_CHANGES}: "true" on the ConfigMap to let the controller move them)`,
      items: lost.map((l) => `${l.key}: ${l.why}`),
    },
  };
}
