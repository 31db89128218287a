// The options of HeartbeatMembership (heartbeat-membership.ts); the speaker's flags set them
// (src/cli/speaker-command.ts, docs/failover.md).
import type { KubeLike } from '../../k8s/kube';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import type { LeaseMembership } from './lease-membership';

export interface HeartbeatMembershipOptions {
  kc: KubeLike;
  namespace: string;
  nodeName: string;
  /** The Lease layer: publishes node addresses and fences the heartbeat view. */
  lease: LeaseMembership;
  port?: number; // default 7946
  intervalMs?: number; // default 100
  suspectIntervals?: number; // default 3
  deadIntervals?: number; // default 5: the longest a silent peer stays alive (the adaptive deadline's ceiling)
  /** Per-peer adaptive deadline (docs/failover.md). Default on. */
  adaptive?: boolean;
  minDeadIntervals?: number; // default 2: the shortest
  /** How long a stall of our main loop the heartbeats ride through (signed ahead, sent by the worker). Default 3 intervals; 0: sent by the main loop only. */
  sendAheadMs?: number;
  /** Secret re-read period, also the API reachability probe. Default 2000. */
  keyRefreshMs?: number;
  /** The API server counts as unreachable after this long without a successful read. Default 6000. */
  apiTimeoutMs?: number;
  metrics?: SpeakerMetrics;
  log: Logger;
}
