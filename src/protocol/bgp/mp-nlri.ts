// MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §3–§4) for IPv4 and IPv6 unicast; other
// AFI/SAFIs are kept raw. The next hop is 4 octets (IPv4), 16 (IPv6 global) or 32 (global
// plus link-local, RFC 2545 §3), whatever the AFI (RFC 8950 §3).
import type { Family } from '../../ipam/address';
import { familyOfAfi, Safi } from './address-family';
import { type AttributeCodec, type AttributeEnv, AttrType, OPTIONAL_NON_TRANSITIVE } from './attribute-codec';
import { BgpDecodeError } from './errors';
import { UpdateSubcode } from './notification-codes';
import { addressBytes, addressFromBytes, decodePrefixes, encodePrefixes, type Prefix } from './prefix';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export type MpNextHop =
  | { readonly family: 4; readonly addr: bigint }
  | { readonly family: 6; readonly global: bigint; readonly linkLocal?: bigint };

export interface MpReachNlriAttribute {
  readonly kind: 'mp-reach-nlri';
  readonly afi: number;
  readonly safi: number;
  readonly nextHop: MpNextHop;
  readonly nlri: readonly Prefix[];
}

export interface MpUnreachNlriAttribute {
  readonly kind: 'mp-unreach-nlri';
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: readonly Prefix[];
}

/** The prefix family of an AFI/SAFI this codec parses, else undefined (the attribute stays raw). */
function parsedFamily(afi: number, safi: number): Family | undefined {
  return safi === Safi.Unicast ? familyOfAfi(afi) : undefined;
}

function familyOrThrow(afi: number, safi: number): Family {
  const family = parsedFamily(afi, safi);
  if (family === undefined) throw new RangeError(`AFI ${afi} SAFI ${safi} is not encodable; use a raw attribute`);
  return family;
}

/** AFI (2 octets) and SAFI (1), first in both MP attributes. */
export const MP_FAMILY_LENGTH = 3;
export const NO_ROOM_FOR_FAMILY = 'no room for AFI/SAFI';

/**
 * Reads AFI and SAFI. Without them the affected family is unknown, so the session must be
 * reset rather than the AFI/SAFI disabled (RFC 7606 §7.11).
 */
function readFamily(r: BufferReader, env: AttributeEnv): { afi: number; safi: number } {
  if (r.remaining < MP_FAMILY_LENGTH) throw env.fail(UpdateSubcode.AttributeLengthError, NO_ROOM_FOR_FAMILY, 'session-reset');
  return { afi: r.u16(), safi: r.u8() };
}

/** RFC 4760 §7: a malformed MP attribute is an Optional Attribute Error. */
function nlriFailure(env: AttributeEnv): (detail: string) => BgpDecodeError {
  return (detail) => env.fail(UpdateSubcode.OptionalAttributeError, detail);
}

function decodeNextHop(b: Buffer, env: AttributeEnv): MpNextHop {
  switch (b.length) {
    case 4:
      return { family: 4, addr: addressFromBytes(b) };
    case 16:
      return { family: 6, global: addressFromBytes(b) };
    case 32:
      return { family: 6, global: addressFromBytes(b.subarray(0, 16)), linkLocal: addressFromBytes(b.subarray(16)) };
    default:
      throw env.fail(UpdateSubcode.OptionalAttributeError, `next hop length ${b.length}`);
  }
}

function encodeNextHop(w: BufferWriter, nh: MpNextHop): void {
  w.lengthPrefixed(1, () => {
    if (nh.family === 4) {
      w.bytes(addressBytes(4, nh.addr));
      return;
    }
    w.bytes(addressBytes(6, nh.global));
    if (nh.linkLocal !== undefined) w.bytes(addressBytes(6, nh.linkLocal));
  });
}

export const mpReachNlriCodec: AttributeCodec<MpReachNlriAttribute> = {
  typeCode: AttrType.MpReachNlri,
  flags: OPTIONAL_NON_TRANSITIVE,
  handling: 'afi-safi-disable',
  decode(r, env) {
    const { afi, safi } = readFamily(r, env);
    const family = parsedFamily(afi, safi);
    if (family === undefined) return env.raw();
    const fail = nlriFailure(env);
    if (r.remaining < 1) throw fail('no next hop length');
    const nhLength = r.u8();
    // Next hop, then the Reserved octet, which is ignored on receipt.
    if (r.remaining < nhLength + 1) throw fail(`next hop of ${nhLength} octets overruns the attribute`);
    const nextHop = decodeNextHop(r.bytes(nhLength), env);
    r.u8();
    return { kind: 'mp-reach-nlri', afi, safi, nextHop, nlri: decodePrefixes(r, family, fail) };
  },
  encode(w, a) {
    const family = familyOrThrow(a.afi, a.safi);
    w.u16(a.afi).u8(a.safi);
    encodeNextHop(w, a.nextHop);
    w.u8(0);
    encodePrefixes(w, a.nlri, family);
  },
};

export const mpUnreachNlriCodec: AttributeCodec<MpUnreachNlriAttribute> = {
  typeCode: AttrType.MpUnreachNlri,
  flags: OPTIONAL_NON_TRANSITIVE,
  handling: 'afi-safi-disable',
  decode(r, env) {
    const { afi, safi } = readFamily(r, env);
    const family = parsedFamily(afi, safi);
    if (family === undefined) return env.raw();
    return { kind: 'mp-unreach-nlri', afi, safi, withdrawn: decodePrefixes(r, family, nlriFailure(env)) };
  },
  encode(w, a) {
    const family = familyOrThrow(a.afi, a.safi);
    w.u16(a.afi).u8(a.safi);
    encodePrefixes(w, a.withdrawn, family);
  },
};
