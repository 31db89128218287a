// The allocator's public vocabulary: what a Service asks for and what it gets back.
import type { ServiceFacts } from '../config/service-allocation';
import type { Family } from './address';

export type FamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

export interface ServicePort {
  readonly protocol: string; // as in the Service spec: TCP, UDP, SCTP
  readonly port: number;
}

/** What the sharing rules compare between two services on one address. */
export interface SharingProfile {
  /** allow-shared-ip annotation; '' means the service never shares. */
  readonly sharingKey: string;
  /** '' for externalTrafficPolicy Cluster; non-empty for Local (the selector as text): Local shares only with the same text, in one namespace. */
  readonly backendKey: string;
  readonly ports: readonly ServicePort[];
}

/** One Service as the allocator sees it. The controller builds it from the Service object. */
export interface ServiceRequest extends SharingProfile {
  /** "namespace/name" */
  readonly key: string;
  /** spec.ipFamilies: primary first; one or two distinct families. */
  readonly families: readonly Family[];
  readonly familyPolicy: FamilyPolicy;
  /** spec.loadBalancerIP or the loadBalancerIPs annotation (the caller merges them); may be empty. */
  readonly requestedIPs: readonly string[];
  /** address-pool annotation. */
  readonly poolName?: string;
  /**
   * What pool tenancy (IPAddressPool serviceAllocation) is decided on: namespace and its labels,
   * the Service's labels. Absent: the namespace of `key`, no labels.
   */
  readonly tenant?: ServiceFacts;
}

export type FailureReason =
  | 'PoolExhausted'
  | 'NotInAnyPool'
  | 'UnknownPool'
  | 'PoolMismatch'
  | 'SharingConflict'
  | 'FamilyUnavailable'
  | 'InvalidRequest'
  | 'NoPools'
  /** The pool (named, or holding the requested address, or every auto-assign pool) does not serve this Service. */
  | 'PoolRestricted';

export interface Failure {
  readonly ok: false;
  readonly reason: FailureReason;
  /** A sentence meant for people (events, logs). */
  readonly message: string;
}

/** `ips` are canonical text, primary family first. */
export type AllocationResult = { readonly ok: true; readonly pool: string; readonly ips: string[] } | Failure;

/** What a service currently holds. */
export interface Assignment extends SharingProfile {
  readonly key: string;
  readonly pool: string;
  readonly ips: readonly string[];
}

export interface PoolStats {
  readonly pool: string;
  /** Addresses the pool may hand out (avoid-buggy-ips addresses are not counted). */
  readonly totalV4: bigint;
  readonly totalV6: bigint;
  /** Distinct addresses of the pool held by at least one service. */
  readonly inUseV4: bigint;
  readonly inUseV6: bigint;
}
