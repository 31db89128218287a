// The controller's view of the address conflicts the speakers found: every speaker Lease's
// ironlb.io/address-conflicts (see src/speaker/layer2/conflict-annotation.ts), merged. A speaker
// that is gone takes its reports with it (its Lease is deleted or stops being listed), which the
// quarantine treats as the conflict having cleared.
import type * as k8s from '@kubernetes/client-node';
import { Informer } from '../k8s/informer';
import type { KubeLike } from '../k8s/kube';
import { SPEAKER_LABELS } from '../speaker/membership/lease-membership';
import { ADDRESS_CONFLICTS_ANNOTATION, decodeConflicts } from '../speaker/layer2/conflict-annotation';
import type { Logger } from '../util/log';

export class ConflictSource {
  private readonly informer: Informer<k8s.V1Lease>;
  private last = '';

  constructor(kc: KubeLike, namespace: string, log: Logger, onChange: (reported: Map<string, string>) => void) {
    const labelSelector = Object.entries(SPEAKER_LABELS)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    this.informer = new Informer<k8s.V1Lease>(kc, `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
      labelSelector,
      log,
    });
    this.informer.on(() => {
      const reported = this.reported();
      const key = JSON.stringify([...reported].sort());
      if (key === this.last) return;
      this.last = key;
      onChange(reported);
    });
  }

  /** address → MAC, over every speaker's Lease. */
  reported(): Map<string, string> {
    const out = new Map<string, string>();
    for (const lease of this.informer.list()) {
      for (const [address, mac] of decodeConflicts(lease.metadata?.annotations?.[ADDRESS_CONFLICTS_ANNOTATION])) out.set(address, mac);
    }
    return out;
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}
