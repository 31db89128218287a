// The controller's decision for one Service: configuration + allocator state + the Service →
// the status it should show, the Events to emit, and whether it waits for an address to be freed.
// Pure and deterministic: no I/O, no clock; it updates only the allocator it is given. The
// controller applies the result (src/controller/reconciler.ts); `ironlb explain`/`dry-run` replay it.
//
// The safety rules it enforces:
// - a live Service never loses or changes its address because its request cannot be met (an
//   unparsable annotation, a taken requested address, an unknown or full pool): it keeps it and
//   gets a Warning; it moves only when its own new request can be met;
// - a Service whose status address no pool contains keeps it, unless the ConfigMap opts into
//   address changes (the controller refuses such configurations while it runs; this covers a
//   start on one);
// - of two Services showing one address without a sharing relation, the younger is moved.
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { canonicalIP } from '../ipam/address';
import type { Allocator } from '../ipam/allocator';
import type { FailureReason } from '../ipam/types';
import { reserveStatus, type Unreserved } from './restore';
import { buildRequest, currentPoolAnnotation, handling, ingressIPs, serviceKey, type Handling } from './service-request';

export interface DecideContext {
  /** The configuration in force; undefined before a valid one was loaded. */
  readonly config?: Config;
  /** spec.loadBalancerClass served; undefined = class-less Services only. */
  readonly lbClass?: string;
  /** The ConfigMap's `ironlb.io/allow-address-changes: "true"`: addresses no pool contains may be moved. */
  readonly allowAddressChanges: boolean;
}

/** status.loadBalancer.ingress and the pool annotation (undefined removes it). */
export interface DesiredStatus {
  readonly ips: readonly string[];
  readonly pool?: string;
}

export interface PlannedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** What the Event is about; a repeat of the last thing said in a slot stays silent. */
  readonly slot: string;
  /** Emitted only once the status write succeeded (it reports the write). */
  readonly afterWrite: boolean;
}

export type Outcome =
  | { readonly kind: 'notHandled'; readonly why: Extract<Handling, { handled: false }>['why'] }
  | { readonly kind: 'noConfig' }
  | { readonly kind: 'invalidRequest'; readonly reason: string; readonly message: string; readonly kept: readonly string[] }
  | { readonly kind: 'outsideConfig'; readonly kept: readonly string[] }
  | { readonly kind: 'failed'; readonly reason: FailureReason; readonly message: string; readonly kept: readonly string[] }
  | { readonly kind: 'assigned'; readonly ips: readonly string[]; readonly pool: string; readonly moved: boolean };

export interface Decision {
  readonly key: string;
  readonly outcome: Outcome;
  /** The status to write; absent when the Service already shows what it should. */
  readonly write?: DesiredStatus;
  readonly events: readonly PlannedEvent[];
  /** Decide again when an address is freed (it cannot get what it asks for now). */
  readonly waitsForAddress: boolean;
  /** This decision freed an address: Services waiting for one should be decided again. */
  readonly freed: boolean;
}

const OPT_IN = 'set ironlb.io/allow-address-changes: "true" on the ConfigMap to let the controller give it a new address';

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const warn = (reason: string, message: string, slot = 'state', afterWrite = false): PlannedEvent => ({ type: 'Warning', reason, message, slot, afterWrite });
const normal = (reason: string, message: string, slot = 'state', afterWrite = true): PlannedEvent => ({ type: 'Normal', reason, message, slot, afterWrite });

/** Writes `kept` back when the status shows something else (someone changed it). */
function keepWrite(svc: k8s.V1Service, kept: readonly string[], pool: string | undefined): DesiredStatus | undefined {
  if (kept.length === 0) return undefined;
  return sameList(ingressIPs(svc), kept) && currentPoolAnnotation(svc) === pool ? undefined : { ips: kept, pool };
}

export function decide(ctx: DecideContext, allocator: Allocator, svc: k8s.V1Service): Decision {
  const key = serviceKey(svc);
  const current = ingressIPs(svc);
  const base = { key, events: [] as PlannedEvent[], waitsForAddress: false, freed: false };
  const h = handling(svc, ctx.lbClass);
  if (!h.handled) {
    const freed = allocator.release(key);
    const outcome: Outcome = { kind: 'notHandled', why: h.why };
    if (h.clearOurs && (current.length > 0 || currentPoolAnnotation(svc) !== undefined)) {
      const message = `Service is no longer handled (${h.why}); load balancer address cleared`;
      return { ...base, outcome, freed, write: { ips: [] }, events: [normal('ClearAssignment', message)] };
    }
    return { ...base, outcome, freed };
  }
  if (!ctx.config) return { ...base, outcome: { kind: 'noConfig' }, waitsForAddress: current.length === 0 };

  const events: PlannedEvent[] = [];
  const built = buildRequest(svc);
  if (built.ok) {
    for (const k of built.deprecatedKeys) {
      events.push(warn('deprecatedAnnotation', `annotation ${k} is deprecated; use ironlb.io/${k.split('/')[1]} (or metallb.io/)`, `deprecated:${k}`));
    }
  }
  // Status addresses nobody holds yet (a Service served by an earlier controller, or by one
  // that wrote before this replica rebuilt) are taken back first, as the restore does.
  let unheld: Unreserved | undefined;
  if (!allocator.assignmentOf(key) && current.length > 0) unheld = reserveStatus(allocator, svc);
  const held = allocator.assignmentOf(key);

  if (!built.ok) {
    const { reason, message } = built.problem;
    const kept = held?.ips ?? (unheld?.why === 'outsideConfig' ? current : []);
    if (unheld && unheld.why !== 'outsideConfig') {
      events.push(warn(reason, message), warn('ClearAssignment', `current address ${current.join(', ')} cleared: ${unheld.message}`, 'clear', true));
      return { ...base, events, outcome: { kind: 'invalidRequest', reason, message, kept: [] }, write: { ips: [] } };
    }
    events.push(warn(reason, kept.length > 0 ? `${message}; the Service keeps ${kept.join(', ')}` : message));
    return { ...base, events, outcome: { kind: 'invalidRequest', reason, message, kept }, write: held ? keepWrite(svc, held.ips, held.pool) : undefined };
  }

  if (unheld?.why === 'outsideConfig' && !ctx.allowAddressChanges) {
    events.push(warn('AddressOutsideConfig', `${current.join(', ')} is in no address pool of the configuration in force; the Service keeps it (add it to a pool, or ${OPT_IN})`));
    return { ...base, events, outcome: { kind: 'outsideConfig', kept: current } };
  }

  const result = allocator.allocateOrKeep(built.request);
  if (!result.ok) {
    const kept = 'kept' in result ? result.kept : [];
    const outcome: Outcome = { kind: 'failed', reason: result.reason, message: result.message, kept };
    const failed = `Failed to allocate IP for "${key}": ${result.message}`;
    if (kept.length > 0) {
      events.push(warn('AllocationFailed', `${failed}; the Service keeps ${kept.join(', ')}`));
      return { ...base, events, outcome, waitsForAddress: true, write: keepWrite(svc, kept, held?.pool) };
    }
    events.push(warn('AllocationFailed', failed));
    if (current.length === 0) return { ...base, events, outcome, waitsForAddress: true };
    events.push(warn('ClearAssignment', `current address ${current.join(', ')} cleared: ${unheld?.message ?? 'it is not held'}`, 'clear', true));
    return { ...base, events, outcome, waitsForAddress: true, write: { ips: [] } };
  }

  const desired: DesiredStatus = { ips: result.ips, pool: result.pool };
  const wanted = new Set(result.ips);
  const moved = current.some((ip) => !wanted.has(canonicalIP(ip) ?? ip));
  const outcome: Outcome = { kind: 'assigned', ips: result.ips, pool: result.pool, moved };
  if (sameList(current, result.ips) && currentPoolAnnotation(svc) === result.pool) return { ...base, events, outcome };
  if (moved) {
    const why = unheld ? unheld.message : 'it does not fit the Service\'s request or the configuration any more';
    events.push(warn('ClearAssignment', `address ${current.join(', ')} given up (${why}); moving to ${result.ips.join(', ')}`, 'clear', true));
  }
  events.push(normal('IPAllocated', `Assigned IP ${JSON.stringify(result.ips)} from pool "${result.pool}"`));
  return { ...base, events, outcome, write: desired };
}
