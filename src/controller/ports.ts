// The narrow interfaces between the controller's reconciler and the world, so that the whole
// decision sequence runs in unit tests against hand-written fakes (test/unit/controller/fakes.ts).
import type * as k8s from '@kubernetes/client-node';
import type { DesiredStatus } from './decide';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { StatusFights } from './fights';
import type { NamespaceLabels } from './service-request';

/** The Service cache (an informer in production). */
export interface ServiceSource {
  get(name: string, namespace: string): k8s.V1Service | undefined;
  list(): readonly k8s.V1Service[];
  /**
   * Our own write's answer replaces the cached version `basedOn` it was made on (RawInformer.adopt:
   * the watch's copy of it is then skipped unparsed); handlers are not called. Optional: a cache
   * without it just delivers the watch's copy.
   */
  adopt?(written: k8s.V1Service, basedOn: string | undefined): boolean;
}

/** `written`: the Service as the server answered the write, when one request made it. */
export type WriteOutcome = { readonly ok: true; readonly resourceVersion?: string; readonly written?: k8s.V1Service } | { readonly ok: false; readonly status?: number; readonly message: string };

/** What one write carries: the desired status with its condition stamped (status-write.ts). */
export interface StatusWrite extends Omit<DesiredStatus, 'condition'> {
  /** Set (merged into status.conditions by type) or removed; absent: left alone. */
  readonly condition?: k8s.V1Condition | { readonly remove: string };
}

export interface StatusWriter {
  /**
   * Writes status.loadBalancer.ingress and the pool annotation (not when `conditionOnly`) and the
   * condition, guarded by the resourceVersion of `svc` (a 409 when the Service changed since).
   * `signal` aborts the call.
   */
  write(svc: k8s.V1Service, desired: StatusWrite, signal: AbortSignal): Promise<WriteOutcome>;
  /** A fresh read; undefined when the Service is gone. Throws on other failures. */
  read(namespace: string, name: string, signal: AbortSignal): Promise<k8s.V1Service | undefined>;
  /** Every Service, read from the API now (not from a cache). Throws on failure. */
  list(signal: AbortSignal): Promise<k8s.V1Service[]>;
}

export interface EventSink {
  emit(svc: k8s.V1Service, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** Whether this replica may write now: the current leadership term's signal, or undefined. */
export interface WriteGate {
  term(): AbortSignal | undefined;
}

/** What the reconciler reports; ControllerMetrics implements it with Prometheus metrics. */
export interface ReconcilerMetrics {
  statusWrite(): void;
  statusWriteFailed(): void;
  allocationSeconds(seconds: number): void;
  foreignStatusChange(): void;
  statusFights(count: number): void;
}

/** What the Reconciler (reconciler.ts) is built from: the ports above and its knobs. */
export interface ReconcilerOptions {
  services: ServiceSource;
  writer: StatusWriter;
  events: EventSink;
  gate: WriteGate;
  clock: Clock;
  log: Logger;
  metrics: ReconcilerMetrics;
  lbClass?: string;
  writeConcurrency?: number;
  /** The field manager our writes carry, so that another writer's changes can be told apart. */
  fieldManager?: string;
  /** Called when a Service that blocked a refused configuration changed or went away. */
  blockerChanged?: () => void;
  /**
   * Without leader election (--leader-elect=false) there is no earlier leader whose writes the
   * watch may not have delivered yet: the synced cache, listed after this process started, is
   * what a fresh list would return, so the rebuild skips that second list of every Service.
   */
  soleWriter?: boolean;
  fights?: StatusFights;
  /** Namespace labels (pool tenancy by namespace selector). */
  namespaceLabels?: NamespaceLabels;
  /** How long an address stays quarantined after its conflict cleared (quarantine.ts). */
  conflictHoldMs?: number;
  /** Where the sticky holds outlive this term (the leader Lease's annotation); none: memory only. */
  stickyStore?: { read(): string | undefined; write(encoded: string | undefined): void };
  /** Keep the ironlb.io/AddressAllocated condition (allocated-condition.ts; --service-conditions). */
  conditions?: boolean;
}
