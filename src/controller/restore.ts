// The one status restore: Service status is the source of truth for who holds which address, and
// this replays it into an allocator. The controller runs it when it starts to lead and after a
// configuration change; `ironlb status`, `explain` and `dry-run` run it to see what the controller
// sees. Pure: no I/O.
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { Allocator } from '../ipam/allocator';
import type { Failure } from '../ipam/types';
import { handling, holdingRequest, ingressIPs, serviceKey } from './service-request';

/** Why status addresses could not be reserved for their Service. */
export interface Unreserved {
  /**
   * taken: an older Service holds one of them without a sharing relation (this one is the
   * duplicate, or may no longer share it); unusable: they are not one address per family
   * (garbage written by someone else).
   */
  readonly why: 'taken' | 'unusable';
  readonly ips: readonly string[];
  readonly message: string;
}

/** Lists deliver Dates, watches deliver strings: compare as milliseconds. */
function createdMs(svc: k8s.V1Service): number {
  const t = svc.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function classify(failure: Failure): Unreserved['why'] {
  return failure.reason === 'SharingConflict' ? 'taken' : 'unusable';
}

/**
 * Reserves the status addresses of one Service, whatever its annotations say (an unparsable
 * request keeps its address reserved), in a pool or OUTSIDE the pools. Returns undefined when
 * they are now held.
 */
export function reserveStatus(allocator: Allocator, svc: k8s.V1Service): Unreserved | undefined {
  const ips = ingressIPs(svc);
  const req = holdingRequest(svc, ips);
  if (!req) return { why: 'unusable', ips, message: `status shows "${ips.join(',')}", which is not one address per IP family` };
  const result = allocator.reserve(req, ips);
  return result.ok ? undefined : { why: classify(result), ips, message: result.message };
}

/**
 * Reserves, oldest Service first (so that of two Services showing one address the older keeps
 * it), the status addresses of every handled Service the allocator does not hold yet. Returns
 * the Services whose addresses could not be reserved, by key.
 */
export function restoreFromStatus(allocator: Allocator, services: readonly k8s.V1Service[], lbClass: string | undefined): Map<string, Unreserved> {
  const todo = services
    .filter((s) => handling(s, lbClass).handled && ingressIPs(s).length > 0 && !allocator.assignmentOf(serviceKey(s)))
    .sort((a, b) => createdMs(a) - createdMs(b) || (serviceKey(a) < serviceKey(b) ? -1 : serviceKey(a) > serviceKey(b) ? 1 : 0));
  const unreserved = new Map<string, Unreserved>();
  for (const svc of todo) {
    const key = serviceKey(svc);
    if (allocator.assignmentOf(key)) continue; // the same Service listed twice
    const failed = reserveStatus(allocator, svc);
    if (failed) unreserved.set(key, failed);
  }
  return unreserved;
}

/**
 * A fresh allocator for this configuration (none: no pools) with every Service's status restored
 * into it; addresses no pool contains are held OUTSIDE the pools, so they are not free either.
 */
export function restoredAllocator(config: Config | undefined, services: readonly k8s.V1Service[], lbClass: string | undefined): { allocator: Allocator; unreserved: Map<string, Unreserved> } {
  const allocator = new Allocator();
  allocator.setPools(config?.pools ?? []);
  return { allocator, unreserved: restoreFromStatus(allocator, services, lbClass) };
}
