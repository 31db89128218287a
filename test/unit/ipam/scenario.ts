// Sequential scenario tables (MetalLB TestAssignment style): each step runs against the same
// allocator, and the invariants plus "input pools not mutated" are checked after every step.
import type { AddressPool } from '../../../src/config/types';
import { Allocator } from '../../../src/ipam/allocator';
import type { AllocationResult, FailureReason, ServiceRequest } from '../../../src/ipam/types';
import { checkInvariants } from './invariants';

type Want = { ok: true; pool: string; ips: string[] } | { ok: false; reason: FailureReason; message: unknown };

export type Step = { desc: string } & (
  | { allocate: ServiceRequest; want: Want }
  | { assign: ServiceRequest; ips: string[]; want: Want }
  | { release: string }
  | { setPools: AddressPool[]; invalidated: string[] }
  | { holds: Record<string, string[] | undefined> }
);

export const ok = (pool: string, ...ips: string[]): Want => ({ ok: true, pool, ips });
/** A failure; without a message any text is accepted. */
export const no = (reason: FailureReason, message?: string): Want => ({ ok: false, reason, message: message ?? expect.any(String) });

export function runScenario(pools: AddressPool[], steps: Step[]): Allocator {
  const alloc = new Allocator();
  let current = pools;
  let pristine = structuredClone(current);
  const keys = new Set<string>();
  alloc.setPools(current);
  for (const step of steps) {
    let got: { step: string; result?: AllocationResult; invalidated?: string[]; holds?: Record<string, string[] | undefined> };
    let want: typeof got;
    if ('allocate' in step) {
      keys.add(step.allocate.key);
      got = { step: step.desc, result: alloc.allocate(step.allocate) };
      want = { step: step.desc, result: step.want as AllocationResult };
    } else if ('assign' in step) {
      keys.add(step.assign.key);
      got = { step: step.desc, result: alloc.assign(step.assign, step.ips) };
      want = { step: step.desc, result: step.want as AllocationResult };
    } else if ('release' in step) {
      alloc.release(step.release);
      got = want = { step: step.desc };
    } else if ('setPools' in step) {
      current = step.setPools;
      pristine = structuredClone(current);
      got = { step: step.desc, invalidated: alloc.setPools(current).invalidated };
      want = { step: step.desc, invalidated: step.invalidated };
    } else {
      const holds = Object.fromEntries(Object.keys(step.holds).map((k) => [k, alloc.assignmentOf(k)?.ips as string[] | undefined]));
      got = { step: step.desc, holds };
      want = { step: step.desc, holds: step.holds };
    }
    expect(got).toEqual(want);
    expect(current).toEqual(pristine);
    checkInvariants(alloc, current, keys);
  }
  return alloc;
}
