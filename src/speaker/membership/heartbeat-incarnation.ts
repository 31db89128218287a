// Who we are on the wire: our heartbeat incarnation and the outbox that numbers what we sign in
// it (a new incarnation starts every peer's sequence over). The incarnation is kept in our own
// Lease (heartbeat-store.ts): one above the stored value at start-up, and past any value a peer
// echoes that this life has not used (the record was lost: a graceful stop deletes the Lease).
import type { RestClient } from '../../k8s/rest';
import type { Logger } from '../../util/log';
import type { Heartbeat } from './heartbeat-codec';
import { HeartbeatOutbox } from './heartbeat-outbox';
import { INCARNATION_ANNOTATION, readStoredIncarnation, staleIncarnation, untilApiAnswers } from './heartbeat-store';
import type { LeaseMembership } from './lease-membership';

export interface IncarnationOptions {
  core: RestClient;
  namespace: string;
  /** Our Lease: the incarnation is stored in its annotation, written with the next renewal. */
  lease: Pick<LeaseMembership, 'leaseName' | 'setAnnotation'>;
  log: Logger;
}

export class HeartbeatIncarnation {
  private incarnation = 0;
  /** Signs our heartbeats (sequences per addressee, in this incarnation). */
  readonly outbox = new HeartbeatOutbox();

  constructor(private readonly opts: IncarnationOptions) {}

  get current(): number {
    return this.incarnation;
  }

  /** Start-up: one above the stored incarnation, stored before the first heartbeat leaves (lease.start() writes our Lease). */
  async begin(): Promise<void> {
    const { core, namespace, lease, log } = this.opts;
    this.incarnation = (await untilApiAnswers(log, 'reading our stored incarnation', () => readStoredIncarnation(core, namespace, lease.leaseName))) + 1;
    this.outbox.reset();
    lease.setAnnotation(INCARNATION_ANNOTATION, String(this.incarnation));
  }

  /** A peer's heartbeat echoes what we sent it: an echo this life did not send means the incarnation was used before. */
  checkEcho(hb: Heartbeat): void {
    if (!staleIncarnation(this.incarnation, this.outbox.lastSequence(hb.node), hb.echoIncarnation, hb.echoSequence)) return;
    const used = Math.max(this.incarnation, hb.echoIncarnation);
    this.opts.log.warn('our heartbeat incarnation was used before (its record in our Lease was lost): moving past it', { incarnation: this.incarnation, usedUpTo: used, peer: hb.node });
    this.incarnation = used + 1;
    this.outbox.reset();
    this.opts.lease.setAnnotation(INCARNATION_ANNOTATION, String(this.incarnation));
  }
}
