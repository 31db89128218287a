// The status MetalLB's tooling reads from ironlb, decided without I/O: ConfigurationState (is the
// configuration valid, and why not) and IPAddressPool status counts. src/k8s/metallb-status.ts
// writes them.
import type { PoolStats } from '../../ipam/types';

export type ConfigurationResult = 'Valid' | 'Invalid' | 'Unknown';

export interface ConfigurationCondition {
  readonly type: 'configReconcilerValid';
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: 'Reconciled' | 'ConfigurationError' | 'UnknownError';
  readonly message: string;
  readonly lastTransitionTime: string;
}

export interface ConfigurationStateStatus {
  readonly result: ConfigurationResult;
  readonly errorSummary: string;
  readonly conditions: readonly ConfigurationCondition[];
}

/** What the configuration source says: a configuration in force, refused (stale) and why. */
export interface SourceState {
  readonly loaded: boolean;
  readonly stale: boolean;
  readonly error?: string;
}

const MAX_SUMMARY = 1000;

/**
 * Valid: a configuration is in force and the latest objects are it. Invalid: the latest objects
 * were refused (the last good configuration may still be in force: errorSummary says why).
 * Unknown: nothing loaded yet and nothing refused. The condition's transition time is kept from
 * `previous` while its status does not change.
 */
export function configurationStateStatus(state: SourceState, now: string, previous?: ConfigurationStateStatus): ConfigurationStateStatus {
  const result: ConfigurationResult = state.stale ? 'Invalid' : state.loaded ? 'Valid' : 'Unknown';
  const errorSummary = result === 'Invalid' ? (state.error ?? 'the configuration was refused').slice(0, MAX_SUMMARY) : '';
  const status = result === 'Valid' ? 'True' : result === 'Invalid' ? 'False' : 'Unknown';
  const reason = result === 'Valid' ? 'Reconciled' : result === 'Invalid' ? 'ConfigurationError' : 'UnknownError';
  const message = result === 'Valid' ? 'the configuration is in force' : result === 'Invalid' ? errorSummary : 'no configuration loaded yet';
  const before = previous?.conditions.find((c) => c.type === 'configReconcilerValid');
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : now;
  return { result, errorSummary, conditions: [{ type: 'configReconcilerValid', status, reason, message, lastTransitionTime }] };
}

export interface PoolStatus {
  readonly assignedIPv4: number;
  readonly assignedIPv6: number;
  readonly availableIPv4: number;
  readonly availableIPv6: number;
}

/** Counts beyond what a JSON number holds exactly (IPv6 pools) are capped there. */
const cap = (n: bigint): number => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));

/** IPAddressPool status as MetalLB writes it: addresses in use and still free, per family. */
export function poolStatus(s: PoolStats): PoolStatus {
  return { assignedIPv4: cap(s.inUseV4), assignedIPv6: cap(s.inUseV6), availableIPv4: cap(s.totalV4 - s.inUseV4), availableIPv6: cap(s.totalV6 - s.inUseV6) };
}
