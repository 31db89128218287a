// What the responder's main-thread handle (responder.ts) and its worker thread
// (responder-worker.ts → responder-engine.ts) say to each other: plain data, structured-cloned.
import type { L2DropReason } from '../../protocol/l2-responder';
import type { GainMode } from './conflict-watch';
import type { ResponderTiming } from './gratuitous-schedule';
import type { ReplyLimit } from './reply-limiter';

/** An interface the responder listens and announces on. */
export interface ResponderInterfaceConfig {
  name: string;
  ifindex: number;
  mac: string;
  /** Open the ARP socket (default true; needs a broadcast link). */
  arp?: boolean;
  /** Open the NDP socket (default true). */
  ndp?: boolean;
}

/** An address this node owns, optionally limited to some interfaces (L2Advertisement.interfaces). */
export interface OwnedAddress {
  address: string;
  /** Interface names; absent or empty: every interface the responder listens on. */
  interfaces?: string[];
  /** When newly gained: probe for a conflict before announcing ('probe'), announce and probe
   * ('audit', a takeover), or just announce ('none', the default). See conflict-watch.ts. */
  gain?: GainMode;
  /** Answer requests but send no gratuitous frame (a make-before-break handover, handover.ts);
   * turning it off starts a burst. */
  quiet?: boolean;
}

export interface ProtocolCounters {
  arp: number;
  ndp: number;
}

/** Cumulative since the responder started (across worker restarts, see Responder). */
export interface ResponderCounters {
  /** Frames that passed the socket filter and were examined. */
  requests: ProtocolCounters;
  /** Answers sent (ARP replies, solicited NAs). */
  replies: ProtocolCounters;
  /** Gratuitous frames sent (ARP request+reply count as 2; unsolicited NAs). */
  gratuitous: ProtocolCounters;
  drops: Record<L2DropReason, number>;
  /** Sends that failed (queue full, interface down, ...). */
  sendFailures: number;
  recvErrors: number;
  /** Frames the kernel dropped because our socket queue was full (PACKET_STATISTICS). */
  socketDrops: number;
  /** Link/address change notifications read from the route monitor (an overrun counts as one). */
  linkEvents: number;
  /** Conflict probes sent (ARP probes, DAD solicitations). */
  probes: number;
  /** Answers the answer thread withheld because the main loop had not extended its window in time (answer-window.ts). */
  withheld: number;
}

export interface ResponderInterfaceStatus {
  name: string;
  ifindex: number;
  arp: boolean;
  ndp: boolean;
  /** Solicited-node multicast MACs joined on this interface. */
  multicastGroups: number;
  error?: string;
}

export interface ResponderStats {
  /** Date.now() in the worker when taken. */
  at: number;
  counters: ResponderCounters;
  interfaces: ResponderInterfaceStatus[];
  ownedV4: number;
  ownedV6: number;
  /** Addresses inside a gratuitous burst window right now. */
  announcing: number;
  lastError?: string;
  /** The worker isolate's V8 heap size (committed bytes), when the thread can tell. */
  heapBytes?: number;
}

/** Test-only faults (Responder.injectFault): the worker throws, exits, or spins forever. */
export type ResponderFault = 'crash' | 'exit' | 'wedge';

export type ToWorker =
  | { type: 'configure'; id: number; interfaces: ResponderInterfaceConfig[]; timing: ResponderTiming; limit: ReplyLimit }
  | { type: 'setAddresses'; id: number; addresses: OwnedAddress[] }
  | { type: 'announce'; id: number; addresses?: string[] }
  /** Our speakers' interface MACs: claims from them are no address conflict. */
  | { type: 'knownMacs'; id: number; macs: string[] }
  | { type: 'getStats'; id: number }
  /** Announcement audit: send one conflict-free probe for `address` (on these interfaces, or all)
   * and collect the MACs that claim it until auditRead. */
  | { type: 'auditProbe'; id: number; address: string; interfaces?: string[] }
  | { type: 'auditRead'; id: number; address: string }
  | { type: 'stop'; id: number }
  | { type: 'fault'; id: number; fault: ResponderFault };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'ack'; id: number; error?: string; stats?: ResponderStats; macs?: string[] }
  | { type: 'stats'; stats: ResponderStats }
  | { type: 'interfaceError'; interface: string; message: string; code?: string }
  /** Interfaces or their addresses changed (route monitor): the owner should rescan them now. */
  | { type: 'linksChanged' }
  /** A host that is none of our speakers (its MAC, lower-case hex) uses `address`. */
  | { type: 'conflict'; address: string; mac: string; phase: 'probing' | 'announcing' }
  /** A probe round for an address in conflict went unanswered. */
  | { type: 'conflictCleared'; address: string };

/** Longest single poll in the worker: its loop beats at least this often, idle or not. */
export const MAX_POLL_WAIT_MS = 100;

/** Slots of WorkerInit.liveness (an Int32Array over a SharedArrayBuffer). */
export const Liveness = {
  /** Bumped by the worker on every pass of its poll loop: the main thread's proof of progress. */
  beats: 0,
  /** Set by the main thread when it gave the worker up: the worker must not send from then on. */
  fenced: 1,
  slots: 2,
} as const;

/** Capacity of WorkerInit.fdTable: every fd the worker holds open, -1 in free slots. */
export const FD_TABLE_SLOTS = 1024;

export interface WorkerInit {
  wakeFd: number;
  /** Int32Array slots named by Liveness. */
  liveness: SharedArrayBuffer;
  /** Int32Array of FD_TABLE_SLOTS: the fds to close should the worker die without closing them. */
  fdTable: SharedArrayBuffer;
  /** Accept 'fault' commands (tests only). */
  testFaults: boolean;
}
