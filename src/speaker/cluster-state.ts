// What a speaker watches besides its config: Services, ready endpoints and Nodes. Picks the
// newest endpoint API the server offers (discovery.k8s.io/v1, then v1beta1, then core Endpoints).
import type * as k8s from '@kubernetes/client-node';
import { Informer } from '../k8s/informer';
import { rest, type KubeLike } from '../k8s/kube';
import { trimEndpointSlice, trimEndpoints, trimNode, trimServiceForSpeaker } from '../k8s/trim';
import type { Logger } from '../util/log';
import type { EndpointFacts, NodeFacts } from './election/election';
import { SliceIndex, factsFromEndpoints, type SliceLike } from './endpoints';

export type EndpointSource = 'discovery.k8s.io/v1' | 'discovery.k8s.io/v1beta1' | 'v1/Endpoints';

export async function detectEndpointSource(kc: KubeLike): Promise<EndpointSource> {
  const groups = await rest(kc).get<k8s.V1APIGroupList>('/apis');
  const discovery = groups.groups.find((g) => g.name === 'discovery.k8s.io');
  const versions = new Set((discovery?.versions ?? []).map((v) => v.version));
  if (versions.has('v1')) return 'discovery.k8s.io/v1';
  if (versions.has('v1beta1')) return 'discovery.k8s.io/v1beta1';
  return 'v1/Endpoints';
}

export function nodeFacts(node: k8s.V1Node): NodeFacts {
  return {
    name: node.metadata?.name ?? '',
    labels: node.metadata?.labels ?? {},
    networkUnavailable: (node.status?.conditions ?? []).some((c) => c.type === 'NetworkUnavailable' && c.status === 'True'),
  };
}

/** What a watch event touched: one Service (its object or its endpoints), or the Nodes. */
export type StateChange = { kind: 'service'; key: string } | { kind: 'nodes' };

const keyOf = (o: k8s.KubernetesObject): string => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;

export class ClusterState {
  readonly services: Informer<k8s.V1Service>;
  readonly nodes: Informer<k8s.V1Node>;
  private slices?: Informer<k8s.KubernetesObject & SliceLike>;
  private endpoints?: Informer<k8s.V1Endpoints>;
  private readonly sliceIndex = new SliceIndex();
  private readonly listeners: Array<(change: StateChange) => void> = [];
  private source?: EndpointSource;

  constructor(
    private readonly kc: KubeLike,
    private readonly log: Logger,
  ) {
    this.services = new Informer(kc, '/api/v1/services', { log, trim: trimServiceForSpeaker });
    this.nodes = new Informer(kc, '/api/v1/nodes', { log, trim: trimNode });
    this.services.on((svc) => this.changed({ kind: 'service', key: keyOf(svc) }));
    this.nodes.on(() => this.changed({ kind: 'nodes' }));
  }

  get endpointSource(): EndpointSource | undefined {
    return this.source;
  }

  get synced(): boolean {
    return this.services.synced && this.nodes.synced && (this.slices?.synced ?? this.endpoints?.synced ?? false);
  }

  onChange(cb: (change: StateChange) => void): void {
    this.listeners.push(cb);
  }

  async start(): Promise<void> {
    this.source = await detectEndpointSource(this.kc);
    this.log.info('watching endpoints', { api: this.source });
    if (this.source === 'v1/Endpoints') {
      this.endpoints = new Informer(this.kc, '/api/v1/endpoints', { log: this.log, trim: trimEndpoints });
      this.endpoints.on((ep) => this.changed({ kind: 'service', key: keyOf(ep) }));
    } else {
      this.slices = new Informer<k8s.KubernetesObject & SliceLike>(this.kc, `/apis/${this.source}/endpointslices`, { log: this.log, trim: trimEndpointSlice });
      this.slices.on((slice, event) => {
        const key = event === 'delete' ? this.sliceIndex.remove(slice) : this.sliceIndex.upsert(slice);
        if (key) this.changed({ kind: 'service', key });
      });
    }
    await Promise.all([this.services.start(), this.nodes.start(), this.slices?.start(), this.endpoints?.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.services.stop(), this.nodes.stop(), this.slices?.stop(), this.endpoints?.stop()]);
  }

  endpointFacts(serviceKey: string): EndpointFacts {
    if (this.endpoints) {
      const [ns, name] = serviceKey.split('/', 2);
      return factsFromEndpoints(this.endpoints.get(name, ns));
    }
    return this.sliceIndex.facts(serviceKey);
  }

  nodeMap(): Map<string, NodeFacts> {
    const m = new Map<string, NodeFacts>();
    for (const n of this.nodes.list()) m.set(n.metadata?.name ?? '', nodeFacts(n));
    return m;
  }

  /** A Node's InternalIP (where kube-proxy's health servers answer), if it has one. */
  nodeAddress(name: string): string | undefined {
    return this.nodes.get(name)?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  }

  /** One Service by namespace/name. */
  service(key: string): k8s.V1Service | undefined {
    const slash = key.indexOf('/');
    return this.services.get(key.slice(slash + 1), key.slice(0, slash));
  }

  private changed(change: StateChange): void {
    for (const cb of this.listeners) cb(change);
  }
}
