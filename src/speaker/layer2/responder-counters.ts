// The responder's counters: a zero set for a new worker, and the sum that keeps the published
// ones cumulative when a worker is replaced.
import { L2_DROP_REASONS, type L2DropReason } from '../../protocol/l2-responder';
import type { ProtocolCounters, ResponderCounters } from './responder-messages';

export function zeroCounters(): ResponderCounters {
  return {
    requests: { arp: 0, ndp: 0 },
    replies: { arp: 0, ndp: 0 },
    gratuitous: { arp: 0, ndp: 0 },
    drops: Object.fromEntries(L2_DROP_REASONS.map((r) => [r, 0])) as Record<L2DropReason, number>,
    sendFailures: 0,
    recvErrors: 0,
    socketDrops: 0,
    linkEvents: 0,
    probes: 0,
    withheld: 0,
  };
}

function addProtocol(a: ProtocolCounters, b: ProtocolCounters): ProtocolCounters {
  return { arp: a.arp + b.arp, ndp: a.ndp + b.ndp };
}

export function addCounters(a: ResponderCounters, b: ResponderCounters): ResponderCounters {
  const drops = zeroCounters().drops;
  for (const r of L2_DROP_REASONS) drops[r] = (a.drops[r] ?? 0) + (b.drops[r] ?? 0);
  return {
    requests: addProtocol(a.requests, b.requests),
    replies: addProtocol(a.replies, b.replies),
    gratuitous: addProtocol(a.gratuitous, b.gratuitous),
    drops,
    sendFailures: a.sendFailures + b.sendFailures,
    recvErrors: a.recvErrors + b.recvErrors,
    socketDrops: a.socketDrops + b.socketDrops,
    linkEvents: a.linkEvents + b.linkEvents,
    probes: (a.probes ?? 0) + (b.probes ?? 0),
    withheld: (a.withheld ?? 0) + (b.withheld ?? 0),
  };
}
