// Pure translation of a Service object into what the allocator needs, and the questions the
// controller asks of a Service (is it ours? what does it hold now?). No I/O.
import type * as k8s from '@kubernetes/client-node';
import { ANNOTATION, POOL_ANNOTATION, readAnnotation } from '../k8s/annotations';
import { canonicalIP, familyOf, type Family } from '../ipam/address';
import type { ServiceFacts } from '../config/service-allocation';
import type { FamilyPolicy, ServiceRequest } from '../ipam/types';

export function serviceKey(svc: k8s.V1Service): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

export type Handling =
  | { handled: true }
  | { handled: false; why: 'notLoadBalancer' | 'classFiltered' | 'noClusterIP'; clearOurs: boolean };

/**
 * MetalLB's rule for spec.loadBalancerClass: with --lb-class only that class, without it only
 * class-less Services. Services of another class belong to another implementation: never touched.
 */
export function handling(svc: k8s.V1Service, lbClass: string | undefined): Handling {
  const spec = svc.spec;
  if (spec?.type !== 'LoadBalancer') return { handled: false, why: 'notLoadBalancer', clearOurs: true };
  const cls = (spec as { loadBalancerClass?: string }).loadBalancerClass;
  if ((lbClass ?? undefined) !== (cls ?? undefined)) return { handled: false, why: 'classFiltered', clearOurs: false };
  if (!spec.clusterIP || spec.clusterIP === 'None') return { handled: false, why: 'noClusterIP', clearOurs: true };
  return { handled: true };
}

export function ingressIPs(svc: k8s.V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
}

/** The field manager of the speakers' condition writes (src/k8s/announced-writer.ts). */
export const SPEAKER_FIELD_MANAGER = 'ironlb-speaker';

/**
 * The field manager that last wrote the Service's status according to metadata.managedFields,
 * leaving out `self` and the speakers (they write only their condition); undefined when the
 * server keeps no such record.
 */
export function lastStatusWriter(svc: k8s.V1Service, self?: string): string | undefined {
  let best: { manager: string; at: number } | undefined;
  for (const mf of svc.metadata?.managedFields ?? []) {
    // The speakers write only their ironlb.io/Announced condition there, never the addresses.
    if (!mf.manager || mf.manager === self || mf.manager === SPEAKER_FIELD_MANAGER) continue;
    const fields = mf.fieldsV1 as Record<string, unknown> | undefined;
    if (!fields || !('f:status' in fields)) continue;
    const at = mf.time ? new Date(mf.time).getTime() : 0;
    if (!best || at >= best.at) best = { manager: mf.manager, at };
  }
  return best?.manager;
}

export function currentPoolAnnotation(svc: k8s.V1Service): string | undefined {
  return svc.metadata?.annotations?.[POOL_ANNOTATION];
}

export interface RequestProblem {
  reason: 'LoadBalancerFailed' | 'nolbIPsIPFamily' | 'not enough clusterips';
  message: string;
}

function families(svc: k8s.V1Service): Family[] {
  const fromSpec = (svc.spec?.ipFamilies ?? []).map((f) => (f === 'IPv6' ? 6 : 4) as Family);
  if (fromSpec.length > 0) return [...new Set(fromSpec)];
  const fromIPs = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP ?? '']).map(familyOf).filter((f): f is Family => f !== undefined);
  return fromIPs.length > 0 ? [...new Set(fromIPs)] : [4];
}

function policy(svc: k8s.V1Service): FamilyPolicy {
  const p = svc.spec?.ipFamilyPolicy;
  return p === 'PreferDualStack' || p === 'RequireDualStack' ? p : 'SingleStack';
}

/**
 * '' for externalTrafficPolicy Cluster; for Local the selector as stable text, so that two Local
 * services share only with identical selectors (MetalLB's rule; the allocator adds "same namespace").
 * The "Local:" prefix keeps a Local service without a selector from looking like a Cluster one.
 */
export function backendKey(svc: k8s.V1Service): string {
  if (svc.spec?.externalTrafficPolicy !== 'Local') return '';
  const sel = svc.spec.selector ?? {};
  const text = Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k]}`)
    .join(',');
  return `Local:${text}`;
}

function sharingKeyOf(svc: k8s.V1Service): string {
  return readAnnotation(svc.metadata?.annotations, ANNOTATION.allowSharedIP)?.value ?? '';
}

function portsOf(svc: k8s.V1Service): { protocol: string; port: number }[] {
  return (svc.spec?.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port }));
}

/**
 * What holding these status addresses means for the allocator, whatever the Service's request
 * says (it may not even parse): its families are those of the addresses, no pool is named and
 * nothing is requested, so any pool that contains them takes them back; only the sharing profile
 * comes from the Service, because it decides who else may stand on the same address.
 */
export function holdingRequest(svc: k8s.V1Service, ips: readonly string[]): ServiceRequest | undefined {
  const fams = ips.map(familyOf);
  if (fams.length === 0 || fams.length > 2 || fams.some((f) => f === undefined) || fams[0] === fams[1]) return undefined;
  return {
    key: serviceKey(svc),
    families: fams as Family[],
    familyPolicy: fams.length === 2 ? 'RequireDualStack' : 'SingleStack',
    requestedIPs: [],
    sharingKey: sharingKeyOf(svc),
    backendKey: backendKey(svc),
    ports: portsOf(svc),
  };
}

/** What pool tenancy decides on: the Service's namespace with its labels (when known), the Service's labels. */
export function tenantOf(svc: k8s.V1Service, namespaceLabels?: NamespaceLabels): ServiceFacts {
  const namespace = svc.metadata?.namespace ?? 'default';
  return { namespace, namespaceLabels: namespaceLabels?.(namespace) ?? {}, serviceLabels: svc.metadata?.labels ?? {} };
}

/** The labels of a namespace, from the controller's cache; undefined when unknown. */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>> | undefined;

export function buildRequest(svc: k8s.V1Service, namespaceLabels?: NamespaceLabels): { ok: true; request: ServiceRequest; deprecatedKeys: string[] } | { ok: false; problem: RequestProblem } {
  const annotations = svc.metadata?.annotations;
  const deprecatedKeys: string[] = [];
  const read = (name: (typeof ANNOTATION)[keyof typeof ANNOTATION]): string | undefined => {
    const a = readAnnotation(annotations, name);
    if (a?.deprecated) deprecatedKeys.push(a.key);
    return a?.value;
  };
  const ipsAnnotation = read(ANNOTATION.loadBalancerIPs);
  const specIP = svc.spec?.loadBalancerIP;
  if (ipsAnnotation && specIP) {
    return { ok: false, problem: { reason: 'LoadBalancerFailed', message: 'spec.loadBalancerIP and the loadBalancerIPs annotation are both set; use one' } };
  }
  const rawRequested = ipsAnnotation ? ipsAnnotation.split(',').map((s) => s.trim()).filter((s) => s !== '') : specIP ? [specIP] : [];
  const requestedIPs: string[] = [];
  for (const raw of rawRequested) {
    const ip = canonicalIP(raw);
    if (!ip) return { ok: false, problem: { reason: 'LoadBalancerFailed', message: `"${raw}" is not a valid IP address` } };
    requestedIPs.push(ip);
  }
  const fams = families(svc);
  const pol = policy(svc);
  const clusterIPs = (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).filter((ip) => ip && ip !== 'None');
  if (pol === 'RequireDualStack' && clusterIPs.length < 2) {
    return { ok: false, problem: { reason: 'not enough clusterips', message: 'RequireDualStack needs an IPv4 and an IPv6 cluster IP' } };
  }
  for (const ip of requestedIPs) {
    if (!fams.includes(familyOf(ip) as Family)) {
      return { ok: false, problem: { reason: 'nolbIPsIPFamily', message: `requested address ${ip} is not of the Service's IP families (${fams.map((f) => `IPv${f}`).join(', ')})` } };
    }
  }
  return {
    ok: true,
    deprecatedKeys,
    request: {
      key: serviceKey(svc),
      families: fams,
      familyPolicy: pol,
      requestedIPs,
      poolName: read(ANNOTATION.addressPool) || undefined,
      sharingKey: read(ANNOTATION.allowSharedIP) ?? '',
      backendKey: backendKey(svc),
      ports: portsOf(svc),
      tenant: tenantOf(svc, namespaceLabels),
    },
  };
}
