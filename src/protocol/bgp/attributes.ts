// Path attributes (RFC 4271 §4.3, §5): one codec per attribute keyed by type code, a raw
// fallback for the rest, and the attribute-list walk with RFC 4271 §6.3 / RFC 7606 checks.
import { type AsPathSegment, type AsWidth, decodeAsPath, encodeAsPath, isConfederationSegment } from './as-path';
import { twoOctetAS } from './as-number';
import {
  type AttributeCodec,
  type AttributeEnv,
  AttrFlag,
  AttrType,
  OPTIONAL_NON_TRANSITIVE,
  OPTIONAL_TRANSITIVE,
  type RawAttribute,
  WELL_KNOWN,
} from './attribute-codec';
import type { CodecContext } from './context';
import { BgpDecodeError, type ErrorHandling, readingAs, updateError } from './errors';
import { type MpReachNlriAttribute, mpReachNlriCodec, type MpUnreachNlriAttribute, mpUnreachNlriCodec } from './mp-nlri';
import { UpdateSubcode } from './notification-codes';
import { addressBytes, addressFromBytes } from './prefix';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export type { RawAttribute } from './attribute-codec';
export type { MpNextHop, MpReachNlriAttribute, MpUnreachNlriAttribute } from './mp-nlri';

/** RFC 4271 §4.3 ORIGIN values. */
export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;

export interface OriginAttribute {
  readonly kind: 'origin';
  readonly value: number;
}
export interface AsPathAttribute {
  readonly kind: 'as-path';
  readonly segments: readonly AsPathSegment[];
}
export interface NextHopAttribute {
  readonly kind: 'next-hop';
  readonly addr: bigint;
}
export interface MultiExitDiscAttribute {
  readonly kind: 'multi-exit-disc';
  readonly value: number;
}
export interface LocalPrefAttribute {
  readonly kind: 'local-pref';
  readonly value: number;
}
export interface AtomicAggregateAttribute {
  readonly kind: 'atomic-aggregate';
}
/** Optional transitive attributes may arrive with the Partial bit set (RFC 4271 §5). */
interface MaybePartial {
  readonly partial?: boolean;
}
export interface AggregatorAttribute extends MaybePartial {
  readonly kind: 'aggregator';
  readonly asn: number;
  readonly addr: bigint;
}
export interface CommunitiesAttribute extends MaybePartial {
  readonly kind: 'communities';
  /** (AS << 16) | value, RFC 1997. */
  readonly values: readonly number[];
}
export interface As4PathAttribute extends MaybePartial {
  readonly kind: 'as4-path';
  readonly segments: readonly AsPathSegment[];
}
export interface As4AggregatorAttribute extends MaybePartial {
  readonly kind: 'as4-aggregator';
  readonly asn: number;
  readonly addr: bigint;
}
export interface LargeCommunity {
  readonly global: number;
  readonly local1: number;
  readonly local2: number;
}
export interface LargeCommunitiesAttribute extends MaybePartial {
  readonly kind: 'large-communities';
  readonly values: readonly LargeCommunity[];
}

interface KnownAttributes {
  'origin': OriginAttribute;
  'as-path': AsPathAttribute;
  'next-hop': NextHopAttribute;
  'multi-exit-disc': MultiExitDiscAttribute;
  'local-pref': LocalPrefAttribute;
  'atomic-aggregate': AtomicAggregateAttribute;
  'aggregator': AggregatorAttribute;
  'communities': CommunitiesAttribute;
  'mp-reach-nlri': MpReachNlriAttribute;
  'mp-unreach-nlri': MpUnreachNlriAttribute;
  'as4-path': As4PathAttribute;
  'as4-aggregator': As4AggregatorAttribute;
  'large-communities': LargeCommunitiesAttribute;
}
type KnownKind = keyof KnownAttributes;
export type KnownAttribute = KnownAttributes[KnownKind];
export type PathAttribute = KnownAttribute | RawAttribute;

const fixed = (n: number) => (): number => n;
const asWidth = (ctx: CodecContext): AsWidth => (ctx.fourOctetAS ? 4 : 2);

function u32Codec<K extends 'multi-exit-disc' | 'local-pref'>(
  kind: K,
  typeCode: number,
  flags: number,
): AttributeCodec<{ readonly kind: K; readonly value: number }> {
  return {
    typeCode,
    flags,
    handling: 'treat-as-withdraw', // RFC 7606 §7.4, §7.5
    length: fixed(4),
    decode: (r) => ({ kind, value: r.u32() }),
    encode: (w, a) => {
      w.u32(a.value);
    },
  };
}

function aggregatorCodec<K extends 'aggregator' | 'as4-aggregator'>(
  kind: K,
  typeCode: number,
  width: (ctx: CodecContext) => AsWidth,
): AttributeCodec<{ readonly kind: K; readonly asn: number; readonly addr: bigint }> {
  return {
    typeCode,
    flags: OPTIONAL_TRANSITIVE,
    handling: 'attribute-discard', // RFC 7606 §7.7, RFC 6793 §6
    length: (ctx) => width(ctx) + 4,
    decode: (r, env) => ({ kind, asn: width(env.ctx) === 4 ? r.u32() : r.u16(), addr: addressFromBytes(r.bytes(4)) }),
    encode: (w, a, ctx) => {
      if (width(ctx) === 4) w.u32(a.asn);
      else w.u16(twoOctetAS(a.asn));
      w.bytes(addressBytes(4, a.addr));
    },
  };
}

/** A list of fixed-size records; empty or ragged is an Attribute Length Error (RFC 7606 §7.8, RFC 8092 §6). */
function recordsCodec<K extends 'communities' | 'large-communities', V>(
  kind: K,
  typeCode: number,
  size: number,
  read: (r: BufferReader) => V,
  write: (w: BufferWriter, v: V) => void,
): AttributeCodec<{ readonly kind: K; readonly values: readonly V[] }> {
  return {
    typeCode,
    flags: OPTIONAL_TRANSITIVE,
    handling: 'treat-as-withdraw',
    decode: (r, env) => {
      if (r.remaining === 0 || r.remaining % size !== 0) {
        throw env.fail(UpdateSubcode.AttributeLengthError, `length ${r.remaining} is not a non-zero multiple of ${size}`);
      }
      const values: V[] = [];
      while (r.remaining > 0) values.push(read(r));
      return { kind, values };
    },
    encode: (w, a) => {
      if (a.values.length === 0) throw new RangeError(`${kind} without values`);
      for (const v of a.values) write(w, v);
    },
  };
}

/** Rejected as syntactically incorrect (RFC 4271 §6.3): 0.0.0.0 and class D/E, as gobgp does. */
function isInvalidNextHop(addr: bigint): boolean {
  return addr === 0n || addr >= 0xe0000000n;
}

const CODECS: { readonly [K in KnownKind]: AttributeCodec<KnownAttributes[K]> } = {
  'origin': {
    typeCode: AttrType.Origin,
    flags: WELL_KNOWN,
    handling: 'treat-as-withdraw', // RFC 7606 §7.1
    length: fixed(1),
    decode: (r, env) => {
      const value = r.u8();
      if (value > Origin.Incomplete) throw env.fail(UpdateSubcode.InvalidOrigin, `origin ${value}`);
      return { kind: 'origin', value };
    },
    encode: (w, a) => {
      w.u8(a.value);
    },
  },
  'as-path': {
    typeCode: AttrType.AsPath,
    flags: WELL_KNOWN,
    handling: 'treat-as-withdraw', // RFC 7606 §7.2
    decode: (r, env) => ({
      kind: 'as-path',
      segments: decodeAsPath(r, asWidth(env.ctx), (d) => env.fail(UpdateSubcode.MalformedAsPath, d)),
    }),
    encode: (w, a, ctx) => encodeAsPath(w, a.segments, asWidth(ctx)),
  },
  'next-hop': {
    typeCode: AttrType.NextHop,
    flags: WELL_KNOWN,
    handling: 'treat-as-withdraw', // RFC 7606 §7.3
    length: fixed(4),
    decode: (r, env) => {
      const addr = addressFromBytes(r.bytes(4));
      if (isInvalidNextHop(addr)) throw env.fail(UpdateSubcode.InvalidNextHop, 'not a unicast address');
      return { kind: 'next-hop', addr };
    },
    encode: (w, a) => {
      w.bytes(addressBytes(4, a.addr));
    },
  },
  'multi-exit-disc': u32Codec('multi-exit-disc', AttrType.MultiExitDisc, OPTIONAL_NON_TRANSITIVE),
  'local-pref': u32Codec('local-pref', AttrType.LocalPref, WELL_KNOWN),
  'atomic-aggregate': {
    typeCode: AttrType.AtomicAggregate,
    flags: WELL_KNOWN,
    handling: 'attribute-discard', // RFC 7606 §7.6
    length: fixed(0),
    decode: () => ({ kind: 'atomic-aggregate' }),
    encode: () => undefined,
  },
  'aggregator': aggregatorCodec('aggregator', AttrType.Aggregator, asWidth),
  'communities': recordsCodec(
    'communities',
    AttrType.Communities,
    4,
    (r) => r.u32(),
    (w, v) => w.u32(v),
  ),
  'mp-reach-nlri': mpReachNlriCodec,
  'mp-unreach-nlri': mpUnreachNlriCodec,
  'as4-path': {
    typeCode: AttrType.As4Path,
    flags: OPTIONAL_TRANSITIVE,
    handling: 'attribute-discard', // RFC 6793 §6
    decode: (r, env) => {
      const segments = decodeAsPath(r, 4, (d) => env.fail(UpdateSubcode.OptionalAttributeError, d));
      // Confederation segments do not belong in AS4_PATH and are dropped (RFC 6793 §6).
      return { kind: 'as4-path', segments: segments.filter((s) => !isConfederationSegment(s)) };
    },
    encode: (w, a) => encodeAsPath(w, a.segments, 4),
  },
  'as4-aggregator': aggregatorCodec('as4-aggregator', AttrType.As4Aggregator, () => 4),
  'large-communities': recordsCodec(
    'large-communities',
    AttrType.LargeCommunity,
    12,
    (r) => ({ global: r.u32(), local1: r.u32(), local2: r.u32() }),
    (w, v) => w.u32(v.global).u32(v.local1).u32(v.local2),
  ),
};

const KIND_BY_CODE = new Map<number, KnownKind>(
  (Object.keys(CODECS) as KnownKind[]).map((kind) => [CODECS[kind].typeCode, kind]),
);

/** The attribute kind this codec decodes for a type code; undefined for types kept raw. */
export function knownAttributeKind(typeCode: number): KnownKind | undefined {
  return KIND_BY_CODE.get(typeCode);
}

function codecFor<K extends KnownKind>(kind: K): AttributeCodec<KnownAttributes[K]> {
  return CODECS[kind];
}

export function typeCodeOf(a: PathAttribute): number {
  return a.kind === 'raw' ? a.typeCode : codecFor(a.kind).typeCode;
}

/** Flags byte and value bytes for one attribute, Extended Length set only when needed. */
function attributeParts(a: PathAttribute, ctx: CodecContext): { flags: number; value: Buffer } {
  if (a.kind === 'raw') return { flags: a.flags & ~AttrFlag.ExtendedLength & 0xf0, value: a.value };
  const w = new BufferWriter();
  const codec = encodeKnown(w, a, ctx);
  return { flags: codec.flags | ('partial' in a && a.partial === true ? AttrFlag.Partial : 0), value: w.toBuffer() };
}

function encodeKnown<K extends KnownKind>(w: BufferWriter, a: KnownAttributes[K], ctx: CodecContext): AttributeCodec<KnownAttributes[K]> {
  const codec = codecFor<K>(a.kind as K);
  codec.encode(w, a, ctx);
  return codec;
}

/** Writes one attribute: flags, type, 1- or 2-octet length, value (RFC 4271 §4.3). */
export function encodeAttribute(w: BufferWriter, a: PathAttribute, ctx: CodecContext): void {
  const { flags, value } = attributeParts(a, ctx);
  const extended = value.length > 0xff;
  w.u8(extended ? flags | AttrFlag.ExtendedLength : flags).u8(typeCodeOf(a));
  w.lengthPrefixed(extended ? 2 : 1, () => w.bytes(value));
}

/** Upper bound of an attribute's wire size, assuming an extended length field. */
export function attributeWireLength(a: PathAttribute, ctx: CodecContext): number {
  return 4 + attributeParts(a, ctx).value.length;
}

/** A repeated attribute is discarded, except MP_REACH/MP_UNREACH, which reset the session (RFC 7606 §3 g). */
export function repeatedAttribute(typeCode: number): BgpDecodeError {
  const mp = typeCode === AttrType.MpReachNlri || typeCode === AttrType.MpUnreachNlri;
  return updateError(UpdateSubcode.MalformedAttributeList, mp ? 'session-reset' : 'attribute-discard', `attribute ${typeCode} repeated`);
}

/** A well-known (non-optional) type this codec does not know: `data` is the whole attribute (RFC 4271 §6.3). */
export function unrecognizedWellKnown(typeCode: number, data: Buffer): BgpDecodeError {
  return updateError(UpdateSubcode.UnrecognizedWellKnownAttribute, 'session-reset', `type ${typeCode}`, data);
}

export interface DecodedAttributes {
  readonly attributes: PathAttribute[];
  /** The strongest error found, if any; decoding carries on past errors that leave framing intact. */
  readonly error?: BgpDecodeError;
}

function strongest(a: BgpDecodeError | undefined, b: BgpDecodeError): BgpDecodeError {
  return a === undefined ? b : a.stronger(b);
}

/** Decodes the Path Attributes field; `r` covers exactly Total Path Attribute Length octets. */
export function decodeAttributes(r: BufferReader, ctx: CodecContext): DecodedAttributes {
  const attributes: PathAttribute[] = [];
  const seen = new Set<number>();
  let error: BgpDecodeError | undefined;
  while (r.remaining > 0) {
    const start = r.offset;
    // Too few octets for another attribute header, or a value past the end of the field:
    // treat-as-withdraw, NLRI still located by Total Path Attribute Length (RFC 7606 §4).
    const flags = r.remaining >= 3 ? r.u8() : undefined;
    if (flags === undefined || (flags & AttrFlag.ExtendedLength && r.remaining < 3)) {
      error = strongest(error, updateError(UpdateSubcode.MalformedAttributeList, 'treat-as-withdraw', 'truncated attribute header'));
      break;
    }
    const type = r.u8();
    const length = flags & AttrFlag.ExtendedLength ? r.u16() : r.u8();
    if (length > r.remaining) {
      const data = Buffer.concat([r.since(start), r.rest()]);
      const overrun = updateError(UpdateSubcode.AttributeLengthError, 'treat-as-withdraw', `attribute ${type} overruns the list`, data);
      error = strongest(error, overrun);
      break;
    }
    const value = r.bytes(length);
    const data = r.since(start);
    if (seen.has(type)) {
      // Repeats are discarded, except MP_REACH/MP_UNREACH which reset the session (RFC 7606 §3 g).
      error = strongest(error, repeatedAttribute(type));
      continue;
    }
    seen.add(type);
    try {
      attributes.push(decodeAttribute(flags & 0xf0, type, value, Buffer.from(data), ctx));
    } catch (e) {
      if (!(e instanceof BgpDecodeError)) throw e;
      error = strongest(error, e);
    }
  }
  return { attributes, ...(error && { error }) };
}

function decodeAttribute(flags: number, typeCode: number, value: Buffer, data: Buffer, ctx: CodecContext): PathAttribute {
  const raw = (): RawAttribute => ({ kind: 'raw', typeCode, flags: flags & ~AttrFlag.ExtendedLength, value: Buffer.from(value) });
  const kind = KIND_BY_CODE.get(typeCode);
  if (kind === undefined) {
    if (!(flags & AttrFlag.Optional)) {
      throw unrecognizedWellKnown(typeCode, data);
    }
    return raw();
  }
  const codec: AttributeCodec<KnownAttribute> = codecFor(kind);
  const env: AttributeEnv = {
    ctx,
    fail: (subcode: number, detail: string, handling: ErrorHandling = codec.handling) =>
      updateError(subcode, handling, `${kind}: ${detail}`, data),
    raw,
  };
  const partial = (flags & AttrFlag.Partial) !== 0;
  // Optional/Transitive must match the type; Partial only on optional transitive (RFC 4271 §4.3, §6.3).
  if ((flags & OPTIONAL_TRANSITIVE) !== codec.flags || (partial && codec.flags !== OPTIONAL_TRANSITIVE)) {
    throw env.fail(UpdateSubcode.AttributeFlagsError, `flags 0x${flags.toString(16)}`);
  }
  const r = new BufferReader(value);
  const expected = codec.length?.(ctx);
  if (expected !== undefined && r.remaining !== expected) {
    throw env.fail(UpdateSubcode.AttributeLengthError, `length ${r.remaining}, expected ${expected}`);
  }
  const lengthError = (): BgpDecodeError => env.fail(UpdateSubcode.AttributeLengthError, 'value shorter than its contents');
  const a = readingAs(lengthError, () => codec.decode(r, env));
  if (a.kind === 'raw') return a;
  if (r.remaining > 0) throw env.fail(UpdateSubcode.AttributeLengthError, `${r.remaining} trailing octets`);
  return partial ? markPartial(a) : a;
}

/** Only reached for optional transitive attributes, whose types all carry `partial`. */
function markPartial<A extends KnownAttribute>(a: A): A {
  return { ...a, partial: true };
}
