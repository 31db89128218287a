// What the layer-2 speaker says about each Service's announcer: the `announced` metric while this
// node announces it, the serviceAnnounced / serviceWithdrawn logs and the nodeAssigned Event when
// the announcer changes (only the new announcer speaks, so a resync makes no event storm), and
// announceFailed when this node is elected but cannot announce (announce-failures.ts decides when).
import { targetOf, type EventRecorder } from '../../k8s/events';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import type { ElectionResult } from '../election/election';
import { AnnounceFailures, announceFailedReason, stuckAddresses } from './announce-failures';
import type { ResponderInterfaceConfig } from './responder-messages';

/** How long an elected node must be unable to announce before it says announceFailed. */
const ANNOUNCE_FAILED_GRACE_MS = 3000;

type ServiceObject = Parameters<typeof targetOf>[0];

export interface AnnouncementReportOptions {
  nodeName: string;
  log: Logger;
  metrics: SpeakerMetrics;
  events: EventRecorder;
}

export class AnnouncementReport {
  private readonly lastAnnouncer = new Map<string, string | undefined>();
  private readonly announcedLabels = new Map<string, Record<string, string>>();
  /** Services elected here that no usable interface can announce. */
  private readonly failures = new AnnounceFailures(ANNOUNCE_FAILED_GRACE_MS);
  private recheck?: NodeJS.Timeout;

  constructor(
    private readonly opts: AnnouncementReportOptions,
    /** A failure's grace period ran out: run the elections again (that reports it). */
    private readonly recheckDue: () => void,
  ) {}

  /** Service `key` was (re-)elected; `usable`: the interfaces the responder answers on now. */
  elected(svc: ServiceObject, key: string, ips: string[], result: ElectionResult, poolInterfaces: readonly string[], usable: readonly ResponderInterfaceConfig[]): void {
    const mine = result.announcer === this.opts.nodeName;
    this.noteAnnouncer(svc, key, ips, result, mine);
    this.noteUnannounceable(svc, key, mine ? ips : [], poolInterfaces, usable);
  }

  /** Service `key` has no election any more. */
  removed(key: string): void {
    this.lastAnnouncer.delete(key);
    this.failures.forget(key);
    this.clearAnnouncedMetric(key);
  }

  stop(): void {
    if (this.recheck) clearTimeout(this.recheck);
  }

  private noteAnnouncer(svc: ServiceObject, key: string, ips: string[], result: ElectionResult, mine: boolean): void {
    const prev = this.lastAnnouncer.get(key);
    const now = result.announcer;
    this.lastAnnouncer.set(key, now);
    if (mine) {
      const labels = { service: key, protocol: 'layer2', node: this.opts.nodeName, ip: ips.join(',') };
      this.clearAnnouncedMetric(key);
      this.opts.metrics.announced.set(labels, 1);
      this.announcedLabels.set(key, labels);
      // Only the new announcer speaks, and only when the announcer changed: no event storms on resync.
      if (prev !== now) {
        this.opts.log.info('serviceAnnounced', { service: key, ips, node: this.opts.nodeName });
        this.opts.events.emit(targetOf(svc, 'Service'), 'Normal', 'nodeAssigned', `announcing from node "${this.opts.nodeName}" with protocol "layer2"`);
      }
    } else {
      if (this.announcedLabels.has(key)) {
        this.opts.log.info('serviceWithdrawn', { service: key, ips, reason: 'reason' in result ? result.reason : 'notOwner', newOwner: now ?? null });
      }
      this.clearAnnouncedMetric(key);
    }
  }

  /**
   * Elected, but no usable interface can carry the address (the pool's interfaces are missing or
   * down here, or no NIC has carrier): say so once per change, as MetalLB's announceFailed does,
   * once it lasted the grace period.
   */
  private noteUnannounceable(svc: ServiceObject, key: string, ips: string[], poolInterfaces: readonly string[], usable: readonly ResponderInterfaceConfig[]): void {
    const stuck = stuckAddresses(ips, poolInterfaces, usable);
    if (stuck.length === 0) {
      if (this.failures.resolved(key) && ips.length > 0) this.opts.log.info('announcing again: a usable interface is back', { service: key });
      return;
    }
    const reason = announceFailedReason(this.opts.nodeName, stuck, poolInterfaces, usable);
    const action = this.failures.failing(key, reason, Date.now());
    if (action.act === 'wait') {
      this.recheck ??= setTimeout(() => {
        this.recheck = undefined;
        this.recheckDue();
      }, action.ms);
    } else if (action.act === 'report') {
      this.opts.log.warn('announceFailed', { service: key, ips: stuck, poolInterfaces, usable: usable.map((i) => i.name) });
      this.opts.events.emit(targetOf(svc, 'Service'), 'Warning', 'announceFailed', reason);
    }
  }

  private clearAnnouncedMetric(key: string): void {
    const labels = this.announcedLabels.get(key);
    if (labels) this.opts.metrics.announced.remove(labels);
    this.announcedLabels.delete(key);
  }
}
