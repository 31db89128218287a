// The shape shared by every path attribute codec: a type code, the flags the attribute must
// carry and how a malformed instance is handled (gobgp's PathAttrFlags table, RFC 7606 §7).
import type { CodecContext } from './context';
import type { BgpDecodeError, ErrorHandling } from './errors';
import type { BufferReader } from '../buffer-reader';
import type { BufferWriter } from '../buffer-writer';

/** IANA "BGP Path Attributes". */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunity: 32,
} as const;

/** RFC 4271 §4.3; the low 4 bits are unused and ignored on receipt. */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

export const WELL_KNOWN = AttrFlag.Transitive;
export const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
export const OPTIONAL_NON_TRANSITIVE = AttrFlag.Optional;

/** An attribute this codec does not parse, kept byte-for-byte (gobgp PathAttributeUnknown). */
export interface RawAttribute {
  readonly kind: 'raw';
  readonly typeCode: number;
  /** Optional, Transitive and Partial bits as received; Extended Length is recomputed on encode. */
  readonly flags: number;
  readonly value: Buffer;
}

/** What a value decoder knows about the attribute being decoded. */
export interface AttributeEnv {
  readonly ctx: CodecContext;
  /** The error for this attribute, quoting the whole attribute as its data (RFC 4271 §6.3). */
  fail(subcode: number, detail: string, handling?: ErrorHandling): BgpDecodeError;
  /** This attribute kept as received, for values the codec chooses not to parse. */
  raw(): RawAttribute;
}

export interface AttributeCodec<A> {
  readonly typeCode: number;
  /** The Optional and Transitive bits the attribute must carry. */
  readonly flags: number;
  /** RFC 7606 §7 handling for a malformed instance, flags errors included (§3 c). */
  readonly handling: ErrorHandling;
  /** Exact value length, when fixed; a different length is an Attribute Length Error. */
  readonly length?: (ctx: CodecContext) => number;
  /** `r` covers exactly the value; bytes left unread make the attribute's length wrong. */
  decode(r: BufferReader, env: AttributeEnv): A | RawAttribute;
  encode(w: BufferWriter, a: A, ctx: CodecContext): void;
}
