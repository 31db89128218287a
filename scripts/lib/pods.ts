// Pods for the lab's data path, and the small "kubelet" + endpoint controller that a cluster
// without kubelets and controller-manager needs. A pod is a network namespace routed behind its
// node (Lab.addRoutedHost) running an HTTP server that answers with the pod's name; its Pod
// object is marked Ready once the server answers a probe from the node (as a kubelet's readiness
// probe would), and not ready when the pod is stopped. EndpointSlices (discovery.k8s.io/v1beta1,
// what kube-proxy 1.20 and the speaker read) are written from the Pods a Service selects.
import * as k8s from '@kubernetes/client-node';
import { httpGet, podAddress, podGateway } from './kube-proxy';
import type { Launched, Launcher } from './launcher';
import type { Host, Lab } from './netns';
import { eventually } from './wait';

/** The node a pod runs on: a LAN host with its 1-based index (which fixes its pod CIDR). */
export interface PodNode extends Host {
  nodeName: string;
  index: number;
}

export interface PodSpec {
  name: string;
  /** Default "default". */
  namespace?: string;
  /** Default { app: name }. */
  labels?: Record<string, string>;
  /** The port the pod's server listens on (its containerPort); default 80. */
  port?: number;
}

export interface LabPod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly port: number;
  readonly node: PodNode;
  /** The pod's network namespace and address. */
  readonly host: Host;
  readonly ip: string;
  server?: Launched;
  ready: boolean;
}

export const SLICE_MANAGER = 'ironlb-lab-kubelet';
const SLICE_API = 'discovery.k8s.io/v1beta1';
/** A name only: no container runtime runs it (the server is a node process in the pod's namespace). */
const CONTAINER_IMAGE = 'ironlb.io/lab-http-echo';

/** The pod's server: answers every request with the pod's name. */
export function podServerScript(podName: string, port: number): string {
  return `require('http').createServer((q,s)=>{s.end(${JSON.stringify(podName)}+'\\n')}).listen(${port},'::',()=>console.log('listening'))`;
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export class TestKubelet {
  readonly pods: LabPod[] = [];
  private readonly core: k8s.CoreV1Api;
  private readonly objects: k8s.KubernetesObjectApi;
  /** Slices this kubelet wrote, "namespace/service", so that a Service whose pods all went keeps an empty one. */
  private readonly written = new Set<string>();
  private netnsCount = 0;

  constructor(
    private readonly lab: Lab,
    kc: k8s.KubeConfig,
    private readonly launch: Launcher,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  }

  /** Creates the pod's namespace, server and Pod object; resolves once it is Ready and in the slices. */
  async addPod(node: PodNode, spec: PodSpec): Promise<LabPod> {
    const namespace = spec.namespace ?? 'default';
    if (this.pods.some((p) => p.name === spec.name && p.namespace === namespace)) throw new Error(`pod ${namespace}/${spec.name} exists`);
    const ip = podAddress(node.index, this.pods.filter((p) => p.node.nodeName === node.nodeName).length);
    const host = await this.lab.addRoutedHost(`p${++this.netnsCount}`, node, { ipv4: `${ip}/32`, gateway: podGateway(node.index) });
    const pod: LabPod = { name: spec.name, namespace, labels: spec.labels ?? { app: spec.name }, port: spec.port ?? 80, node, host, ip, ready: false };
    this.pods.push(pod);
    await this.ensureServiceAccount(namespace);
    await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: pod.name, namespace, labels: pod.labels },
        spec: {
          nodeName: node.nodeName,
          // No token controller here: a pod that wanted a token would be refused by admission.
          automountServiceAccountToken: false,
          containers: [{ name: 'http', image: CONTAINER_IMAGE, ports: [{ containerPort: pod.port, protocol: 'TCP' }] }],
        },
      },
    });
    await this.startPod(pod);
    return pod;
  }

  /** Starts (or restarts) the pod's server; marks it Ready once the node's probe gets its name back. */
  async startPod(pod: LabPod): Promise<void> {
    if (!pod.server?.running()) pod.server = this.launch(`pod-${pod.namespace}-${pod.name}`, [process.execPath, '-e', podServerScript(pod.name, pod.port)], pod.host.ns);
    const server = pod.server;
    // A node process starts in well under a second on an idle machine; 30 s covers a loaded one.
    await eventually(`pod ${pod.name} answering its readiness probe`, async () => {
      if (!server.running()) throw new Error(`pod ${pod.name}'s server exited:\n${server.outputTail()}`);
      return (await this.probe(pod)) ? true : undefined;
    }, 30_000, 100);
    await this.setReady(pod, true);
  }

  /** Stops the pod's server (the container died); the kubelet marks it not ready, the slices follow. */
  async stopPod(pod: LabPod): Promise<void> {
    await pod.server?.stop();
    await this.setReady(pod, false);
  }

  /** The readiness probe, from the node's namespace as a kubelet runs it. */
  async probe(pod: LabPod): Promise<boolean> {
    const r = await httpGet(pod.node.ns, `http://${pod.ip}:${pod.port}/`, 1);
    return r?.status === 200 && r.body.trim() === pod.name;
  }

  private async setReady(pod: LabPod, ready: boolean): Promise<void> {
    const current = await this.core.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
    const now = new Date();
    const status = ready ? 'True' : 'False';
    current.status = {
      ...current.status,
      phase: 'Running',
      hostIP: pod.node.ipv4,
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      startTime: current.status?.startTime ?? now,
      conditions: ['Initialized', 'ContainersReady', 'Ready', 'PodScheduled'].map((type) => ({
        type,
        status: type === 'Initialized' || type === 'PodScheduled' ? 'True' : status,
        lastTransitionTime: now,
      })),
      // What `kubectl get pods` counts in READY; a stopped server shows as terminated by SIGTERM.
      containerStatuses: [
        {
          name: 'http',
          image: CONTAINER_IMAGE,
          imageID: '',
          ready,
          started: ready,
          restartCount: 0,
          state: ready ? { running: { startedAt: now } } : { terminated: { exitCode: 143, reason: 'Error', finishedAt: now } },
        },
      ],
    };
    await this.core.replaceNamespacedPodStatus({ name: pod.name, namespace: pod.namespace, body: current });
    pod.ready = ready;
    await this.syncEndpoints(pod.namespace);
  }

  /**
   * The endpoint controller's job for `namespace`: one EndpointSlice `<service>-pods` per Service
   * that selects any of our pods (or did before), with each pod's readiness and node.
   */
  async syncEndpoints(namespace: string): Promise<void> {
    const services = (await this.core.listNamespacedService({ namespace })).items;
    for (const svc of services) {
      const name = svc.metadata?.name ?? '';
      const key = `${namespace}/${name}`;
      const selected = this.pods.filter((p) => p.namespace === namespace && selects(svc.spec?.selector, p.labels));
      if (selected.length === 0 && !this.written.has(key)) continue;
      await this.writeSlice(svc, selected);
      this.written.add(key);
    }
  }

  private async writeSlice(svc: k8s.V1Service, pods: LabPod[]): Promise<void> {
    const namespace = svc.metadata?.namespace ?? 'default';
    const service = svc.metadata?.name ?? '';
    const name = `${service}-pods`;
    const targetPort = (p: k8s.V1ServicePort, pod: LabPod | undefined): number =>
      typeof p.targetPort === 'number' ? p.targetPort : p.targetPort === undefined ? p.port : (pod?.port ?? p.port);
    const body = {
      apiVersion: SLICE_API,
      kind: 'EndpointSlice',
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': SLICE_MANAGER } },
      addressType: 'IPv4',
      ports: (svc.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', port: targetPort(p, pods[0]), protocol: p.protocol ?? 'TCP' })),
      endpoints: pods.map((p) => ({
        addresses: [p.ip],
        conditions: { ready: p.ready },
        topology: { 'kubernetes.io/hostname': p.node.nodeName },
        targetRef: { kind: 'Pod', name: p.name, namespace: p.namespace },
      })),
    };
    const ref = { apiVersion: SLICE_API, kind: 'EndpointSlice', metadata: { name, namespace } };
    // Replace in place: a delete + create would show watchers (kube-proxy, speakers) no endpoints for a moment.
    const existing = await this.objects.read(ref).catch((e: { code?: number }) => {
      if (e.code === 404) return undefined;
      throw e;
    });
    if (existing) await this.objects.replace({ ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } });
    else await this.objects.create(body);
  }

  private async ensureServiceAccount(namespace: string): Promise<void> {
    // Admission wants the pod's ServiceAccount to exist; controller-manager would make it.
    await this.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default', namespace } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }

  /** Stops every pod server (the namespaces go with the lab). */
  async stopAll(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.server?.stop()));
  }
}
