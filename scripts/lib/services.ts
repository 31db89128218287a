// Test helpers for Services, ConfigMaps and Events on the real API server.
import * as k8s from '@kubernetes/client-node';
import { eventually } from './wait';

export class ServiceKit {
  readonly core: k8s.CoreV1Api;

  constructor(readonly kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async ensureNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }

  async applyConfig(namespace: string, name: string, config: string): Promise<void> {
    await this.ensureNamespace(namespace);
    const body: k8s.V1ConfigMap = { metadata: { name, namespace }, data: { config } };
    try {
      await this.core.replaceNamespacedConfigMap({ name, namespace, body });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
      await this.core.createNamespacedConfigMap({ namespace, body });
    }
  }

  async createLB(namespace: string, name: string, extra: Partial<k8s.V1ServiceSpec> = {}, annotations?: Record<string, string>): Promise<k8s.V1Service> {
    return this.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name, namespace, annotations },
        spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], ...extra },
      },
    });
  }

  async get(namespace: string, name: string): Promise<k8s.V1Service> {
    return this.core.readNamespacedService({ name, namespace });
  }

  static ips(svc: k8s.V1Service): string[] {
    return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== '');
  }

  async waitIPs(namespace: string, name: string, timeoutMs = 15_000): Promise<string[]> {
    return eventually(`an EXTERNAL-IP on ${namespace}/${name}`, async () => {
      const ips = ServiceKit.ips(await this.get(namespace, name));
      return ips.length > 0 ? ips : undefined;
    }, timeoutMs);
  }

  async waitNoIPs(namespace: string, name: string, timeoutMs = 15_000): Promise<void> {
    await eventually(`no EXTERNAL-IP on ${namespace}/${name}`, async () => (ServiceKit.ips(await this.get(namespace, name)).length === 0 ? true : undefined), timeoutMs);
  }

  async events(namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
    const list = await this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items;
  }

  async waitEvent(namespace: string, name: string, reason: string, timeoutMs = 15_000): Promise<k8s.CoreV1Event> {
    return eventually(`a ${reason} event on ${namespace}/${name}`, async () => (await this.events(namespace, name)).find((e) => e.reason === reason), timeoutMs);
  }

  async deleteAllServices(namespace: string): Promise<void> {
    const list = await this.core.listNamespacedService({ namespace });
    await Promise.all(list.items.map((s) => this.core.deleteNamespacedService({ name: s.metadata?.name ?? '', namespace }).catch(() => undefined)));
  }
}
