// Field trimming for informer caches: an informer keeps every object it watches for as long as
// the object exists, so each cache keeps only the fields its readers use. Each function trims in
// place (the cache holds the object the handlers receive) and keeps metadata.name, namespace,
// uid and resourceVersion, which the cache itself compares. Pure: no I/O.
import type * as k8s from '@kubernetes/client-node';
import type { SliceLike } from '../speaker/endpoints';

/** Written by `kubectl apply`: a second copy of the whole object, read by nobody here. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Meta = k8s.V1ObjectMeta;

function dropLastApplied(meta: Meta | undefined): void {
  if (meta?.annotations && LAST_APPLIED in meta.annotations) {
    const rest = { ...meta.annotations };
    delete rest[LAST_APPLIED];
    meta.annotations = rest;
  }
}

/**
 * metadata.managedFields reduced to what lastStatusWriter (controller/service-request.ts) reads:
 * each manager, its time, and whether it owns fields under status; the field sets themselves go.
 */
export function compactManagedFields(meta: Meta | undefined): void {
  if (!meta?.managedFields) return;
  meta.managedFields = meta.managedFields.map((mf) => {
    const fields = mf.fieldsV1 as Record<string, unknown> | undefined;
    const compact: k8s.V1ManagedFieldsEntry = { manager: mf.manager, operation: mf.operation, time: mf.time };
    if (mf.subresource !== undefined) compact.subresource = mf.subresource;
    compact.fieldsV1 = fields && 'f:status' in fields ? { 'f:status': {} } : {};
    return compact;
  });
}

/** Services as the speaker reads them: no managedFields, no last-applied copy. */
export function trimServiceForSpeaker(svc: k8s.V1Service): void {
  if (svc.metadata) delete svc.metadata.managedFields;
  dropLastApplied(svc.metadata);
}

/** Services as the controller reads them: managedFields compacted (fight detection), no last-applied copy. */
export function trimServiceForController(svc: k8s.V1Service): void {
  compactManagedFields(svc.metadata);
  dropLastApplied(svc.metadata);
}

/**
 * Nodes as the speaker reads them (speaker/cluster-state.ts nodeFacts): name, labels, the
 * type/status of each condition and the InternalIP (the per-Service data-path checks). A real Node
 * also carries its image list, capacity, other addresses and daemon endpoints: tens of KiB each.
 */
export function trimNode(node: k8s.V1Node): void {
  const m = node.metadata;
  node.metadata = m ? { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels } : undefined;
  delete node.spec;
  const conditions = node.status?.conditions;
  const internal = node.status?.addresses?.filter((a) => a.type === 'InternalIP');
  node.status =
    conditions || internal?.length
      ? { ...(conditions && { conditions: conditions.map((c) => ({ type: c.type, status: c.status })) }), ...(internal?.length && { addresses: internal.map((a) => ({ type: a.type, address: a.address })) }) }
      : undefined;
}

/** EndpointSlices as speaker/endpoints.ts reads them: per endpoint its conditions and node; no addresses, ports or targets. */
export function trimEndpointSlice(slice: k8s.KubernetesObject & SliceLike): void {
  const m = slice.metadata;
  if (m) slice.metadata = { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels };
  if (slice.endpoints) {
    slice.endpoints = slice.endpoints.map((ep) => {
      const out: NonNullable<SliceLike['endpoints']>[number] = {};
      if (ep.conditions) out.conditions = { ready: ep.conditions.ready, serving: ep.conditions.serving };
      if (ep.nodeName !== undefined) out.nodeName = ep.nodeName;
      const host = ep.topology?.['kubernetes.io/hostname'];
      if (host !== undefined) out.topology = { 'kubernetes.io/hostname': host };
      return out;
    });
  }
  for (const key of Object.keys(slice)) if (!['apiVersion', 'kind', 'metadata', 'endpoints'].includes(key)) delete (slice as unknown as Record<string, unknown>)[key];
}

/** Core Endpoints as speaker/endpoints.ts reads them: the ready addresses' node names. */
export function trimEndpoints(ep: k8s.V1Endpoints): void {
  const m = ep.metadata;
  if (m) ep.metadata = { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
  if (ep.subsets) ep.subsets = ep.subsets.map((s) => ({ addresses: s.addresses?.map((a) => ({ ip: '', nodeName: a.nodeName })) }));
}

/** Objects of which only the labels are read (Namespaces for serviceAllocation's namespaceSelectors). */
export function trimToLabels<T extends { metadata?: Meta }>(obj: T): void {
  const m = obj.metadata;
  obj.metadata = m ? { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels } : undefined;
  for (const k of Object.keys(obj) as Array<keyof T>) if (k !== 'metadata' && k !== 'apiVersion' && k !== 'kind') delete obj[k];
}
