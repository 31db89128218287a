// Path attributes on the wire (RFC 4271 §4.3, §5): one attribute's flags, type and length around
// the value its codec writes (attribute-table.ts), and the walk of the Path Attributes field with
// the RFC 4271 §6.3 / RFC 7606 checks. The attribute values are typed in attribute-types.ts.
import { type AttributeCodec, type AttributeEnv, AttrFlag, AttrType, OPTIONAL_TRANSITIVE, type RawAttribute } from './attribute-codec';
import { codecFor, knownAttributeKind, typeCodeOf } from './attribute-table';
import type { KnownAttribute, KnownAttributes, KnownKind, PathAttribute } from './attribute-types';
import type { CodecContext } from './context';
import { BgpDecodeError, type ErrorHandling, readingAs, updateError } from './errors';
import { UpdateSubcode } from './notification-codes';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

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
  const kind = knownAttributeKind(typeCode);
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
