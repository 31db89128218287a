// Per-Service data-path health (issue 16.3) for externalTrafficPolicy: Local Services in pools with
// `datapath-check` (or every layer-2 pool under --datapath-check=kube-proxy). kube-proxy answers on
// each node's spec.healthCheckNodePort: 200 while it has a local endpoint of that Service
// programmed, 503 (or nothing, when kube-proxy is down) otherwise. A node whose answer fails is
// passed over for that Service only; the node-wide /healthz check (health-probe.ts) stays the
// answer for kube-proxy as a whole.
//
// Who checks whom, so that the speakers agree without publishing anything: only the nodes with a
// ready local endpoint can be elected for a Local Service, and a node is elected when every node
// ranked before it fails and it does not. So each such node checks itself and the nodes ranked
// before it (the candidate order by sha256, over the endpoint nodes: restricting it to the live,
// eligible ones keeps their relative order). A Service with C endpoint nodes costs at most
// C(C+1)/2 checks per interval across the cluster; nodes without a local endpoint check nothing.
//
// Pure: the plan is a function of the elections; results go in through observe().
import type * as k8s from '@kubernetes/client-node';
import type { AddressPool } from '../../config/types';
import { HealthGate, type HealthGateOptions } from './health-gate';

export interface ServiceHealthTarget {
  /** namespace/name */
  readonly service: string;
  readonly node: string;
  readonly url: string;
}

export interface ServiceCheckCandidate {
  readonly service: string;
  readonly object: k8s.V1Service;
  /** The Service's addresses, canonical; the first one is hashed. */
  readonly ips: readonly string[];
  readonly pool: AddressPool;
}

export interface ServiceCheckPlanInput {
  readonly self: string;
  /** The layer-2 elections (desired.ts ServiceElection has these fields). */
  readonly elections: Iterable<ServiceCheckCandidate>;
  /** Nodes hosting a ready endpoint of the Service. */
  readonly endpointNodes: (service: string) => ReadonlySet<string>;
  /** The address kube-proxy's health server answers on (the Node's InternalIP), if known. */
  readonly nodeAddress: (node: string) => string | undefined;
  /** The election's candidate order (hashOrder, or the cached one). */
  readonly order: (candidates: readonly string[], ip: string) => string[];
  /** --datapath-check=kube-proxy: every layer-2 pool is gated, not only those with the pool key. */
  readonly allPools: boolean;
}

/** The checks this node makes in one interval: itself and the nodes ranked before it, per gated Local Service. */
export function planServiceChecks(input: ServiceCheckPlanInput): ServiceHealthTarget[] {
  const out: ServiceHealthTarget[] = [];
  for (const e of input.elections) {
    if (!input.allPools && e.pool.dataPathCheck === undefined) continue;
    const spec = e.object.spec;
    const port = spec?.healthCheckNodePort;
    if (spec?.externalTrafficPolicy !== 'Local' || port === undefined || port <= 0 || e.ips.length === 0) continue;
    const endpointNodes = input.endpointNodes(e.service);
    if (!endpointNodes.has(input.self)) continue;
    for (const node of input.order([...endpointNodes], e.ips[0])) {
      const address = input.nodeAddress(node);
      if (address !== undefined) out.push({ service: e.service, node, url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/` });
      if (node === input.self) break;
    }
  }
  return out;
}

/**
 * The damped result (HealthGate) per Service and node, and per Service the nodes failing now.
 * A pair nobody plans to check any more is forgotten: a node that is checked again starts healthy.
 */
export class ServiceHealthTable {
  private readonly gates = new Map<string, Map<string, HealthGate>>();
  private readonly failingBy = new Map<string, Set<string>>();

  constructor(private readonly gateOptions?: HealthGateOptions) {}

  /** Nodes whose check of `service` fails now (as this node sees them). */
  failing(service: string): ReadonlySet<string> {
    return this.failingBy.get(service) ?? NONE;
  }

  /** Every Service with a failing node, and those nodes (for the speaker's published view). */
  allFailing(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.failingBy;
  }

  /** Records one check; returns true when the node's standing for the Service changed. */
  observe(service: string, node: string, ok: boolean, now: number): boolean {
    let perNode = this.gates.get(service);
    if (!perNode) this.gates.set(service, (perNode = new Map()));
    let gate = perNode.get(node);
    if (!gate) perNode.set(node, (gate = new HealthGate(this.gateOptions)));
    if (!gate.observe(ok, now)) return false;
    this.setFailing(service, node, !gate.healthy);
    return true;
  }

  /** Forgets every pair not in `targets`; returns the Services whose failing set changed. */
  retain(targets: readonly ServiceHealthTarget[]): string[] {
    const wanted = new Map<string, Set<string>>();
    for (const t of targets) {
      let nodes = wanted.get(t.service);
      if (!nodes) wanted.set(t.service, (nodes = new Set()));
      nodes.add(t.node);
    }
    const changed = new Set<string>();
    for (const [service, perNode] of this.gates) {
      const keep = wanted.get(service);
      for (const node of perNode.keys()) {
        if (keep?.has(node)) continue;
        perNode.delete(node);
        if (this.setFailing(service, node, false)) changed.add(service);
      }
      if (perNode.size === 0) this.gates.delete(service);
    }
    return [...changed];
  }

  private setFailing(service: string, node: string, failing: boolean): boolean {
    let nodes = this.failingBy.get(service);
    if (failing) {
      if (!nodes) this.failingBy.set(service, (nodes = new Set()));
      const had = nodes.has(node);
      nodes.add(node);
      return !had;
    }
    if (!nodes?.delete(node)) return false;
    if (nodes.size === 0) this.failingBy.delete(service);
    return true;
  }
}

const NONE: ReadonlySet<string> = new Set();
