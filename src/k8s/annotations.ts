// Service annotations: ironlb's own prefix first, then MetalLB's current and deprecated ones,
// so a Service written for MetalLB means the same thing here.
export const PREFIXES = ['ironlb.io/', 'metallb.io/', 'metallb.universe.tf/'] as const;

export const ANNOTATION = {
  addressPool: 'address-pool',
  loadBalancerIPs: 'loadBalancerIPs',
  allowSharedIP: 'allow-shared-ip',
  allocatedFromPool: 'ip-allocated-from-pool',
} as const;

export type AnnotationName = (typeof ANNOTATION)[keyof typeof ANNOTATION];

/** The pool annotation the controller writes; MetalLB's name under ironlb's prefix. */
export const POOL_ANNOTATION = `ironlb.io/${ANNOTATION.allocatedFromPool}`;

export interface AnnotationValue {
  value: string;
  key: string; // the full key it was read from
  deprecated: boolean;
}

export function readAnnotation(annotations: Record<string, string> | undefined, name: AnnotationName): AnnotationValue | undefined {
  if (!annotations) return undefined;
  for (const prefix of PREFIXES) {
    const key = prefix + name;
    const value = annotations[key];
    if (value !== undefined) return { value, key, deprecated: prefix === 'metallb.universe.tf/' };
  }
  return undefined;
}
