// Counting and logging dropped heartbeats: `ironlb_speaker_heartbeat_dropped_total{reason}` and a
// warning at most once per reason and second (a flood must not flood the log too).
//   kernel    refused by the socket filter (not heartbeat-shaped, or from an address that is no
//             peer's) or found the receive queue full; never seen by the speaker
//   the receiver's reasons (heartbeat-admission.ts), and `replayed` from the main-thread view
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import { ADMISSION_DROPS, type AdmissionDrop } from './heartbeat-admission';
import type { ReceiverCounters } from './heartbeat-transport';

export type HeartbeatDrop = AdmissionDrop | 'kernel';
export const HEARTBEAT_DROPS: readonly HeartbeatDrop[] = ['kernel', ...ADMISSION_DROPS];

export class DropCounters {
  private readonly counts = Object.fromEntries(HEARTBEAT_DROPS.map((r) => [r, 0])) as Record<HeartbeatDrop, number>;
  /** Last cumulative values reported by the transport (its pump and its checks) and by the kernel. */
  private receiverSeen: Partial<Record<AdmissionDrop, number>> = {};
  private kernelSeen?: number;
  private readonly lastLog = new Map<HeartbeatDrop, number>();

  constructor(
    private readonly log: Logger,
    private readonly metrics?: SpeakerMetrics,
  ) {}

  totals(): Record<HeartbeatDrop, number> {
    return { ...this.counts };
  }

  count(reason: HeartbeatDrop, from?: string, n = 1): void {
    if (n <= 0) return;
    this.counts[reason] += n;
    this.metrics?.heartbeatDropped.inc({ reason }, n);
    const t = performance.now();
    if (t - (this.lastLog.get(reason) ?? -Infinity) > 1000) {
      this.lastLog.set(reason, t);
      this.log.warn('dropped heartbeat', { reason, from, dropped: this.totals() });
    }
  }

  /** Cumulative counters from the transport (a counter that went back starts from zero again). */
  fromReceiver(c: ReceiverCounters): void {
    for (const reason of ADMISSION_DROPS) {
      const seen = this.receiverSeen[reason] ?? 0;
      const v = c.dropped[reason];
      this.count(reason, c.lastFrom[reason], v >= seen ? v - seen : v);
      this.receiverSeen[reason] = v;
    }
  }

  /** The sockets' cumulative kernel drop count (SO_MEMINFO). */
  kernel(cumulative: number): void {
    const seen = this.kernelSeen ?? 0;
    this.kernelSeen = cumulative;
    this.count('kernel', undefined, cumulative >= seen ? cumulative - seen : cumulative);
  }
}
