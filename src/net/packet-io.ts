// The system calls the layer-2 responder makes, as a narrow interface: the N-API addon
// (src/net/native.ts) implements it for real, and test/support/fake-packet-io.ts in memory, so
// the responder's logic runs in unit tests without root, sockets or a worker thread.
import type { BpfInstruction } from './native';
import { loadNative } from './native';

export interface PacketIo {
  /** AF_PACKET socket on `ifindex` for `ethertype`, the filter attached before bind. */
  openPacketSocket(ifindex: number, ethertype: number, filter?: readonly BpfInstruction[] | null): number;
  setRecvBuffer(fd: number, bytes: number): number;
  /** One frame into `buffer` (its length) or -1 when none is queued; `meta` gets [pkttype, ifindex, protocol]. */
  recv(fd: number, buffer: Uint8Array, meta?: Int32Array | null): number;
  /** Sends `buffer[0, length)`: the bytes sent, -1 when the queue is full. */
  send(fd: number, buffer: Uint8Array, length?: number): number;
  addMembership(fd: number, ifindex: number, mac: Uint8Array): void;
  dropMembership(fd: number, ifindex: number, mac: Uint8Array): void;
  /** Kernel counters since the previous call. */
  packetStats(fd: number): { packets: number; drops: number };
  close(fd: number): void;
  /** Blocks up to `timeoutMs`; returns the readable fds. */
  pollReadable(fds: readonly number[], timeoutMs: number): number[];
  drainEventFd(fd: number): number;
  /** Link/address change notifications (NETLINK_ROUTE). */
  openRouteMonitor(): number;
  /** Notifications read: 0 none, -1 some were lost. */
  drainRouteMonitor(fd: number): number;
}

/** The real thing: the addon (it has more calls than these; the responder uses only these). */
export function nativePacketIo(): PacketIo {
  return loadNative();
}
