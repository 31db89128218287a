// Ready endpoints per Service, from EndpointSlices (discovery.k8s.io v1 or v1beta1) or, on
// servers without them, core Endpoints. "Ready" follows MetalLB: ready unset, ready, or serving.
import type * as k8s from '@kubernetes/client-node';
import type { EndpointFacts } from './election/election';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The fields we read, common to discovery.k8s.io v1 and v1beta1 slices. */
export interface SliceLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  endpoints?: Array<{
    conditions?: { ready?: boolean | null; serving?: boolean | null };
    nodeName?: string;
    topology?: Record<string, string>;
  }>;
}

const NONE: EndpointFacts = { anyReady: false, readyNodes: new Set() };

export function factsFromSlices(slices: Iterable<SliceLike>): EndpointFacts {
  let anyReady = false;
  const readyNodes = new Set<string>();
  for (const s of slices) {
    for (const ep of s.endpoints ?? []) {
      const c = ep.conditions ?? {};
      const ready = c.ready === undefined || c.ready === null || c.ready === true || c.serving === true;
      if (!ready) continue;
      anyReady = true;
      const node = ep.nodeName ?? ep.topology?.['kubernetes.io/hostname'];
      if (node) readyNodes.add(node);
    }
  }
  return { anyReady, readyNodes };
}

export function factsFromEndpoints(ep: k8s.V1Endpoints | undefined): EndpointFacts {
  if (!ep) return NONE;
  let anyReady = false;
  const readyNodes = new Set<string>();
  for (const subset of ep.subsets ?? []) {
    for (const a of subset.addresses ?? []) {
      anyReady = true;
      if (a.nodeName) readyNodes.add(a.nodeName);
    }
  }
  return { anyReady, readyNodes };
}

/** Keeps slices grouped by Service so that a lookup does not scan every slice. */
export class SliceIndex {
  private readonly byService = new Map<string, Map<string, SliceLike>>();

  upsert(slice: SliceLike): string | undefined {
    const key = this.serviceOf(slice);
    if (!key) return undefined;
    let m = this.byService.get(key);
    if (!m) this.byService.set(key, (m = new Map()));
    m.set(slice.metadata?.name ?? '', slice);
    return key;
  }

  remove(slice: SliceLike): string | undefined {
    const key = this.serviceOf(slice);
    if (!key) return undefined;
    const m = this.byService.get(key);
    m?.delete(slice.metadata?.name ?? '');
    if (m && m.size === 0) this.byService.delete(key);
    return key;
  }

  facts(serviceKey: string): EndpointFacts {
    const m = this.byService.get(serviceKey);
    return m ? factsFromSlices(m.values()) : NONE;
  }

  private serviceOf(slice: SliceLike): string | undefined {
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    return svc ? `${slice.metadata?.namespace ?? 'default'}/${svc}` : undefined;
  }
}
