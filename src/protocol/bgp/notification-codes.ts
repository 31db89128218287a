// NOTIFICATION error codes and subcodes (IANA "BGP Error (Notification) Codes" registry).

/** RFC 4271 §4.5, RFC 7313 §5 (ROUTE-REFRESH Message Error). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FiniteStateMachine: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
} as const;

/** RFC 4271 §6.1. */
export const MessageHeaderSubcode = {
  Unspecific: 0,
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §6.2; 5 (Authentication Failure) is deprecated; 7 is RFC 5492 §5. */
export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAS: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
} as const;

/** RFC 4271 §6.3; 7 (AS Routing Loop) is deprecated. */
export const UpdateSubcode = {
  Unspecific: 0,
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608 §4. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486 §4. */
export const CeaseSubcode = {
  Unspecific: 0,
  MaximumNumberOfPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
} as const;

/** RFC 7313 §5. */
export const RouteRefreshSubcode = {
  Unspecific: 0,
  InvalidMessageLength: 1,
} as const;

type CodeTable = Readonly<Record<string, number>>;

const SUBCODES: Readonly<Record<number, CodeTable>> = {
  [ErrorCode.MessageHeader]: MessageHeaderSubcode,
  [ErrorCode.OpenMessage]: OpenSubcode,
  [ErrorCode.UpdateMessage]: UpdateSubcode,
  [ErrorCode.FiniteStateMachine]: FsmSubcode,
  [ErrorCode.Cease]: CeaseSubcode,
  [ErrorCode.RouteRefreshMessage]: RouteRefreshSubcode,
};

const reverse = new WeakMap<CodeTable, Map<number, string>>();

/** Reverse lookup for logs: the key naming `value` in a code table, or the number itself. */
export function nameOf(table: CodeTable, value: number): string {
  let names = reverse.get(table);
  if (!names) {
    names = new Map(Object.entries(table).map(([name, v]) => [v, name]));
    reverse.set(table, names);
  }
  return names.get(value) ?? String(value);
}

/** "UpdateMessage/MalformedAsPath": a NOTIFICATION's code and subcode, named for logs. */
export function notificationName(code: number, subcode: number): string {
  const table = SUBCODES[code];
  return `${nameOf(ErrorCode, code)}/${table ? nameOf(table, subcode) : String(subcode)}`;
}
