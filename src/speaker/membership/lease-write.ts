// Writing a speaker's own Lease (lease-membership.ts): the object, and the write that falls back to
// the server's copy when ours is out of date or gone.
import type * as k8s from '@kubernetes/client-node';
import { apiStatus } from '../../k8s/api-call';
import { microTime } from '../../k8s/lease';
import type { RestClient } from '../../k8s/rest';
import { SPEAKER_LABELS } from './lease-labels';

export function speakerLeaseBody(l: { name: string; namespace: string; node: string; annotations: Record<string, string>; durationS: number; resourceVersion?: string }): k8s.V1Lease {
  return {
    metadata: { name: l.name, namespace: l.namespace, labels: { ...SPEAKER_LABELS, 'ironlb.io/node': l.node }, annotations: l.annotations, resourceVersion: l.resourceVersion },
    spec: { holderIdentity: l.node, leaseDurationSeconds: l.durationS, renewTime: microTime() },
  };
}

/** Replaces our Lease at `ownRv` (creates it without one); on 409 or 404 starts over from the server's copy, unless `leaving`. */
export async function writeSpeakerLease(api: RestClient, path: { collection: string; item: string }, body: (rv?: string) => k8s.V1Lease, ownRv: string | undefined, leaving: () => boolean): Promise<k8s.V1Lease> {
  try {
    return ownRv ? await api.replace<k8s.V1Lease>(path.item, body(ownRv)) : await api.create<k8s.V1Lease>(path.collection, body());
  } catch (e) {
    const status = apiStatus(e);
    if (status !== 409 && status !== 404) throw e;
    // Someone else wrote it (an earlier incarnation of us) or it is gone: start over from the
    // server — unless we are leaving, when gone is what we want.
    if (leaving()) throw e;
    const existing = await api.get<k8s.V1Lease>(path.item).catch(() => undefined);
    return existing ? await api.replace<k8s.V1Lease>(path.item, body(existing.metadata?.resourceVersion)) : await api.create<k8s.V1Lease>(path.collection, body());
  }
}
