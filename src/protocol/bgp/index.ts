// Public surface of the BGP-4 codec. Pure: no sockets, no timers.
export { Afi, Safi, afiOfFamily, familyOfAfi } from './address-family';
export { AS_TRANS, twoOctetAS } from './as-number';
export { AsPathSegmentType, type AsPathSegment } from './as-path';
export { AttrFlag, AttrType } from './attribute-codec';
export { attributeWireLength } from './attributes';
export { typeCodeOf } from './attribute-table';
export {
  Origin,
  type AggregatorAttribute,
  type As4AggregatorAttribute,
  type As4PathAttribute,
  type AsPathAttribute,
  type AtomicAggregateAttribute,
  type CommunitiesAttribute,
  type KnownAttribute,
  type LargeCommunitiesAttribute,
  type LargeCommunity,
  type LocalPrefAttribute,
  type MpNextHop,
  type MpReachNlriAttribute,
  type MpUnreachNlriAttribute,
  type MultiExitDiscAttribute,
  type NextHopAttribute,
  type OriginAttribute,
  type PathAttribute,
  type RawAttribute,
} from './attribute-types';
export { buildUpdates, type UpdateBatch } from './batch';
export {
  CapabilityCode,
  GracefulRestartFamilyFlag,
  GracefulRestartFlag,
  type Capability,
  type EnhancedRouteRefreshCapability,
  type FourOctetASCapability,
  type GracefulRestartCapability,
  type GracefulRestartFamily,
  type MultiProtocolCapability,
  type RouteRefreshCapability,
  type UnknownCapability,
} from './capabilities';
export type { CodecContext, DecodeContext } from './context';
export { BgpDecodeError, type ErrorHandling } from './errors';
export { BgpFramer } from './framer';
export { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './header';
export { decode, encode, type BgpMessage, type KeepaliveMessage } from './message';
export {
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  MessageHeaderSubcode,
  OpenSubcode,
  RouteRefreshSubcode,
  UpdateSubcode,
  nameOf,
  notificationName,
} from './notification-codes';
export { notificationFor, type NotificationMessage } from './notification';
export { BGP_VERSION, openMessage, senderAS, type OpenMessage, type OpenOptions } from './open';
export { formatPrefix, parsePrefix, prefixFromCidr, prefixWireLength, type Prefix } from './prefix';
export { RouteRefreshSubtype, type RouteRefreshMessage } from './route-refresh';
export { attributesForPeer, endOfRib, type UpdateMessage } from './update';
export { checkUpdate } from './update-check';
