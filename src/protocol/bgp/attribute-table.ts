// The table of path attribute codecs, one entry per known type code (gobgp's PathAttrFlags and
// per-type decoders in one place): flags, RFC 7606 handling, fixed length, value decode/encode.
// Split from attributes.ts, which frames attributes on the wire and walks the attribute list;
// this file only knows attribute values.
import { type AsWidth, decodeAsPath, encodeAsPath, isConfederationSegment } from './as-path';
import { twoOctetAS } from './as-number';
import { type AttributeCodec, AttrType, OPTIONAL_NON_TRANSITIVE, OPTIONAL_TRANSITIVE, WELL_KNOWN } from './attribute-codec';
import { Origin, type KnownAttributes, type KnownKind, type PathAttribute } from './attribute-types';
import type { CodecContext } from './context';
import { mpReachNlriCodec, mpUnreachNlriCodec } from './mp-nlri';
import { UpdateSubcode } from './notification-codes';
import { addressBytes, addressFromBytes } from './prefix';
import type { BufferReader } from '../buffer-reader';
import type { BufferWriter } from '../buffer-writer';

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

export function codecFor<K extends KnownKind>(kind: K): AttributeCodec<KnownAttributes[K]> {
  return CODECS[kind];
}

export function typeCodeOf(a: PathAttribute): number {
  return a.kind === 'raw' ? a.typeCode : codecFor(a.kind).typeCode;
}
