// Capabilities carried in OPEN optional parameter 2 (RFC 5492 §4). Unknown codes are kept
// byte-for-byte so nothing a peer advertised is lost.
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

/** IANA "Capability Codes". */
export const CapabilityCode = {
  MultiProtocol: 1, // RFC 4760 §8
  RouteRefresh: 2, // RFC 2918 §2
  GracefulRestart: 64, // RFC 4724 §3
  FourOctetAS: 65, // RFC 6793 §3
  EnhancedRouteRefresh: 70, // RFC 7313 §3.1
} as const;

/** Restart Flags, the top 4 bits of the 16-bit restart field (RFC 4724 §3, N bit RFC 8538 §2). */
export const GracefulRestartFlag = { Restarting: 0x8, Notification: 0x4 } as const;
/** Per-family flags (RFC 4724 §3). */
export const GracefulRestartFamilyFlag = { ForwardingPreserved: 0x80 } as const;

export interface MultiProtocolCapability {
  readonly kind: 'multiprotocol';
  readonly afi: number;
  readonly safi: number;
}
export interface RouteRefreshCapability {
  readonly kind: 'route-refresh';
}
export interface EnhancedRouteRefreshCapability {
  readonly kind: 'enhanced-route-refresh';
}
export interface FourOctetASCapability {
  readonly kind: 'four-octet-as';
  readonly asn: number;
}
export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  readonly flags: number;
}
export interface GracefulRestartCapability {
  readonly kind: 'graceful-restart';
  /** 4 bits. */
  readonly restartFlags: number;
  /** Seconds, 12 bits. */
  readonly restartTime: number;
  readonly families: readonly GracefulRestartFamily[];
}
export interface UnknownCapability {
  readonly kind: 'unknown';
  readonly code: number;
  readonly data: Buffer;
}

interface KnownCapabilities {
  'multiprotocol': MultiProtocolCapability;
  'route-refresh': RouteRefreshCapability;
  'enhanced-route-refresh': EnhancedRouteRefreshCapability;
  'four-octet-as': FourOctetASCapability;
  'graceful-restart': GracefulRestartCapability;
}
type KnownKind = keyof KnownCapabilities;

export type Capability = KnownCapabilities[KnownKind] | UnknownCapability;

/** Value codecs; `decode` reads the whole value and any leftover byte means the capability is malformed. */
interface CapabilityCodec<C> {
  readonly code: number;
  decode(r: BufferReader): C;
  encode(w: BufferWriter, c: C): void;
}

const CODECS: { readonly [K in KnownKind]: CapabilityCodec<KnownCapabilities[K]> } = {
  'multiprotocol': {
    code: CapabilityCode.MultiProtocol,
    // AFI(2) Reserved(1) SAFI(1) (RFC 4760 §8).
    decode: (r) => {
      const afi = r.u16();
      r.u8();
      return { kind: 'multiprotocol', afi, safi: r.u8() };
    },
    encode: (w, c) => {
      w.u16(c.afi).u8(0).u8(c.safi);
    },
  },
  'route-refresh': {
    code: CapabilityCode.RouteRefresh,
    decode: () => ({ kind: 'route-refresh' }),
    encode: () => undefined,
  },
  'enhanced-route-refresh': {
    code: CapabilityCode.EnhancedRouteRefresh,
    decode: () => ({ kind: 'enhanced-route-refresh' }),
    encode: () => undefined,
  },
  'four-octet-as': {
    code: CapabilityCode.FourOctetAS,
    decode: (r) => ({ kind: 'four-octet-as', asn: r.u32() }),
    encode: (w, c) => {
      w.u32(c.asn);
    },
  },
  'graceful-restart': {
    code: CapabilityCode.GracefulRestart,
    decode: (r) => {
      const restart = r.u16();
      const families: GracefulRestartFamily[] = [];
      while (r.remaining > 0) families.push({ afi: r.u16(), safi: r.u8(), flags: r.u8() });
      return { kind: 'graceful-restart', restartFlags: restart >> 12, restartTime: restart & 0xfff, families };
    },
    encode: (w, c) => {
      if (c.restartFlags > 0xf || c.restartTime > 0xfff) throw new RangeError('graceful restart flags/time out of range');
      w.u16((c.restartFlags << 12) | c.restartTime);
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.flags);
    },
  },
};

const KIND_BY_CODE = new Map<number, KnownKind>(
  (Object.keys(CODECS) as KnownKind[]).map((kind) => [CODECS[kind].code, kind]),
);

function codecFor<K extends KnownKind>(kind: K): CapabilityCodec<KnownCapabilities[K]> {
  return CODECS[kind];
}

/**
 * One capability from its code and value. Throws TruncatedError, or returns undefined when
 * bytes are left over: either way a known capability is malformed.
 */
export function decodeCapability(code: number, value: BufferReader): Capability | undefined {
  const kind = KIND_BY_CODE.get(code);
  if (kind === undefined) return { kind: 'unknown', code, data: value.rest() };
  const cap = codecFor(kind).decode(value);
  return value.remaining === 0 ? cap : undefined;
}

/** Writes one capability TLV: code, length, value (RFC 5492 §4). */
export function encodeCapability(w: BufferWriter, c: Capability): void {
  if (c.kind === 'unknown') {
    w.u8(c.code).lengthPrefixed(1, () => w.bytes(c.data));
    return;
  }
  encodeKnown(w, c);
}

function encodeKnown<K extends KnownKind>(w: BufferWriter, c: KnownCapabilities[K]): void {
  const codec: CapabilityCodec<KnownCapabilities[K]> = codecFor<K>(c.kind as K);
  w.u8(codec.code).lengthPrefixed(1, () => codec.encode(w, c));
}
