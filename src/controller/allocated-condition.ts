// The controller's Service condition, ironlb.io/AddressAllocated, decided from decide()'s outcome.
// Pure. Status True: the Service holds an address of the configuration in force (the reason says
// whether its request is met: `Allocated`, or why not while it keeps what it has); False: it has
// none from the configuration, and the reason says why. decide() attaches the condition to its
// write, or asks for a condition-only write when only the condition is out of date, so a Service
// whose status and condition are right costs no write.
import type * as k8s from '@kubernetes/client-node';
import type { FailureReason } from '../ipam/types';
import { ADDRESS_ALLOCATED, conditionHolds, conditionOf, type ConditionWant } from '../k8s/service-conditions';
import type { Decision, Outcome } from './decide';
import { QUARANTINE_KEY_PREFIX } from './quarantine';
import { currentPoolAnnotation, ingressIPs } from './service-request';

/** The condition reason for each allocator failure. */
export const FAILURE_REASONS: Readonly<Record<FailureReason, string>> = {
  PoolExhausted: 'PoolExhausted',
  NotInAnyPool: 'AddressNotInAnyPool',
  UnknownPool: 'UnknownPool',
  PoolMismatch: 'AddressNotInPool',
  SharingConflict: 'AddressInUse',
  FamilyUnavailable: 'FamilyUnavailable',
  InvalidRequest: 'InvalidRequest',
  NoPools: 'NoPool',
  PoolRestricted: 'NotAllowedByPool',
};

const list = (ips: readonly string[]): string => ips.join(', ');

/**
 * What ironlb.io/AddressAllocated should say after `outcome`; undefined: leave it as it is
 * (no configuration loaded yet: nothing was decided; a Service of another load-balancer class).
 * 'remove': the Service is no longer ours to handle and carries our condition.
 */
export function allocatedCondition(outcome: Outcome, generation: number | undefined): ConditionWant | 'remove' | undefined {
  const want = (status: 'True' | 'False', reason: string, message: string): ConditionWant => ({ type: ADDRESS_ALLOCATED, status, reason, message, observedGeneration: generation });
  switch (outcome.kind) {
    case 'notHandled':
      return outcome.why === 'classFiltered' ? undefined : 'remove';
    case 'noConfig':
      return undefined;
    case 'assigned':
      return want('True', 'Allocated', `${list(outcome.ips)} from pool "${outcome.pool}"`);
    case 'outsideConfig':
      return want('False', 'AddressOutsideConfig', `${list(outcome.kept)} is in no address pool of the configuration in force (or not in the pool it was given from); the Service keeps it`);
    case 'invalidRequest':
      return outcome.kept.length > 0 ? want('True', 'InvalidRequest', `keeps ${list(outcome.kept)}; ${outcome.message}`) : want('False', 'InvalidRequest', outcome.message);
    case 'failed': {
      const reason = outcome.message.includes(QUARANTINE_KEY_PREFIX) ? 'AddressQuarantined' : FAILURE_REASONS[outcome.reason];
      return outcome.kept.length > 0 ? want('True', reason, `keeps ${list(outcome.kept)}; ${outcome.message}`) : want('False', reason, outcome.message);
    }
  }
}

/**
 * `d` with the condition attached: to its write when it writes; as a condition-only write when
 * the Service's condition is out of date and nothing else is; unchanged when it is up to date.
 */
export function withAllocatedCondition(d: Decision, svc: k8s.V1Service): Decision {
  const want = allocatedCondition(d.outcome, svc.metadata?.generation);
  if (want === undefined) return d;
  if (want === 'remove') {
    if (!conditionOf(svc, ADDRESS_ALLOCATED)) return d;
    return { ...d, write: { ...(d.write ?? unchangedStatus(svc)), condition: 'remove' } };
  }
  // A write changes the status: its condition follows (an unchanged one is written again as it is).
  if (d.write) return { ...d, write: { ...d.write, condition: want } };
  if (conditionHolds(svc, want)) return d;
  return { ...d, write: { ...unchangedStatus(svc), condition: want } };
}

function unchangedStatus(svc: k8s.V1Service): { ips: string[]; pool?: string; conditionOnly: true } {
  return { ips: ingressIPs(svc), pool: currentPoolAnnotation(svc), conditionOnly: true };
}
