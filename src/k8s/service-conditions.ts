// The Service conditions ironlb keeps (status.conditions, metav1.Condition): what one writer wants
// a condition of its type to say, whether the Service already says it, and the condition to write
// (lastTransitionTime kept while the status stays the same). Pure: the caller passes the time.
//
// Each writer patches only its own condition type with a strategic merge patch: the API server
// merges status.conditions by `type` (patchMergeKey on Service status since v1.20), so the
// controller's ironlb.io/AddressAllocated, the speakers' ironlb.io/Announced and anybody else's
// conditions never overwrite each other, whatever each writer's cache shows.
import type * as k8s from '@kubernetes/client-node';

/** Written by the controller: does the Service hold an address from the configuration, and why (not). */
export const ADDRESS_ALLOCATED = 'ironlb.io/AddressAllocated';
/** Written by the speakers: which node announces the Service's addresses, how, since when. */
export const ANNOUNCED = 'ironlb.io/Announced';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** What a writer wants its condition to say (no time: that is stamped when written). */
export interface ConditionWant {
  readonly type: string;
  readonly status: ConditionStatus;
  /** CamelCase, as metav1.Condition requires. */
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

/** The Service's condition of `type`, if it has one. */
export function conditionOf(svc: k8s.V1Service, type: string): k8s.V1Condition | undefined {
  return (svc.status?.conditions ?? []).find((c) => c.type === type);
}

/** The Service shows `want` already (status, reason, message and observed generation alike). */
export function conditionHolds(svc: k8s.V1Service, want: ConditionWant): boolean {
  const c = conditionOf(svc, want.type);
  return !!c && c.status === want.status && c.reason === want.reason && c.message === want.message && (c.observedGeneration ?? undefined) === (want.observedGeneration ?? undefined);
}

/**
 * The condition to write for `want`: lastTransitionTime is the current one while the status does
 * not change (only the reason or message does), `now` when it does or there was none.
 */
export function stampCondition(svc: k8s.V1Service, want: ConditionWant, now: Date): k8s.V1Condition {
  const c = conditionOf(svc, want.type);
  const since = c && c.status === want.status && c.lastTransitionTime ? new Date(c.lastTransitionTime) : now;
  const out: k8s.V1Condition = { type: want.type, status: want.status, reason: want.reason, message: want.message, lastTransitionTime: since };
  if (want.observedGeneration !== undefined) out.observedGeneration = want.observedGeneration;
  return out;
}

/**
 * The strategic-merge-patch value of status.conditions that sets `set` and removes the types in
 * `remove`, leaving every other condition as the server has it.
 */
export function conditionsPatch(set: readonly k8s.V1Condition[], remove: readonly string[] = []): unknown[] {
  return [...set.map((c) => ({ ...c, lastTransitionTime: c.lastTransitionTime.toISOString().replace(/\.\d{3}Z$/, 'Z') })), ...remove.map((type) => ({ $patch: 'delete', type }))];
}
