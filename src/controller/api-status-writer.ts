// The StatusWriter on the real API: one patch on services/status carries the ingress, the pool
// annotation and the AddressAllocated condition (a strategic merge patch when it carries one),
// guarded by the resourceVersion the decision was made on, under our own field manager; every
// call ends when its deadline passes or the leadership term ends. It uses the raw client
// (k8s/rest.ts): this is the controller's hottest API path.
import type * as k8s from '@kubernetes/client-node';
import { POOL_ANNOTATION } from '../k8s/annotations';
import { DEFAULT_API_TIMEOUT_MS, apiStatus, errorText, withDeadline } from '../k8s/api-call';
import { rest, type KubeLike } from '../k8s/kube';
import { STRATEGIC_PATCH, type RestClient } from '../k8s/rest';
import { conditionsPatch } from '../k8s/service-conditions';
import type { StatusWrite, StatusWriter, WriteOutcome } from './ports';

export const FIELD_MANAGER = 'ironlb-controller';

const servicePath = (namespace: string, name: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`;

export class ApiStatusWriter implements StatusWriter {
  private readonly client: RestClient;

  constructor(kc: KubeLike, private readonly timeoutMs = DEFAULT_API_TIMEOUT_MS) {
    this.client = rest(kc);
  }

  async write(svc: k8s.V1Service, desired: StatusWrite, signal: AbortSignal): Promise<WriteOutcome> {
    const path = servicePath(svc.metadata?.namespace ?? 'default', svc.metadata?.name ?? '');
    const query = { fieldManager: FIELD_MANAGER };
    const c = desired.condition;
    const conditions = c === undefined ? undefined : 'remove' in c ? conditionsPatch([], [c.remove]) : conditionsPatch([c]);
    // A strategic merge patch: the same as a merge patch for the ingress list and the annotation,
    // and it merges status.conditions by type, so other writers' conditions stay.
    const body = desired.conditionOnly
      ? { metadata: { resourceVersion: svc.metadata?.resourceVersion }, status: { conditions } }
      : {
          metadata: { resourceVersion: svc.metadata?.resourceVersion, annotations: { [POOL_ANNOTATION]: desired.pool ?? null } },
          status: { loadBalancer: { ingress: desired.ips.map((ip) => ({ ip })) }, ...(conditions ? { conditions } : {}) },
        };
    const contentType = conditions !== undefined ? STRATEGIC_PATCH : undefined;
    try {
      const updated = await withDeadline(this.timeoutMs, signal, (s) => this.client.patch<k8s.V1Service>(`${path}/status`, body, { query, signal: s, ...(contentType && { contentType }) }));
      if (!desired.conditionOnly && (updated.metadata?.annotations?.[POOL_ANNOTATION] ?? undefined) !== (desired.pool ?? undefined)) {
        // Servers that drop metadata changes made through /status need a second write. Its answer
        // is two versions after the one decided on, so it is not handed back as `written`.
        const annotations = { metadata: { annotations: { [POOL_ANNOTATION]: desired.pool ?? null } } };
        const again = await withDeadline(this.timeoutMs, signal, (s) => this.client.patch<k8s.V1Service>(path, annotations, { query, signal: s }));
        return { ok: true, resourceVersion: again.metadata?.resourceVersion };
      }
      return { ok: true, resourceVersion: updated.metadata?.resourceVersion, written: updated };
    } catch (e) {
      return { ok: false, status: apiStatus(e), message: errorText(e) };
    }
  }

  async read(namespace: string, name: string, signal: AbortSignal): Promise<k8s.V1Service | undefined> {
    return withDeadline(this.timeoutMs, signal, (s) => this.client.find<k8s.V1Service>(servicePath(namespace, name), { signal: s }));
  }

  async list(signal: AbortSignal): Promise<k8s.V1Service[]> {
    const list = await withDeadline(this.timeoutMs * 3, signal, (s) => this.client.get<k8s.V1ServiceList>('/api/v1/services', { signal: s }));
    return list.items;
  }
}
