// The metallb.io objects (and the Secrets they refer to) as the translation sees them: a list of
// plain objects read through one YamlReader, so that every problem carries the object it belongs
// to and the path inside it (`IPAddressPool metallb-system/x: spec.addresses[1]: ...`), and rules
// across objects (overlapping pools, references) report on the right one.
import { isMap, isScalar } from 'yaml';
import { labelKeyProblem, labelValueProblem } from '../labels';
import type { ConfigIssue } from '../types';
import type { At, YamlReader } from '../yaml-walk';

export const GROUP = 'metallb.io';

export type ConfigKind = 'IPAddressPool' | 'L2Advertisement' | 'BGPAdvertisement' | 'BGPPeer' | 'BFDProfile' | 'Community';

/** The versions MetalLB v0.16 serves for each kind (BGPPeer v1beta1 is deprecated, same fields minus the new ones). */
export const VERSIONS: Readonly<Record<ConfigKind, readonly string[]>> = {
  IPAddressPool: ['v1beta1'],
  L2Advertisement: ['v1beta1'],
  BGPAdvertisement: ['v1beta1'],
  BGPPeer: ['v1beta2', 'v1beta1'],
  BFDProfile: ['v1beta1'],
  Community: ['v1beta1'],
};

/** Kinds of the group that hold no configuration: status objects written by ironlb, MetalLB's removed AddressPool. */
const NOT_CONFIG: Readonly<Record<string, string>> = {
  ServiceL2Status: 'a status object, written by the speakers',
  ServiceBGPStatus: 'a status object, written by the speakers',
  ConfigurationState: 'a status object, written by the controller and the speakers',
  AddressPool: 'MetalLB removed AddressPool in v0.14; write an IPAddressPool and an L2Advertisement or BGPAdvertisement instead (ironlb migrate converts a ConfigMap)',
};

export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** A problem in one object (or, without `object`, in the input as a whole). */
export interface ObjectIssue {
  readonly object?: ObjectRef;
  readonly path: string;
  readonly message: string;
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** `IPAddressPool metallb-system/x: spec.addresses[1]: range start ... is after end ...` */
export function formatObjectIssue(issue: ObjectIssue): string {
  return [issue.object ? describeRef(issue.object) : '', issue.path, issue.message].filter((p) => p !== '').join(': ');
}

/** One input object with the fields every kind has. */
export interface ObjectAt {
  readonly index: number;
  readonly at: At;
  readonly ref: ObjectRef;
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
}

function scalarString(node: unknown): string | undefined {
  return isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
}

/** kind, apiVersion and metadata of an object, read without reporting (the kind decides which rules apply). */
export function readHeader(r: YamlReader, at: At, index: number): ObjectAt | undefined {
  const node = at.node;
  if (!isMap(node)) {
    r.report(at, 'expected a Kubernetes object (a map with apiVersion, kind, metadata)');
    return undefined;
  }
  const kind = scalarString(node.get('kind', true)) ?? '';
  const apiVersion = scalarString(node.get('apiVersion', true)) ?? '';
  const metadata = node.get('metadata', true);
  const name = isMap(metadata) ? scalarString(metadata.get('name', true)) : undefined;
  const namespace = isMap(metadata) ? scalarString(metadata.get('namespace', true)) : undefined;
  const labelsNode = isMap(metadata) ? metadata.get('labels', true) : undefined;
  const labels: Record<string, string> = {};
  if (isMap(labelsNode)) {
    for (const pair of labelsNode.items) {
      const k = scalarString(pair.key);
      const v = scalarString(pair.value);
      if (k !== undefined && v !== undefined && !labelKeyProblem(k) && !labelValueProblem(v)) labels[k] = v;
    }
  }
  const ref: ObjectRef = { kind: kind || 'object', name: name ?? `[${index}]`, ...(namespace !== undefined && { namespace }) };
  return { index, at, ref, kind, apiVersion, name: name ?? '', labels, ...(namespace !== undefined && { namespace }) };
}

/**
 * Whether the object is configuration ironlb reads; anything else gets a warning (or, for an
 * unserved version or a foreign namespace, an error) and is left out.
 */
export function configKindOf(r: YamlReader, o: ObjectAt, namespace: string | undefined): ConfigKind | 'Secret' | undefined {
  const at = (key: string): At => ({ path: o.at.path === '' ? key : `${o.at.path}.${key}`, node: null });
  if (o.kind === 'Secret' && o.apiVersion === 'v1') return 'Secret';
  const [group, version] = o.apiVersion.split('/');
  if (group !== GROUP) {
    r.warn(at('apiVersion'), `not a ${GROUP} object (apiVersion "${o.apiVersion}", kind "${o.kind}"); ignored`);
    return undefined;
  }
  if (NOT_CONFIG[o.kind]) {
    r.warn(at('kind'), `${o.kind} is ${NOT_CONFIG[o.kind]}; ignored`);
    return undefined;
  }
  const kind = (Object.keys(VERSIONS) as ConfigKind[]).find((k) => k === o.kind);
  if (!kind) {
    r.warn(at('kind'), `${GROUP} has no kind "${o.kind}" in MetalLB v0.16; ignored`);
    return undefined;
  }
  if (!VERSIONS[kind].includes(version ?? '')) {
    r.report(at('apiVersion'), `${kind} is served as ${VERSIONS[kind].map((v) => `${GROUP}/${v}`).join(' or ')}, not ${o.apiVersion}`);
    return undefined;
  }
  if (o.name === '') r.report(at('metadata.name'), 'is required');
  if (namespace !== undefined && o.namespace !== undefined && o.namespace !== namespace) {
    // MetalLB's webhooks refuse its objects outside its own namespace; ironlb reads one namespace.
    r.report(at('metadata.namespace'), `must be ${namespace}, the namespace ironlb reads its configuration from`);
    return undefined;
  }
  return kind;
}

const INDEXED = /^\[(\d+)\](?:\.(.*))?$/;

/** Issues of the list reader back on the objects they belong to. */
export function toObjectIssues(issues: readonly ConfigIssue[], objects: readonly (ObjectAt | undefined)[]): ObjectIssue[] {
  return issues.map((issue) => {
    const m = INDEXED.exec(issue.path);
    const object = m ? objects[Number(m[1])] : undefined;
    if (!m || !object) return { path: issue.path, message: issue.message };
    // Messages that point elsewhere in the same object ("already listed at ...") lose the list index too.
    const message = issue.message.split(`[${m[1]}].`).join('');
    return { object: object.ref, path: m[2] ?? '', message };
  });
}

/** The readable name of a place in an object, for messages that point from one object to another. */
export function where(o: ObjectAt, at: At): string {
  const inner = at.path.startsWith(o.at.path) ? at.path.slice(o.at.path.length).replace(/^\./, '') : at.path;
  return inner === '' ? describeRef(o.ref) : `${describeRef(o.ref)} ${inner}`;
}
