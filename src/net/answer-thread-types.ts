// Types of the addon's answer thread (native/src/answer_thread.c): the layer-2 responder's packet
// path on a native thread. Its JS side is src/speaker/layer2/native-responder-host.ts.
import type { L2DropReason } from '../protocol/l2-responder';

/** An opaque handle (an N-API external). */
export type AnswerHandle = { readonly __answer: unique symbol };

/** Bytes per frame slot in ansTake's buffer (longer frames are answered but not forwarded). */
export const ANSWER_SLOT = 1536;

export interface AnswerOptions {
  /** Frames queued for the main thread; beyond it the oldest is dropped. */
  capacity: number;
  /** Frames forwarded to the main thread per second, and in a burst (one bucket for all sources). */
  forwardRate: number;
  forwardBurst: number;
  /** Answers per second to one destination MAC, and in a burst (ReplyLimiter); rate 0: no limit. */
  replyRate: number;
  replyBurst: number;
}

/** A packet socket the thread polls (it keeps a dup() of `fd`). */
export interface AnswerSocket {
  fd: number;
  ifindex: number;
  /** The interface's MAC (6 bytes): the answers' source. */
  mac: Uint8Array;
  /** 0: ARP, 1: NDP. */
  kind: 0 | 1;
}

/** An address answered, on these ifindexes only (null: on every socket). */
export interface AnswerOwned {
  ip: Uint8Array;
  ifindexes: readonly number[] | null;
}

/** What happened since onEvent was last called. */
export interface AnswerEvents {
  frames: boolean;
  /** The route monitor is readable: drain it, then ansMonitorRearm. */
  monitor: boolean;
  /** The thread's loop ended (a fault, or stopped). */
  exited: boolean;
}

/** Cumulative counters of an answer thread. */
export interface AnswerStats {
  requests: { arp: number; ndp: number };
  replies: { arp: number; ndp: number };
  drops: Record<L2DropReason, number>;
  sendFailures: number;
  recvErrors: number;
  /** Frames passed to the main thread, and those that were not: over the bucket, too long, pushed out of the queue. */
  forwarded: number;
  /** Frames the guard and the audits cannot learn from (a client's request for an address answered here, a solicitation). */
  notForwarded: number;
  forwardLimited: number;
  forwardTooLong: number;
  queueFull: number;
  /** Answers not sent because the thread was fenced. */
  fenced: number;
  /** Answers not sent because the main thread had not extended the deadline of ansAnswerFor in time. */
  withheld: number;
  passes: number;
  ownedV4: number;
  ownedV6: number;
}
