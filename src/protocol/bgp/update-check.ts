// The cheap path for UPDATEs whose routes are thrown away unread (ironlb only exports): the
// checks RFC 4271 §6.3 and RFC 7606 still require of such a message, and nothing else.
//
// A speaker that imports nothing has no route to withdraw or attribute to discard, so every
// error weaker than session-reset (RFC 7606 §2) changes nothing and needs no finding. What can
// still end the session must be found: the header (RFC 4271 §6.1), field lengths that leave the
// NLRI unlocatable (RFC 7606 §5.3), syntactically incorrect withdrawn routes or NLRI (§5.3),
// MP_REACH/MP_UNREACH repeated (§3 g) or without room for AFI/SAFI (§7.11), and well-known
// attributes this speaker does not recognise (RFC 4271 §6.3). The walk reads lengths and type
// codes only: no prefix, address or attribute object is built, so a full table costs
// milliseconds instead of seconds on the event loop.
//
// checkUpdate(frame) returns exactly the error decode(frame) returns when that error's handling
// is session-reset, and undefined otherwise (test/unit/bgp/update-check.test.ts holds it to that).
import { AttrFlag, AttrType, OPTIONAL_TRANSITIVE, OPTIONAL_NON_TRANSITIVE } from './attribute-codec';
import { knownAttributeKind } from './attribute-table';
import { repeatedAttribute, unrecognizedWellKnown } from './attributes';
import { BgpDecodeError, updateError } from './errors';
import { decodeHeader, HEADER_LENGTH } from './header';
import { MP_FAMILY_LENGTH, NO_ROOM_FOR_FAMILY } from './mp-nlri';
import { UpdateSubcode } from './notification-codes';
import { checkPrefixes } from './prefix';
import { invalidNetworkField, malformedList } from './update';

/** The session-reset verdict of decode() on a whole UPDATE message (header included), if any. */
export function checkUpdate(frame: Buffer): BgpDecodeError | undefined {
  try {
    decodeHeader(frame);
  } catch (e) {
    if (e instanceof BgpDecodeError) return e;
    throw e;
  }
  const end = frame.length;
  let at = HEADER_LENGTH;
  const withdrawnLength = frame.readUInt16BE(at);
  at += 2;
  if (withdrawnLength + 2 > end - at) return malformedList(`withdrawn routes length ${withdrawnLength} exceeds the message`);
  const withdrawnAt = at;
  at += withdrawnLength;
  const attributesLength = frame.readUInt16BE(at);
  at += 2;
  if (attributesLength > end - at) return malformedList(`path attribute length ${attributesLength} exceeds the message`);
  // decodeUpdate's order: withdrawn routes, attributes, NLRI; a bad NLRI outranks attribute errors.
  const badWithdrawn = checkPrefixes(frame, withdrawnAt, withdrawnAt + withdrawnLength, 4);
  if (badWithdrawn !== undefined) return invalidNetworkField('withdrawn routes')(badWithdrawn);
  const badNlri = checkPrefixes(frame, at + attributesLength, end, 4);
  if (badNlri !== undefined) return invalidNetworkField('NLRI')(badNlri);
  return checkAttributes(frame, at, at + attributesLength);
}

/**
 * The first session-reset error of decodeAttributes over buf[start, end): the same walk, which
 * stops where the list can no longer be framed (those errors are treat-as-withdraw).
 */
function checkAttributes(buf: Buffer, start: number, end: number): BgpDecodeError | undefined {
  // A repeated attribute is not looked at again (its first copy decides), as in decodeAttributes.
  const seen = new Uint32Array(8);
  let at = start;
  while (at < end) {
    const attributeAt = at;
    if (end - at < 3) return undefined;
    const flags = buf[at++];
    const extended = (flags & AttrFlag.ExtendedLength) !== 0;
    if (extended && end - at < 3) return undefined;
    const type = buf[at++];
    const length = extended ? buf.readUInt16BE(at) : buf[at];
    at += extended ? 2 : 1;
    if (length > end - at) return undefined;
    at += length;
    const mp = type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri;
    const bit = 1 << (type & 31);
    if (seen[type >> 5] & bit) {
      if (mp) return repeatedAttribute(type);
      continue;
    }
    seen[type >> 5] |= bit;
    if (mp) {
      // Flags are checked before the value; wrong flags are AFI/SAFI-disable, not a reset.
      const flagsRight = (flags & OPTIONAL_TRANSITIVE) === OPTIONAL_NON_TRANSITIVE && (flags & AttrFlag.Partial) === 0;
      if (flagsRight && length < MP_FAMILY_LENGTH) {
        const kind = knownAttributeKind(type);
        return updateError(UpdateSubcode.AttributeLengthError, 'session-reset', `${kind}: ${NO_ROOM_FOR_FAMILY}`, Buffer.from(buf.subarray(attributeAt, at)));
      }
    } else if (knownAttributeKind(type) === undefined && (flags & AttrFlag.Optional) === 0) {
      return unrecognizedWellKnown(type, Buffer.from(buf.subarray(attributeAt, at)));
    }
  }
  return undefined;
}
