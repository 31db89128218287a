// The responder worker's cumulative counters, advanced into the speaker's Prometheus metrics.
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { ResponderStats } from './responder';

export function publishResponderStats(m: SpeakerMetrics, s: ResponderStats): void {
  for (const proto of ['arp', 'ndp'] as const) {
    m.advance(m.requests, { protocol: proto }, s.counters.requests[proto]);
    m.advance(m.responses, { protocol: proto }, s.counters.replies[proto]);
    m.advance(m.gratuitous, { protocol: proto }, s.counters.gratuitous[proto]);
  }
  for (const [reason, n] of Object.entries(s.counters.drops)) m.advance(m.drops, { reason }, n);
  m.advance(m.sendFailures, {}, s.counters.sendFailures);
  m.advance(m.socketDrops, {}, s.counters.socketDrops);
  m.advance(m.withheld, {}, s.counters.withheld ?? 0);
  if (s.heapBytes !== undefined) m.workerHeap.set({ thread: 'responder' }, s.heapBytes);
}
