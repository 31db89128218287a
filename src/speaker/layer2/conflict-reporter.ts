// Says what the responder's conflict detection found (conflict-watch.ts): a Warning Event
// `AddressConflict` naming the foreign MAC on each Service showing the address, the metrics, a log
// line, and — for addresses held back (found while probing) — the list on this speaker's Lease
// (`ironlb.io/address-conflicts`), from which the controller quarantines them. Also publishes this
// node's interface MACs and hands every speaker's to the responder, so that our own speakers'
// claims (a takeover, a peer's late gratuitous ARP) never count as conflicts.
import type * as k8s from '@kubernetes/client-node';
import { type EventRecorder, targetOf } from '../../k8s/events';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import { macText } from '../../protocol/conflict-frames';
import type { Logger } from '../../util/log';
import { NODE_MACS_ANNOTATION } from '../membership/lease-membership';
import { ADDRESS_CONFLICTS_ANNOTATION, encodeConflicts } from './conflict-annotation';

/** Our Lease, as far as conflict detection needs it (LeaseMembership). */
export interface ConflictLease {
  setAnnotationNow(key: string, value: string | undefined): void;
  speakerMacs(): string[];
  /** One speaker's MACs (the announcement audit's owner). */
  nodeMacs(node: string): string[];
  onMacsChange(cb: () => void): void;
}

export class ConflictReporter {
  /** Held-back addresses → the MAC that claimed them. */
  private readonly held = new Map<string, string>();
  private ownMacs = '';

  constructor(
    private readonly opts: { nodeName: string; log: Logger; metrics: SpeakerMetrics; events: EventRecorder; lease?: ConflictLease },
    /** The Services that show an address now. */
    private readonly servicesOn: (address: string) => readonly k8s.KubernetesObject[],
  ) {}

  /** Publishes this node's interface MACs on its Lease (at once, when they changed). */
  publishOwnMacs(macs: readonly string[]): void {
    const value = [...new Set(macs.map((m) => m.toLowerCase()))].sort().join(',');
    if (value === this.ownMacs) return;
    this.ownMacs = value;
    this.opts.lease?.setAnnotationNow(NODE_MACS_ANNOTATION, value || undefined);
  }

  conflict(address: string, mac: string, phase: 'probing' | 'announcing'): void {
    const m = macText(mac);
    this.opts.metrics.addressConflicts.inc({ phase });
    this.opts.log.warn('addressConflict', { address, mac: m, phase, node: this.opts.nodeName });
    const message =
      phase === 'probing'
        ? `address ${address} is in use by another host (MAC ${m}): node "${this.opts.nodeName}" probed it before announcing and does not announce it`
        : `address ${address} is claimed by another host (MAC ${m}) while node "${this.opts.nodeName}" announces it: defended with a gratuitous announcement`;
    for (const svc of this.servicesOn(address)) this.opts.events.emit(targetOf(svc, 'Service'), 'Warning', 'AddressConflict', message);
    if (phase === 'probing') {
      this.held.set(address, mac);
      this.publishHeld();
    }
  }

  cleared(address: string): void {
    if (!this.held.delete(address)) return;
    this.opts.log.info('addressConflictCleared', { address, node: this.opts.nodeName });
    for (const svc of this.servicesOn(address)) {
      this.opts.events.emit(targetOf(svc, 'Service'), 'Normal', 'AddressConflictCleared', `address ${address} no longer answers from another host: node "${this.opts.nodeName}" announces it`);
    }
    this.publishHeld();
  }

  private publishHeld(): void {
    this.opts.metrics.addressesInConflict.set(this.held.size);
    this.opts.lease?.setAnnotationNow(ADDRESS_CONFLICTS_ANNOTATION, this.held.size > 0 ? encodeConflicts(this.held) : undefined);
  }
}
