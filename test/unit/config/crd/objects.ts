// Builders for metallb.io objects in tests, in the shape the API server returns them.
export const NS = 'metallb-system';

type Spec = Record<string, unknown>;

function object(apiVersion: string, kind: string, name: string, spec: Spec | undefined, labels?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion,
    kind,
    metadata: { name, namespace: NS, ...(labels && { labels }) },
    ...(spec !== undefined && { spec }),
  };
}

export const ipPool = (name: string, spec: Spec, labels?: Record<string, string>) => object('metallb.io/v1beta1', 'IPAddressPool', name, spec, labels);
export const l2Adv = (name: string, spec?: Spec) => object('metallb.io/v1beta1', 'L2Advertisement', name, spec);
export const bgpAdv = (name: string, spec?: Spec) => object('metallb.io/v1beta1', 'BGPAdvertisement', name, spec);
export const bgpPeer = (name: string, spec: Spec, version = 'v1beta2') => object(`metallb.io/${version}`, 'BGPPeer', name, spec);
export const bfdProfile = (name: string, spec: Spec) => object('metallb.io/v1beta1', 'BFDProfile', name, spec);
export const community = (name: string, aliases: Record<string, string>) =>
  object('metallb.io/v1beta1', 'Community', name, { communities: Object.entries(aliases).map(([n, value]) => ({ name: n, value })) });

/** A Secret as the API returns it: data base64-encoded. */
export function secret(name: string, data: Record<string, string>, type = 'kubernetes.io/basic-auth'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}
