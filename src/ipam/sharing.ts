// MetalLB's IP sharing rules (allocator.go sharingOK), as one pure check between two services,
// plus ironlb's namespace rules.
import type { SharingProfile } from './types';

/** What the pool holding the address says about sharing it. */
export interface SharingRules {
  readonly pool: string;
  /** The pool's `cross-namespace-sharing`; false keeps a shared address inside one namespace. */
  readonly crossNamespace: boolean;
}

/** The namespace part of a "namespace/name" service key. */
export function namespaceOfKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/**
 * Why the service `wantedKey` with `wanted` may not use `address` while `holderKey` (another
 * service, with `holder`) uses it, or undefined when the two may share it. Sharing needs the same
 * non-empty allow-shared-ip key, the same backend key (Local services: same selector; Local never
 * shares with Cluster) and no (protocol, port) pair in common. On top of MetalLB: Local services
 * share only within one namespace (the same selector text in two namespaces selects other pods,
 * so the address would be announced by two nodes), and a pool may keep sharing inside one namespace.
 */
export function sharingConflict(address: string, wantedKey: string, wanted: SharingProfile, holderKey: string, holder: SharingProfile, rules: SharingRules): string | undefined {
  if (wanted.sharingKey === '' || holder.sharingKey === '') {
    return `${address} is already used by ${holderKey}; to share it both services need the same allow-shared-ip key`;
  }
  if (wanted.sharingKey !== holder.sharingKey) {
    return `${address} is shared by ${holderKey} with allow-shared-ip key "${holder.sharingKey}", not "${wanted.sharingKey}"`;
  }
  if (wanted.backendKey !== holder.backendKey) {
    return `${address} is used by ${holderKey}, whose externalTrafficPolicy or selector differs, so it cannot be shared`;
  }
  const otherNamespace = namespaceOfKey(wantedKey) !== namespaceOfKey(holderKey);
  if (otherNamespace && wanted.backendKey !== '') {
    return `${address} is used by ${holderKey} in another namespace: Services with externalTrafficPolicy Local share an address only within one namespace`;
  }
  if (otherNamespace && !rules.crossNamespace) {
    return `${address} is used by ${holderKey} in another namespace, and pool "${rules.pool}" has cross-namespace-sharing: false`;
  }
  const clash = wanted.ports.find((p) => holder.ports.some((q) => q.protocol === p.protocol && q.port === p.port));
  if (clash) return `${address}: port ${clash.protocol}/${clash.port} is already used by ${holderKey}`;
  return undefined;
}
