// The API server harness itself: a LoadBalancer Service is created, its status patched,
// and the change is seen through an informer, as the controller will see it.
import * as k8s from '@kubernetes/client-node';
import { createNamespace, eventually, testKubeConfig } from '../harness/kube';
import { NODE_PORT_RANGE } from '../harness/kube-cluster';

describe('kube-apiserver harness', () => {
  const kc = testKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let ns = '';

  beforeAll(async () => {
    ns = await createNamespace(kc, 'smoke');
  });

  it('serves LoadBalancer Services, status patches and watches', async () => {
    const seen: string[] = [];
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/services`, () => core.listNamespacedService({ namespace: ns }));
    informer.on('update', (svc: k8s.V1Service) => {
      const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
      if (ip) seen.push(ip);
    });
    await informer.start();
    try {
      const svc = await core.createNamespacedService({
        namespace: ns,
        body: { metadata: { name: 'nginx-metallb' }, spec: { type: 'LoadBalancer', selector: { app: 'nginx' }, ports: [{ port: 8090, targetPort: 80, protocol: 'TCP' }] } },
      });
      expect(svc.spec?.clusterIP).toMatch(/^10\.96\./);
      expect(svc.spec?.ports?.[0].nodePort).toBeGreaterThanOrEqual(NODE_PORT_RANGE[0]);
      expect(svc.spec?.ports?.[0].nodePort).toBeLessThanOrEqual(NODE_PORT_RANGE[1]);
      await core.patchNamespacedServiceStatus(
        { name: 'nginx-metallb', namespace: ns, body: [{ op: 'add', path: '/status/loadBalancer/ingress', value: [{ ip: '198.51.100.90' }] }] },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      );
      await eventually('the informer to see the status', async () => (seen.includes('198.51.100.90') ? true : undefined));
    } finally {
      await informer.stop();
      // Every controller of a later file would count its status address as taken (isolation.ts).
      await core.deleteNamespacedService({ name: 'nginx-metallb', namespace: ns }).catch(() => undefined);
    }
  });

  it('enforces RBAC for tokens without rights', async () => {
    const sa = await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'nobody' } } });
    expect(sa.metadata?.name).toBe('nobody');
    const tr = await core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: ns, body: { spec: { audiences: ['https://kubernetes.default.svc'] } } });
    const token = tr.status?.token ?? '';
    expect(token.length).toBeGreaterThan(20);
    const limited = new k8s.KubeConfig();
    limited.loadFromOptions({
      clusters: kc.clusters,
      users: [{ name: 'nobody', token }],
      contexts: [{ name: 'c', cluster: kc.clusters[0].name, user: 'nobody' }],
      currentContext: 'c',
    });
    await expect(limited.makeApiClient(k8s.CoreV1Api).listNamespacedService({ namespace: ns })).rejects.toMatchObject({ code: 403 });
  });
});
