// The StatusWriter on the real API: one patch on services/status carries the ingress, the pool
// annotation and the AddressAllocated condition (a strategic merge patch when it carries one),
// guarded by the resourceVersion the decision was made on, under our own field manager; every
// call ends when its deadline passes or the leadership term ends.
import * as k8s from '@kubernetes/client-node';
import { POOL_ANNOTATION } from '../k8s/annotations';
import { DEFAULT_API_TIMEOUT_MS, apiStatus, callOptions, errorText, withDeadline } from '../k8s/client';
import { conditionsPatch } from '../k8s/service-conditions';
import type { StatusWrite, StatusWriter, WriteOutcome } from './ports';

export const FIELD_MANAGER = 'ironlb-controller';

export class ApiStatusWriter implements StatusWriter {
  private readonly core: k8s.CoreV1Api;

  constructor(kc: k8s.KubeConfig, private readonly timeoutMs = DEFAULT_API_TIMEOUT_MS) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async write(svc: k8s.V1Service, desired: StatusWrite, signal: AbortSignal): Promise<WriteOutcome> {
    const namespace = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name ?? '';
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
    try {
      let updated = await withDeadline(this.timeoutMs, signal, (s) =>
        this.core.patchNamespacedServiceStatus({ name, namespace, body, fieldManager: FIELD_MANAGER }, callOptions(s, conditions !== undefined ? 'strategic' : true)),
      );
      if (!desired.conditionOnly && (updated.metadata?.annotations?.[POOL_ANNOTATION] ?? undefined) !== (desired.pool ?? undefined)) {
        // Servers that drop metadata changes made through /status need a second write.
        const annotations = { metadata: { annotations: { [POOL_ANNOTATION]: desired.pool ?? null } } };
        updated = await withDeadline(this.timeoutMs, signal, (s) =>
          this.core.patchNamespacedService({ name, namespace, body: annotations, fieldManager: FIELD_MANAGER }, callOptions(s, true)),
        );
      }
      return { ok: true, resourceVersion: updated.metadata?.resourceVersion };
    } catch (e) {
      return { ok: false, status: apiStatus(e), message: errorText(e) };
    }
  }

  async read(namespace: string, name: string, signal: AbortSignal): Promise<k8s.V1Service | undefined> {
    try {
      return await withDeadline(this.timeoutMs, signal, (s) => this.core.readNamespacedService({ name, namespace }, callOptions(s)));
    } catch (e) {
      if (apiStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async list(signal: AbortSignal): Promise<k8s.V1Service[]> {
    const list = await withDeadline(this.timeoutMs * 3, signal, (s) => this.core.listServiceForAllNamespaces({}, callOptions(s)));
    return list.items;
  }
}
