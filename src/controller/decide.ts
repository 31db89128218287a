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
import { OUTSIDE, type Allocator } from '../ipam/allocator';
import type { FailureReason } from '../ipam/types';
import type { ConditionWant } from '../k8s/service-conditions';
import { withAllocatedCondition } from './allocated-condition';
import { reserveStatus, type Unreserved } from './restore';
import { buildRequest, currentPoolAnnotation, handling, ingressIPs, serviceKey, type Handling, type NamespaceLabels } from './service-request';

export interface DecideContext {
  /** The configuration in force; undefined before a valid one was loaded. */
  readonly config?: Config;
  /** spec.loadBalancerClass served; undefined = class-less Services only. */
  readonly lbClass?: string;
  /** The ConfigMap's `ironlb.io/allow-address-changes: "true"`: addresses no pool contains may be moved. */
  readonly allowAddressChanges: boolean;
  /** Namespace labels, for pools whose serviceAllocation selects namespaces by label. */
  readonly namespaceLabels?: NamespaceLabels;
  /** Where the opt-in is set, for Warnings: 'on the ConfigMap' (default) or 'on an IPAddressPool'. */
  readonly optInWhere?: string;
  /** Keep the ironlb.io/AddressAllocated condition (allocated-condition.ts); off unless set. */
  readonly conditions?: boolean;
}

/** status.loadBalancer.ingress and the pool annotation (undefined removes it). */
export interface DesiredStatus {
  readonly ips: readonly string[];
  readonly pool?: string;
  /** The AddressAllocated condition to set, or remove; absent: leave it as it is. */
  readonly condition?: ConditionWant | 'remove';
  /** Only the condition changes: `ips` and `pool` are what the Service shows, not to be written. */
  readonly conditionOnly?: boolean;
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

const optIn = (ctx: DecideContext): string => `set ironlb.io/allow-address-changes: "true" ${ctx.optInWhere ?? 'on the ConfigMap'} to let the controller give it a new address`;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const warn = (reason: string, message: string, slot = 'state', afterWrite = false): PlannedEvent => ({ type: 'Warning', reason, message, slot, afterWrite });
const normal = (reason: string, message: string, slot = 'state', afterWrite = true): PlannedEvent => ({ type: 'Normal', reason, message, slot, afterWrite });

/** The Service's request names addresses other than those it shows, or a pool it was not given them from. */
function asksForAnother(svc: k8s.V1Service, requestedIPs: readonly string[], poolName: string | undefined): boolean {
  const current = ingressIPs(svc).map((ip) => canonicalIP(ip) ?? ip);
  if (requestedIPs.length > 0) return !sameList(current, requestedIPs);
  return poolName !== undefined && currentPoolAnnotation(svc) !== poolName;
}

/** Writes `kept` back when the status shows something else (someone changed it). */
function keepWrite(svc: k8s.V1Service, kept: readonly string[], pool: string | undefined): DesiredStatus | undefined {
  if (kept.length === 0) return undefined;
  return sameList(ingressIPs(svc), kept) && currentPoolAnnotation(svc) === pool ? undefined : { ips: kept, pool };
}

export function decide(ctx: DecideContext, allocator: Allocator, svc: k8s.V1Service): Decision {
  const before = allocator.assignmentOf(serviceKey(svc))?.ips ?? [];
  const d = decideHeld(ctx, allocator, svc);
  // Whatever it held and holds no more (a release, a move, a clear) may serve a waiting Service.
  const after = new Set(allocator.assignmentOf(d.key)?.ips ?? []);
  const decided = before.some((ip) => !after.has(ip)) ? { ...d, freed: true } : d;
  return ctx.conditions ? withAllocatedCondition(decided, svc) : decided;
}

function decideHeld(ctx: DecideContext, allocator: Allocator, svc: k8s.V1Service): Decision {
  const key = serviceKey(svc);
  const current = ingressIPs(svc);
  const base = { key, events: [] as PlannedEvent[], waitsForAddress: false, freed: false };
  const h = handling(svc, ctx.lbClass);
  if (!h.handled) {
    allocator.release(key);
    const outcome: Outcome = { kind: 'notHandled', why: h.why };
    if (h.clearOurs && (current.length > 0 || currentPoolAnnotation(svc) !== undefined)) {
      const message = `Service is no longer handled (${h.why}); load balancer address cleared`;
      return { ...base, outcome, write: { ips: [] }, events: [normal('ClearAssignment', message)] };
    }
    return { ...base, outcome };
  }
  // The status addresses are (re)reserved first, as the restore does, under the Service's sharing
  // profile as it is now (whatever its request says): taken back when nobody holds them yet (a
  // Service served by an earlier controller or replica), given up when the Service may no longer
  // share them with their other holders (its ports now clash, its sharing key is gone).
  let unheld: Unreserved | undefined;
  const mine = allocator.assignmentOf(key);
  if (current.length > 0 && (!mine || sameList(mine.ips, current.map((ip) => canonicalIP(ip) ?? ip)))) unheld = reserveStatus(allocator, svc);
  const clearTaken = (events: PlannedEvent[], outcome: Outcome): Decision => {
    events.push(warn('ClearAssignment', `current address ${current.join(', ')} cleared: ${unheld?.message ?? ''}`, 'clear', true));
    return { ...base, events, outcome, write: { ips: [] } };
  };
  if (!ctx.config) {
    // Without a configuration nothing is handed out; only an address the Service may not share is given up.
    if (unheld) return clearTaken([], { kind: 'noConfig' });
    return { ...base, outcome: { kind: 'noConfig' }, waitsForAddress: current.length === 0 };
  }

  const events: PlannedEvent[] = [];
  const built = buildRequest(svc, ctx.namespaceLabels);
  if (built.ok) {
    for (const k of built.deprecatedKeys) {
      events.push(warn('deprecatedAnnotation', `annotation ${k} is deprecated; use ironlb.io/${k.split('/')[1]} (or metallb.io/)`, `deprecated:${k}`));
    }
  }
  const held = allocator.assignmentOf(key);
  const outside = held?.pool === OUTSIDE;

  if (!built.ok) {
    const { reason, message } = built.problem;
    if (unheld) {
      events.push(warn(reason, message));
      return clearTaken(events, { kind: 'invalidRequest', reason, message, kept: [] });
    }
    const kept = held?.ips ?? [];
    events.push(warn(reason, kept.length > 0 ? `${message}; the Service keeps ${kept.join(', ')}` : message));
    return { ...base, events, outcome: { kind: 'invalidRequest', reason, message, kept }, write: held && !outside ? keepWrite(svc, held.ips, held.pool) : undefined };
  }

  // An address outside every pool stays where it is unless the Service itself now asks for
  // another one (other requested IPs, or a pool other than the one it was given its address from).
  const keepOutside = outside && !ctx.allowAddressChanges;
  if (keepOutside && !asksForAnother(svc, built.request.requestedIPs, built.request.poolName)) {
    events.push(warn('AddressOutsideConfig', `${current.join(', ')} is in no address pool of the configuration in force; the Service keeps it (add it to a pool, or ${optIn(ctx)})`));
    return { ...base, events, outcome: { kind: 'outsideConfig', kept: current } };
  }

  // The pool the Service names no longer holds its address, but the Service was given it from
  // that pool (the pool annotation we wrote says so): the configuration moved the pool, the
  // request did not change. Like an address outside every pool, it stays without the opt-in.
  const named = built.request.poolName;
  const pooledOnly = built.request.requestedIPs.length === 0;
  if (held && !outside && named && pooledOnly && held.pool !== named && currentPoolAnnotation(svc) === named && !ctx.allowAddressChanges && ctx.config.pools.some((p) => p.name === named)) {
    events.push(warn('AddressOutsideConfig', `${held.ips.join(', ')} is no longer in pool "${named}" (the configuration puts it in pool "${held.pool}"); the Service keeps it (${optIn(ctx)})`));
    return { ...base, events, outcome: { kind: 'outsideConfig', kept: held.ips } };
  }
  // Outside every pool, only a new allocation counts (with the opt-in, or for the Service's new request).
  if (outside) allocator.release(key);
  let result: ReturnType<Allocator['allocateOrKeep']> = outside ? allocator.allocate(built.request) : allocator.allocateOrKeep(built.request);
  if (!result.ok && keepOutside && reserveStatus(allocator, svc) === undefined) result = { ...result, kept: current };
  if (!result.ok) {
    const kept = 'kept' in result ? result.kept : [];
    const outcome: Outcome = { kind: 'failed', reason: result.reason, message: result.message, kept };
    const failed = `Failed to allocate IP for "${key}": ${result.message}`;
    if (kept.length > 0) {
      events.push(warn('AllocationFailed', `${failed}; the Service keeps ${kept.join(', ')}`));
      return { ...base, events, outcome, waitsForAddress: true, write: held && !outside ? keepWrite(svc, kept, held.pool) : undefined };
    }
    events.push(warn('AllocationFailed', failed));
    if (current.length === 0) return { ...base, events, outcome, waitsForAddress: true };
    const why = unheld?.message ?? (outside ? 'it is in no address pool of the configuration in force' : 'it cannot be kept');
    events.push(warn('ClearAssignment', `current address ${current.join(', ')} cleared: ${why}`, 'clear', true));
    return { ...base, events, outcome, waitsForAddress: true, write: { ips: [] } };
  }

  const desired: DesiredStatus = { ips: result.ips, pool: result.pool };
  const wanted = new Set(result.ips);
  const moved = current.some((ip) => !wanted.has(canonicalIP(ip) ?? ip));
  const outcome: Outcome = { kind: 'assigned', ips: result.ips, pool: result.pool, moved };
  if (sameList(current, result.ips) && currentPoolAnnotation(svc) === result.pool) return { ...base, events, outcome };
  if (moved) {
    const why = unheld ? unheld.message : outside ? 'it is in no address pool of the configuration in force' : "it does not fit the Service's request or the configuration any more";
    events.push(warn('ClearAssignment', `address ${current.join(', ')} given up (${why}); moving to ${result.ips.join(', ')}`, 'clear', true));
  }
  events.push(normal('IPAllocated', `Assigned IP ${JSON.stringify(result.ips)} from pool "${result.pool}"`));
  return { ...base, events, outcome, write: desired };
}
