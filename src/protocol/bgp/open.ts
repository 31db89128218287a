// OPEN message (RFC 4271 §4.2) with capability optional parameters (RFC 5492).
import { twoOctetAS } from './as-number';
import { type Capability, decodeCapability, encodeCapability } from './capabilities';
import type { DecodeContext } from './context';
import { BgpDecodeError, openError, readingAs, u16Data } from './errors';
import { OpenSubcode } from './notification-codes';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export const BGP_VERSION = 4;

/** Optional Parameter Type 2 (RFC 5492 §4); type 1 (authentication) is deprecated. */
const CAPABILITIES_PARAMETER = 2;
const MAX_PARAMETER_LENGTH = 255;

export interface OpenMessage {
  readonly kind: 'open';
  readonly version: number;
  /** The 2-octet "My Autonomous System" field; AS_TRANS when the real AS needs 4 octets. */
  readonly myAS: number;
  readonly holdTime: number;
  /** A 4-octet unsigned, non-zero integer (RFC 6286 §2.1), not necessarily an address. */
  readonly bgpIdentifier: number;
  /** All capabilities of all capability parameters, in order. */
  readonly capabilities: readonly Capability[];
}

export interface OpenOptions {
  readonly asn: number;
  readonly holdTime: number;
  readonly bgpIdentifier: number;
  readonly capabilities?: readonly Capability[];
}

/**
 * An OPEN for our AS: the 4-octet AS capability is always advertised (RFC 6793 §3) and My AS
 * falls back to AS_TRANS when the AS does not fit 2 octets (RFC 6793 §4.1).
 */
export function openMessage(o: OpenOptions): OpenMessage {
  const caps = (o.capabilities ?? []).filter((c) => c.kind !== 'four-octet-as');
  return {
    kind: 'open',
    version: BGP_VERSION,
    myAS: twoOctetAS(o.asn),
    holdTime: o.holdTime,
    bgpIdentifier: o.bgpIdentifier,
    capabilities: [...caps, { kind: 'four-octet-as', asn: o.asn }],
  };
}

/** The sender's AS: the 4-octet AS capability when present, else My AS (RFC 6793 §4.1). */
export function senderAS(m: OpenMessage): number {
  const four = m.capabilities.find((c) => c.kind === 'four-octet-as');
  return four ? four.asn : m.myAS;
}

export function encodeOpen(w: BufferWriter, m: OpenMessage): void {
  w.u8(m.version).u16(twoOctetAS(m.myAS)).u16(m.holdTime).u32(m.bgpIdentifier);
  const groups = capabilityParameters(m.capabilities);
  w.lengthPrefixed(1, () => {
    for (const g of groups) w.u8(CAPABILITIES_PARAMETER).lengthPrefixed(1, () => w.bytes(g));
  });
}

/** Packs capability TLVs into as few parameters as the 1-octet parameter length allows. */
function capabilityParameters(caps: readonly Capability[]): Buffer[] {
  const groups: Buffer[] = [];
  let current = new BufferWriter();
  for (const c of caps) {
    const tlv = new BufferWriter();
    encodeCapability(tlv, c);
    if (current.offset > 0 && current.offset + tlv.offset > MAX_PARAMETER_LENGTH) {
      groups.push(current.toBuffer());
      current = new BufferWriter();
    }
    current.bytes(tlv.toBuffer());
  }
  if (current.offset > 0) groups.push(current.toBuffer());
  return groups;
}

/** Decodes an OPEN body and applies the RFC 4271 §6.2 checks. */
export function decodeOpen(r: BufferReader, ctx: DecodeContext): OpenMessage {
  const version = r.u8();
  const myAS = r.u16();
  const holdTime = r.u16();
  const bgpIdentifier = r.u32();
  const paramsLength = r.u8();
  // The Data is the largest version we support (RFC 4271 §6.2).
  if (version !== BGP_VERSION) throw openError(OpenSubcode.UnsupportedVersionNumber, `version ${version}`, u16Data(BGP_VERSION));
  if (paramsLength !== r.remaining) {
    throw openError(OpenSubcode.Unspecific, `optional parameters length ${paramsLength} but ${r.remaining} bytes follow`);
  }
  const m: OpenMessage = { kind: 'open', version, myAS, holdTime, bgpIdentifier, capabilities: decodeParameters(r) };
  checkOpen(m, ctx);
  return m;
}

function decodeParameters(r: BufferReader): Capability[] {
  const caps: Capability[] = [];
  const malformed = (): BgpDecodeError => openError(OpenSubcode.Unspecific, 'optional parameter overruns its field');
  while (r.remaining > 0) {
    const [type, value] = readingAs(malformed, () => [r.u8(), r.sub(r.u8())] as const);
    if (type !== CAPABILITIES_PARAMETER) throw openError(OpenSubcode.UnsupportedOptionalParameter, `parameter type ${type}`);
    while (value.remaining > 0) {
      const cap = readingAs(malformed, () => {
        const code = value.u8();
        return decodeCapability(code, value.sub(value.u8()));
      });
      // A recognised but malformed optional parameter gets subcode 0 (RFC 4271 §6.2).
      if (cap === undefined) throw openError(OpenSubcode.Unspecific, 'malformed capability');
      caps.push(cap);
    }
  }
  return caps;
}

function checkOpen(m: OpenMessage, ctx: DecodeContext): void {
  const as = senderAS(m);
  // AS 0 is never acceptable, in My AS or in the capability (RFC 7607 §2).
  if (m.myAS === 0 || as === 0) throw openError(OpenSubcode.BadPeerAS, 'AS 0');
  if (ctx.peerAS !== undefined && as !== ctx.peerAS) throw openError(OpenSubcode.BadPeerAS, `AS ${as}, expected ${ctx.peerAS}`);
  // Hold time is 0 or at least 3 seconds (RFC 4271 §4.2).
  if (m.holdTime === 1 || m.holdTime === 2) throw openError(OpenSubcode.UnacceptableHoldTime, `hold time ${m.holdTime}`);
  // Non-zero, and distinct from ours on an internal session (RFC 6286 §2.2).
  if (m.bgpIdentifier === 0) throw openError(OpenSubcode.BadBgpIdentifier, 'identifier 0');
  if (ctx.localAS !== undefined && as === ctx.localAS && m.bgpIdentifier === ctx.localIdentifier) {
    throw openError(OpenSubcode.BadBgpIdentifier, 'internal peer uses our identifier');
  }
}
