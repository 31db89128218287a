// MetalLB's per-Service status objects as the speakers keep them (ServiceL2Status; the same shape
// serves ServiceBGPStatus): which objects this node should have, and what to create, update and
// delete to get there from what the API server shows. Pure; src/k8s/status-objects.ts applies it.
import { canonical } from '../config/canonical';
import type { DesiredOwnership } from './layer2/desired';

export const NODE_LABEL = 'metallb.io/node';
export const SERVICE_NAME_LABEL = 'metallb.io/service-name';
export const SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';

/** One object this node should have, for the Service `key` (namespace/name). */
export interface StatusWant {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: Readonly<Record<string, unknown>>;
}

/** One object as read back (by its labels). */
export interface StatusHave {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly status?: unknown;
}

export interface StatusPlan {
  readonly create: readonly StatusWant[];
  readonly update: readonly { readonly name: string; readonly status: Readonly<Record<string, unknown>> }[];
  /** Object names. */
  readonly delete: readonly string[];
}

function keyOf(labels: Readonly<Record<string, string>>): string | undefined {
  const ns = labels[SERVICE_NAMESPACE_LABEL];
  const name = labels[SERVICE_NAME_LABEL];
  return ns !== undefined && name !== undefined ? `${ns}/${name}` : undefined;
}

function labelsFor(node: string, key: string): Record<string, string> {
  const [namespace, name] = key.split('/', 2);
  return { [NODE_LABEL]: node, [SERVICE_NAME_LABEL]: name, [SERVICE_NAMESPACE_LABEL]: namespace };
}

/**
 * The ServiceL2Status objects of `node`: one per Service it was elected for, naming the
 * interfaces it answers on (those of its L2Advertisements, else every usable one).
 */
export function l2StatusWants(desired: Pick<DesiredOwnership, 'services'>, node: string, usableInterfaces: readonly string[]): StatusWant[] {
  const out: StatusWant[] = [];
  for (const s of desired.services) {
    if (s.result.announcer !== node) continue;
    const [serviceNamespace, serviceName] = s.service.split('/', 2);
    const names = s.interfaces.length > 0 ? [...s.interfaces] : [...usableInterfaces].sort();
    out.push({ key: s.service, labels: labelsFor(node, s.service), status: { node, serviceName, serviceNamespace, interfaces: names.map((name) => ({ name })) } });
  }
  return out;
}

/** The ServiceBGPStatus objects of `node`: one per Service it announces, with the peers it goes to. */
export function bgpStatusWants(announced: readonly { readonly service: string; readonly peers: readonly string[] }[], node: string): StatusWant[] {
  return announced.map((a) => {
    const [serviceNamespace, serviceName] = a.service.split('/', 2);
    return { key: a.service, labels: labelsFor(node, a.service), status: { node, serviceName, serviceNamespace, peers: [...a.peers].sort() } };
  });
}

/**
 * From `have` (every object of the kind in the namespace) to `want` for `node`: its own objects
 * are created, updated or deleted (a duplicate for one Service is deleted); another node's object
 * for a Service this node now holds is deleted when that node is not alive (it cannot delete it
 * itself); the objects of live nodes are theirs to keep.
 */
export function planStatusObjects(want: readonly StatusWant[], have: readonly StatusHave[], node: string, alive: ReadonlySet<string>): StatusPlan {
  const wanted = new Map(want.map((w) => [w.key, w]));
  const kept = new Set<string>();
  const update: { name: string; status: Readonly<Record<string, unknown>> }[] = [];
  const del: string[] = [];
  for (const h of [...have].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const key = keyOf(h.labels);
    const owner = h.labels[NODE_LABEL];
    if (owner !== node) {
      if (key !== undefined && wanted.has(key) && owner !== undefined && !alive.has(owner)) del.push(h.name);
      continue;
    }
    const w = key === undefined ? undefined : wanted.get(key);
    if (!w || kept.has(w.key)) {
      del.push(h.name);
      continue;
    }
    kept.add(w.key);
    if (canonical(h.status ?? {}) !== canonical(w.status)) update.push({ name: h.name, status: w.status });
  }
  return { create: want.filter((w) => !kept.has(w.key)), update, delete: del };
}
