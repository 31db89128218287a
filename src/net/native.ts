// Loader and types for the ironlb_native N-API addon (native/src/ironlb_native.c).
// The .node file is built by `npm run build:native`; loading fails with a NativeNotBuiltError
// saying so when it is missing. Set IRONLB_NATIVE_PATH to load a file from elsewhere.
import * as fs from 'fs';
import * as path from 'path';
import type { AnswerEvents, AnswerHandle, AnswerOptions, AnswerOwned, AnswerSocket, AnswerStats } from './answer-thread-types';

/** sockaddr_ll.sll_pkttype values (linux/if_packet.h). */
export const PacketType = {
  Host: 0,
  Broadcast: 1,
  Multicast: 2,
  OtherHost: 3,
  Outgoing: 4,
} as const;

export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

/** One classic BPF instruction: [code, jt, jf, k]. */
export type BpfInstruction = readonly [number, number, number, number];

export interface IronlbNative {
  /** AF_PACKET/SOCK_RAW socket bound to `ifindex` and `ethertype`, non-blocking, filter attached before bind. */
  openPacketSocket(ifindex: number, ethertype: number, filter?: readonly BpfInstruction[] | null): number;
  /**
   * Reads one frame into `buffer`: returns its length (truncated to the buffer) or -1 when nothing
   * is queued. `meta`, when given, receives [pkttype, ifindex, protocol].
   */
  recv(fd: number, buffer: Uint8Array, meta?: Int32Array | null): number;
  /** Sends `buffer[0, length)`; -1 when the queue is full (EAGAIN/ENOBUFS). */
  send(fd: number, buffer: Uint8Array, length?: number): number;
  addMembership(fd: number, ifindex: number, mac: Uint8Array): void;
  dropMembership(fd: number, ifindex: number, mac: Uint8Array): void;
  /** Kernel counters since the previous call (reading resets them). */
  packetStats(fd: number): { packets: number; drops: number };
  /** Socket receive buffer (SO_RCVBUFFORCE when permitted, else SO_RCVBUF); returns the effective size. */
  setRecvBuffer(fd: number, bytes: number): number;
  close(fd: number): void;
  /** TCP_MD5SIG for `peerAddress` on a TCP socket; an empty key removes it. Key at most 80 bytes. */
  setTcpMd5(fd: number, peerAddress: string, key: string | Uint8Array): void;
  /** Blocks up to `timeoutMs` (fractions allowed, negative = forever); returns the readable fds. */
  pollReadable(fds: readonly number[], timeoutMs: number): number[];
  createEventFd(): number;
  signalEventFd(fd: number): void;
  /** Returns the counter (0 when it was not signalled). */
  drainEventFd(fd: number): number;
  /**
   * A non-blocking TCP socket to `peerAddress`:`port` with IP_TTL/IPV6_UNICAST_HOPS (`ttl` > 0),
   * an optional bind to `sourceAddress` and TCP_MD5SIG (`md5Key`) set before connect() starts.
   * Poll `tcpConnectResult` until 0, then wrap the fd with `new net.Socket({ fd })`.
   */
  tcpConnect(peerAddress: string, port: number, sourceAddress: string | null, ttl: number, md5Key?: string | Uint8Array | null): number;
  /** 0 once connected, 1 while connecting; throws the connect error (code ECONNREFUSED, ...). */
  tcpConnectResult(fd: number): number;
  /** A non-blocking NETLINK_ROUTE socket subscribed to link and IPv4/IPv6 address changes. */
  openRouteMonitor(): number;
  /** Reads every queued notification: returns how many (0: none), or -1 when some were lost (overrun). */
  drainRouteMonitor(fd: number): number;
  // Heartbeat UDP sockets (src/speaker/membership/heartbeat-transport.ts).
  /** A non-blocking UDP socket bound to the wildcard address and `port`, `filter` attached before bind. */
  openUdpSocket(family: 4 | 6, port: number, filter: readonly BpfInstruction[]): number;
  /** Replaces the classic BPF filter of a socket. */
  setSocketFilter(fd: number, filter: readonly BpfInstruction[]): void;
  /**
   * Receives up to 64 queued datagrams (recvmmsg, non-blocking): datagram i in
   * `buf[i*slotSize, ...)`, `meta[3i..3i+2]` = [length or -1 if truncated, family 4|6, source port],
   * `addrs[16i..]` = source address bytes. Returns the count (0: none queued).
   */
  recvUdpBatch(fd: number, buf: Uint8Array, slotSize: number, meta: Int32Array, addrs: Uint8Array): number;
  /** sendto(); -1 when the queue is full (EAGAIN/ENOBUFS); other errors throw. */
  sendUdp(fd: number, buf: Uint8Array, address: string, port: number): number;
  /** Datagrams the kernel dropped for this socket since it was opened (filter refused or queue full). */
  socketDrops(fd: number): number;
  // The heartbeat pump (native/src/heartbeat_pump.c; its JS side is src/speaker/membership/heartbeat-pump.ts).
  /** Starts the pump's thread; `onReadable` runs on this thread when datagrams are queued (again after a pumpTake emptied the queue). */
  pumpStart(onReadable: () => void, options: PumpOptions): PumpHandle;
  pumpSockets(pump: PumpHandle, fds: readonly number[]): void;
  /** The peers' addresses: datagrams from any other source are dropped. */
  pumpSources(pump: PumpHandle, addresses: readonly string[]): void;
  /** Replaces the send schedule (the rule is in heartbeat_pump.c). */
  pumpSchedule(pump: PumpHandle, peers: ReadonlyArray<{ fd: number; address: string; port: number; packets: readonly Uint8Array[]; offsetsMs: readonly number[] }>): void;
  /** Moves up to as many queued datagrams as fit: datagram i in `buf[i*PUMP_SLOT..]`, `meta[3i..3i+2]` = [length or -1, family, arrival ms], `addrs[16i..]` = source. */
  pumpTake(pump: PumpHandle, buf: Uint8Array, meta: Float64Array, addrs: Uint8Array): number;
  pumpStats(pump: PumpHandle): PumpStats;
  /** The sources rate-limited since the previous call. */
  pumpLimitedSources(pump: PumpHandle): string[];
  /** Tests only: the pump's clock when started with `manualClockMs`; returns the new state epoch (PumpStats). */
  pumpSetClock(pump: PumpHandle, ms: number): number;
  /** Stops and joins the thread (idempotent; the handle is unusable afterwards). */
  pumpStop(pump: PumpHandle): void;
  // The answer thread (native/src/answer_thread.c; its JS side is src/speaker/layer2/native-responder-host.ts).
  /** Starts the thread; `onEvent` runs on this thread when frames are queued, the route monitor is readable or the loop ended (again after ansEvents). */
  ansStart(onEvent: () => void, options: AnswerOptions): AnswerHandle;
  /** The packet sockets and the route monitor (-1: none) to poll; the thread keeps dup()s, so the caller may close its fds at any time. */
  ansSockets(h: AnswerHandle, sockets: readonly AnswerSocket[], monitorFd: number): void;
  /** Replaces the table of addresses answered, at once. */
  ansOwned(h: AnswerHandle, owned: readonly AnswerOwned[]): void;
  /** The per-destination answer limit; every bucket starts full again. */
  ansLimit(h: AnswerHandle, ratePerSecond: number, burst: number): void;
  /** What happened since onEvent was last called; the next frame or event calls it again. */
  ansEvents(h: AnswerHandle): AnswerEvents;
  /** Moves queued frames out: frame i in `buf[i*ANSWER_SLOT..]`, `meta[4i..4i+3]` = [length, ifindex, kind, arrival ms]. */
  ansTake(h: AnswerHandle, buf: Uint8Array, meta: Float64Array): number;
  /** The caller drained the route monitor: poll it again. */
  ansMonitorRearm(h: AnswerHandle): void;
  ansStats(h: AnswerHandle): AnswerStats;
  /** Loop passes so far (only changes matter): at least one every 100 ms while the loop runs. */
  ansBeats(h: AnswerHandle): number;
  /** The thread never sends again. */
  ansFence(h: AnswerHandle): void;
  /**
   * Answers go out until `ms` (0 < ms ≤ 60,000) from now and are withheld after that until the
   * next call (counted as `withheld`); before the first call there is no such deadline.
   */
  ansAnswerFor(h: AnswerHandle, ms: number): void;
  /** Tests only: the loop ends ('exit') or spins without beating until stopped ('wedge'). */
  ansFault(h: AnswerHandle, fault: 'exit' | 'wedge'): void;
  /** Stops and joins the thread (idempotent); false when it did not end within `timeoutMs` (it is then fenced, detached and left alone). */
  ansStop(h: AnswerHandle, timeoutMs: number): boolean;
  /** v8::Isolate::LowMemoryNotification() on the calling thread's isolate (native/src/v8_memory.cc). */
  lowMemoryNotification(): void;
  /**
   * Drops this process's mapping of the node executable's read-only, unmodified pages
   * (native/src/file_pages.c): VmRSS falls by what startup touched once; pages still in use come
   * back from the page cache on their next touch. Throws when /proc/self/smaps cannot be read.
   */
  releaseExecutablePages(): ReleasedPages;
  /** Tests only: the ranges file_pages_plan allows to drop in `smapsText`, for the file (major, minor, inode). */
  filePagesPlanTest(smapsText: string, major: number, minor: number, inode: number): Array<{ start: bigint; end: bigint; rssKiB: number }>;
  // The layer-2 answer path in C (native/src/l2_answer.c), bound for tests only: the C port of
  // answerArp/answerNdp/OwnedAddresses/ReplyLimiter that a native responder thread calls directly.
  /** Tests only: an owned-address table (l2_owned_set per entry; `ifindexes` null = any interface). */
  l2OwnedTest(entries: readonly L2OwnedEntry[]): L2OwnedHandle;
  /** Tests only: the addresses of one family in the table. */
  l2OwnedSizeTest(owned: L2OwnedHandle, family: 4 | 6): number;
  /**
   * Tests only: l2_answer_arp / l2_answer_ndp on `frame[0, length)` (`length` clamped to the frame,
   * as answerArp/answerNdp clamp it) received on (ifindex, mac): the answer's length (> 0, the
   * answer in `out`, at least 256 bytes), or minus the reason's position in L2_DROP_REASONS + 1.
   * `owned`: a table handle, or entries for a table built for this call.
   */
  l2AnswerTest(kind: 'arp' | 'ndp', frame: Uint8Array, length: number, ifindex: number, mac: Uint8Array, owned: L2OwnedHandle | readonly L2OwnedEntry[], out: Uint8Array): number;
  /** Tests only: a ReplyLimiter in C (`slots` 0..2^24, rounded up to a power of two). */
  l2LimiterTest(ratePerSecond: number, burst: number, slots: number): L2LimiterHandle;
  /** Tests only: ReplyLimiter.allow for the 6-byte `mac` at `nowMs`. */
  l2LimiterAllowTest(limiter: L2LimiterHandle, mac: Uint8Array, nowMs: number): boolean;
  /** Tests only: ReplyLimiter.setLimit (every bucket starts full again). */
  l2LimiterSetTest(limiter: L2LimiterHandle, ratePerSecond: number, burst: number): void;
}

/** One address of an l2OwnedTest table: 4 or 16 bytes, and the ifindexes it is answered on (null: any). */
export interface L2OwnedEntry {
  ip: Uint8Array;
  ifindexes: readonly number[] | null;
}

/** Opaque handles (N-API externals, type-tagged). */
export type L2OwnedHandle = { readonly __l2Owned: unique symbol };
export type L2LimiterHandle = { readonly __l2Limiter: unique symbol };

/** Bytes per datagram slot in pumpTake's buffer (longer datagrams come with length -1). */
export const PUMP_SLOT = 1024;

/** An opaque handle (an N-API external). */
export type PumpHandle = { readonly __pump: unique symbol };

export interface PumpOptions {
  /** Datagrams passed on per source address and second (token bucket), and in a burst. */
  ratePerSecond: number;
  burst: number;
  /** Two scheduled packets to one address are never sent closer than this. */
  minGapMs: number;
  /** Datagrams queued for the main thread; beyond it the oldest is dropped. */
  capacity: number;
  /** Tests: a clock that only moves by pumpSetClock (else CLOCK_MONOTONIC, process.hrtime's). */
  manualClockMs?: number;
}

/** Cumulative counters of a pump. */
export interface PumpStats {
  received: number;
  queued: number;
  unknownSource: number;
  rateLimited: number;
  overflow: number;
  truncated: number;
  sent: number;
  sendFailed: number;
  pollErrors: number;
  /** Passes of the thread's loop (each begins with the due sends). */
  passes: number;
  /** Tests: bumped by every call that changes the pump's state; the epoch the last pass began with. */
  epoch: number;
  seenEpoch: number;
  lastUnknownFrom?: string;
  lastLimitedFrom?: string;
}

/** Errors thrown by the addon carry the errno name as `code`. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isNativeError(e: unknown): e is NativeError {
  // No instanceof: errors made by the addon belong to the main realm (jest runs tests in another).
  return typeof e === 'object' && e !== null && typeof (e as Partial<NativeError>).errno === 'number' && typeof (e as Partial<NativeError>).code === 'string';
}

export class NativeNotBuiltError extends Error {
  constructor(
    readonly searched: string[],
    override readonly cause?: unknown,
  ) {
    super(
      `ironlb native addon not found or not loadable (run npm run build:native). Looked in: ${searched.join(', ')}` +
        (cause instanceof Error ? `: ${cause.message}` : ''),
    );
    this.name = 'NativeNotBuiltError';
  }
}

const RELATIVE = path.join('native', 'build', 'Release', 'ironlb_native.node');

/** Candidate paths: $IRONLB_NATIVE_PATH, then native/build/Release in each ancestor of this file. */
export function nativeCandidates(from = __dirname): string[] {
  const out: string[] = [];
  if (process.env.IRONLB_NATIVE_PATH) out.push(process.env.IRONLB_NATIVE_PATH);
  let dir = from;
  for (let i = 0; i < 6; i++) {
    out.push(path.join(dir, RELATIVE));
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

/** What releaseExecutablePages dropped: ranges, their resident KiB before, ranges madvise refused. */
export interface ReleasedPages {
  mappings: number;
  rssKiB: number;
  failed: number;
}

let cached: IronlbNative | undefined;

export function loadNative(): IronlbNative {
  if (cached) return cached;
  const candidates = nativeCandidates();
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new NativeNotBuiltError(candidates);
  try {
    const mod = { exports: {} as IronlbNative };
    process.dlopen(mod, found);
    cached = mod.exports;
    return cached;
  } catch (e) {
    throw new NativeNotBuiltError([found], e);
  }
}

/** The addon, or undefined when it is not built (for tests that skip). */
export function tryLoadNative(): IronlbNative | undefined {
  try {
    return loadNative();
  } catch {
    return undefined;
  }
}
