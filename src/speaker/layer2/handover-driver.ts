// Applies handover.ts for the Layer2Speaker: which addresses this node hands over (from the
// elections), the timer that ends each handover, and what the operator sees (log lines, Events on
// the Services, ironlb_speaker_handovers_*). See docs/maintenance.md.
import { EventRecorder, targetOf } from '../../k8s/events';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import type { ServiceElection } from './desired';
import { DRAIN_LABEL } from './drain';
import { DEFAULT_TIMING } from './gratuitous-schedule';
import { HandoverKeeper, type HandoverPlan } from './handover';
import type { TrackerChange } from './ownership-tracker';
import type { OwnedAddress } from './responder';

/** The default heartbeat interval (heartbeat-membership.ts). */
const HEARTBEAT_INTERVAL_MS = 100;

/**
 * How long a leaving node keeps answering: the new owner reacts to the same Node event (both watch
 * it; on a loaded node one may see it later) and bursts at once; this covers a delay of up to two
 * burst intervals plus a heartbeat round between the two, and still ends before the new owner's
 * burst (burstDurationMs, 5 s) does, so a client that took our answer during the overlap hears at
 * least one more gratuitous frame of the new owner after we stop. 2 × 1.1 s + 0.1 s = 2.3 s.
 */
export const DEFAULT_HANDOVER_GRACE_MS = 2 * DEFAULT_TIMING.burstIntervalMs + HEARTBEAT_INTERVAL_MS;

export interface HandoverDriverOptions {
  nodeName: string;
  log: Logger;
  metrics: SpeakerMetrics;
  events: EventRecorder;
  graceMs?: number;
  /** A handover's deadline passed: plan again (call due()) and push the result. */
  onDue: () => void;
}

export class HandoverDriver {
  private readonly keeper = new HandoverKeeper();
  /** Per Service: its addresses, when it is ours to hand over, and the node elected instead. */
  private readonly handing = new Map<string, { election: ServiceElection; to: string }>();
  /** Services elected here only because every candidate is draining (warned once). */
  private readonly blocked = new Set<string>();
  private elected = new Map<string, OwnedAddress>();
  private timer?: NodeJS.Timeout;
  private readonly graceMs: number;

  constructor(private readonly opts: HandoverDriverOptions) {
    this.graceMs = opts.graceMs ?? DEFAULT_HANDOVER_GRACE_MS;
  }

  /** After an election pass: what the responder must answer for, handovers included. */
  apply(change: TrackerChange, elected: Map<string, OwnedAddress>, previous: ReadonlyMap<string, OwnedAddress>): Map<string, OwnedAddress> {
    for (const e of change.elected) {
      // Only what we answer for (loud or quiet) can be handed over: most Services elect some other
      // node while we are a candidate, and are not kept here.
      if (e.handoverTo && e.ips.some((ip) => previous.has(ip))) this.handing.set(e.service, { election: e, to: e.handoverTo });
      else this.handing.delete(e.service);
      this.noteBlocked(e);
    }
    for (const key of change.removed) {
      this.handing.delete(key);
      this.blocked.delete(key);
    }
    this.elected = elected;
    return this.plan(previous);
  }

  /** A deadline passed: the same elections, planned again. */
  due(previous: ReadonlyMap<string, OwnedAddress>): Map<string, OwnedAddress> {
    return this.plan(previous);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private plan(previous: ReadonlyMap<string, OwnedAddress>): Map<string, OwnedAddress> {
    const handingOver = new Map<string, string>();
    for (const { election, to } of this.handing.values()) for (const ip of election.ips) handingOver.set(ip, to);
    const now = Date.now();
    const p = this.keeper.plan({ elected: this.elected, handingOver, previous, now, graceMs: this.graceMs });
    this.report(p);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (p.nextAt !== undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.opts.onDue();
      }, Math.max(0, p.nextAt - now));
    }
    return p.owned;
  }

  private report(p: HandoverPlan): void {
    const { log, metrics, events, nodeName } = this.opts;
    for (const h of p.started) {
      const ip = h.address.address;
      log.info('handover started', { address: ip, to: h.to, graceMs: this.graceMs });
      for (const { election } of this.handing.values()) {
        if (!election.ips.includes(ip)) continue;
        const msg = `node "${nodeName}" hands ${ip} over to node "${h.to}" make-before-break: it answers for ${(this.graceMs / 1000).toFixed(1)} s more, without gratuitous frames`;
        events.emit(targetOf(election.object, 'Service'), 'Normal', 'handover', msg);
      }
    }
    for (const e of p.ended) {
      log.info('handover ended', { address: e.address, to: e.to, outcome: e.outcome, durationMs: e.durationMs });
      metrics.handovers.inc({ outcome: e.outcome });
    }
    metrics.handoversUnderway.set(this.keeper.underway.size);
  }

  /** Every candidate is draining and this one was elected anyway: say so once per Service. */
  private noteBlocked(e: ServiceElection): void {
    const mine = e.drainFallback === true && e.result.announcer === this.opts.nodeName;
    if (!mine) {
      this.blocked.delete(e.service);
      return;
    }
    if (this.blocked.has(e.service)) return;
    this.blocked.add(e.service);
    const msg = `node "${this.opts.nodeName}" is labelled ${DRAIN_LABEL}=true but no other node can announce ${e.ips.join(', ')}: announcing it anyway`;
    this.opts.log.warn('drainBlocked', { service: e.service, ips: e.ips });
    this.opts.events.emit(targetOf(e.object, 'Service'), 'Warning', 'drainBlocked', msg);
  }
}
