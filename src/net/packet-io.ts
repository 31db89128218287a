// The system calls the layer-2 responder makes, as a narrow interface: the N-API addon
// (src/net/native.ts, where each call is documented) implements it for real, and
// test/support/fake-packet-io.ts in memory, so the responder's logic runs in unit tests without
// root, sockets or a worker thread.
import { loadNative, type IronlbNative } from './native';

export type PacketIo = Pick<
  IronlbNative,
  | 'openPacketSocket'
  | 'setSocketFilter'
  | 'setRecvBuffer'
  | 'recv'
  | 'send'
  | 'addMembership'
  | 'dropMembership'
  | 'packetStats'
  | 'close'
  | 'pollReadable'
  | 'drainEventFd'
  | 'openRouteMonitor'
  | 'drainRouteMonitor'
>;

/** The real thing: the addon. */
export function nativePacketIo(): PacketIo {
  return loadNative();
}
