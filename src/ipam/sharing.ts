// MetalLB's IP sharing rules (allocator.go sharingOK), as one pure check between two services.
import type { SharingProfile } from './types';

/**
 * Why a service with `wanted` may not use `address` while `holderKey` (another service, with
 * `holder`) uses it, or undefined when the two may share it. Sharing needs the same non-empty
 * allow-shared-ip key, the same backend key (Local services: same selector; Local never shares with
 * Cluster) and no (protocol, port) pair in common.
 */
export function sharingConflict(address: string, wanted: SharingProfile, holderKey: string, holder: SharingProfile): string | undefined {
  if (wanted.sharingKey === '' || holder.sharingKey === '') {
    return `${address} is already used by ${holderKey}; to share it both services need the same allow-shared-ip key`;
  }
  if (wanted.sharingKey !== holder.sharingKey) {
    return `${address} is shared by ${holderKey} with allow-shared-ip key "${holder.sharingKey}", not "${wanted.sharingKey}"`;
  }
  if (wanted.backendKey !== holder.backendKey) {
    return `${address} is used by ${holderKey}, whose externalTrafficPolicy or selector differs, so it cannot be shared`;
  }
  const clash = wanted.ports.find((p) => holder.ports.some((q) => q.protocol === p.protocol && q.port === p.port));
  if (clash) return `${address}: port ${clash.protocol}/${clash.port} is already used by ${holderKey}`;
  return undefined;
}
