// One status write against the API and what its outcome asks of the reconciler: nothing more (it
// was written, or the Service is gone, or the leadership term ended), deciding again on a fresh
// read after a conflict (after a short backoff, at most CONFLICT_RETRIES times in a row), or a
// retry later. Split from reconciler.ts, which acts on the answer (bookkeeping, deciding again,
// the retry backoff of its queue); nothing here holds state.
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { DesiredStatus } from './decide';
import { ADDRESS_ALLOCATED, stampCondition } from '../k8s/service-conditions';
import type { ReconcilerMetrics, StatusWrite, StatusWriter, WriteGate } from './ports';

/** 409s on one Service are retried this many times (re-read, decide again) before backing off. */
export const CONFLICT_RETRIES = 3;
const CONFLICT_BASE_MS = 50;

export type WriteStep =
  | { readonly kind: 'written'; readonly resourceVersion?: string; readonly written?: k8s.V1Service }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'decide-again'; readonly fresh: k8s.V1Service }
  | { readonly kind: 'retry'; readonly error: string; readonly status?: number };

export interface StatusWriteDeps {
  readonly writer: StatusWriter;
  readonly gate: WriteGate;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ReconcilerMetrics;
}

/** Writes `desired` for the Service `key` in `term`; `attempt` counts the conflicts in a row so far. */
export async function writeStatus(deps: StatusWriteDeps, key: string, svc: k8s.V1Service, desired: DesiredStatus, term: AbortSignal, attempt: number): Promise<WriteStep> {
  deps.metrics.statusWrite();
  const r = await deps.writer.write(svc, stamped(svc, desired, new Date(deps.clock.now())), term);
  if (r.ok) return { kind: 'written', resourceVersion: r.resourceVersion, written: r.written };
  deps.metrics.statusWriteFailed();
  if (r.status === 404 || term.aborted) {
    deps.log.debug('status write dropped', { service: key, status: r.status, error: r.message, termEnded: term.aborted });
    return { kind: 'dropped' }; // gone (the delete event releases it), or our term ended
  }
  if (r.status !== 409 || attempt >= CONFLICT_RETRIES) return { kind: 'retry', error: r.message, status: r.status };
  await new Promise<void>((resolve) => deps.clock.setTimeout(resolve, CONFLICT_BASE_MS * 2 ** attempt));
  if (deps.gate.term() !== term) return { kind: 'dropped' };
  const [namespace, name] = key.split('/', 2);
  let fresh: k8s.V1Service | undefined;
  try {
    fresh = await deps.writer.read(namespace, name, term);
  } catch {
    return { kind: 'retry', error: 'reading the Service after a conflict failed' };
  }
  return fresh ? { kind: 'decide-again', fresh } : { kind: 'dropped' };
}

/** The write for `desired`: its condition's lastTransitionTime kept while its status stays, else `now`. */
export function stamped(svc: k8s.V1Service, desired: DesiredStatus, now: Date): StatusWrite {
  const { condition, ...rest } = desired;
  if (condition === undefined) return rest;
  return { ...rest, condition: condition === 'remove' ? { remove: ADDRESS_ALLOCATED } : stampCondition(svc, condition, now) };
}
