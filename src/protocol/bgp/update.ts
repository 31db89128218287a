// UPDATE message (RFC 4271 §4.3): IPv4 withdrawn routes, path attributes, IPv4 NLRI.
import { Afi, Safi } from './address-family';
import { hasFourOctetOnlyAS, isConfederationSegment } from './as-path';
import { AttrType } from './attribute-codec';
import { typeCodeOf } from './attribute-table';
import type { PathAttribute } from './attribute-types';
import { decodeAttributes, encodeAttribute } from './attributes';
import type { CodecContext } from './context';
import { BgpDecodeError, updateError } from './errors';
import { UpdateSubcode } from './notification-codes';
import { decodePrefixes, encodePrefixes, type Prefix } from './prefix';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export interface UpdateMessage {
  readonly kind: 'update';
  /** IPv4 only; IPv6 withdrawals travel in MP_UNREACH_NLRI. */
  readonly withdrawn: readonly Prefix[];
  readonly attributes: readonly PathAttribute[];
  /** IPv4 only; IPv6 routes travel in MP_REACH_NLRI. */
  readonly nlri: readonly Prefix[];
}

/** Withdrawn Routes Length and Total Path Attribute Length. */
export const UPDATE_FIXED_LENGTH = 4;

export function encodeUpdate(w: BufferWriter, m: UpdateMessage, ctx: CodecContext): void {
  w.lengthPrefixed(2, () => encodePrefixes(w, m.withdrawn, 4));
  w.lengthPrefixed(2, () => {
    for (const a of attributesForPeer(m.attributes, ctx)) encodeAttribute(w, a, ctx);
  });
  encodePrefixes(w, m.nlri, 4);
}

/**
 * Towards a peer without 4-octet AS support, AS numbers that do not fit 2 octets become
 * AS_TRANS and the real ones travel in AS4_PATH / AS4_AGGREGATOR (RFC 6793 §4.2.2), which
 * never carry confederation segments (RFC 6793 §3).
 */
export function attributesForPeer(attrs: readonly PathAttribute[], ctx: CodecContext): readonly PathAttribute[] {
  if (ctx.fourOctetAS) return attrs;
  let out = attrs;
  const asPath = attrs.find((a) => a.kind === 'as-path');
  const as4Segments = asPath?.segments.filter((s) => !isConfederationSegment(s)) ?? [];
  if (hasFourOctetOnlyAS(as4Segments) && !attrs.some((a) => a.kind === 'as4-path')) {
    out = insertByTypeCode(out, { kind: 'as4-path', segments: as4Segments });
  }
  const aggregator = attrs.find((a) => a.kind === 'aggregator');
  if (aggregator && aggregator.asn > 0xffff && !attrs.some((a) => a.kind === 'as4-aggregator')) {
    out = insertByTypeCode(out, { kind: 'as4-aggregator', asn: aggregator.asn, addr: aggregator.addr });
  }
  return out;
}

/** Senders SHOULD order attributes by type code (RFC 4271 §5). */
export function insertByTypeCode(attrs: readonly PathAttribute[], a: PathAttribute): PathAttribute[] {
  const code = typeCodeOf(a);
  const at = attrs.findIndex((x) => typeCodeOf(x) > code);
  const out = [...attrs];
  out.splice(at < 0 ? out.length : at, 0, a);
  return out;
}

/** Decodes an UPDATE body; throws the strongest BgpDecodeError found. */
export function decodeUpdate(r: BufferReader, ctx: CodecContext): UpdateMessage {
  const withdrawnLength = r.u16();
  // RFC 4271 §6.3: either length running past the message is a Malformed Attribute List, and
  // with the NLRI unlocatable the session must be reset (RFC 7606 §5.3).
  if (withdrawnLength + 2 > r.remaining) throw malformedList(`withdrawn routes length ${withdrawnLength} exceeds the message`);
  const withdrawnField = r.sub(withdrawnLength);
  const attributesLength = r.u16();
  if (attributesLength > r.remaining) throw malformedList(`path attribute length ${attributesLength} exceeds the message`);
  const attributesField = r.sub(attributesLength);

  const withdrawn = decodePrefixes(withdrawnField, 4, invalidNetworkField('withdrawn routes'));
  const decoded = decodeAttributes(attributesField, ctx);
  const nlri = decodePrefixes(r, 4, invalidNetworkField('NLRI'));
  const m: UpdateMessage = { kind: 'update', withdrawn, attributes: decoded.attributes, nlri };
  const missing = missingWellKnown(m);
  const error = decoded.error && missing ? decoded.error.stronger(missing) : (decoded.error ?? missing);
  if (error) throw error;
  return m;
}

export function malformedList(detail: string): BgpDecodeError {
  return updateError(UpdateSubcode.MalformedAttributeList, 'session-reset', detail);
}

/** RFC 4271 §6.3 Invalid Network Field; session reset (RFC 7606 §5.3). */
export function invalidNetworkField(field: string): (detail: string) => BgpDecodeError {
  return (detail) => updateError(UpdateSubcode.InvalidNetworkField, 'session-reset', `${field}: ${detail}`);
}

/**
 * Routes need ORIGIN and AS_PATH, and IPv4 NLRI also NEXT_HOP (RFC 4271 §5, RFC 4760 §3).
 * The Data is the missing type code (RFC 4271 §6.3); treat-as-withdraw (RFC 7606 §3 d).
 */
function missingWellKnown(m: UpdateMessage): BgpDecodeError | undefined {
  const present = new Set(m.attributes.map(typeCodeOf));
  const required: number[] = [];
  if (m.nlri.length > 0 || present.has(AttrType.MpReachNlri)) required.push(AttrType.Origin, AttrType.AsPath);
  if (m.nlri.length > 0) required.push(AttrType.NextHop);
  const missing = required.find((t) => !present.has(t));
  if (missing === undefined) return undefined;
  return updateError(UpdateSubcode.MissingWellKnownAttribute, 'treat-as-withdraw', `attribute ${missing} missing`, Buffer.from([missing]));
}

/** The End-of-RIB marker for a family (RFC 4724 §2). */
export function endOfRib(afi: number, safi: number): UpdateMessage {
  const ipv4Unicast = afi === Afi.IPv4 && safi === Safi.Unicast;
  const attributes: PathAttribute[] = ipv4Unicast ? [] : [{ kind: 'mp-unreach-nlri', afi, safi, withdrawn: [] }];
  return { kind: 'update', withdrawn: [], attributes, nlri: [] };
}
