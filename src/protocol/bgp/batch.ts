// Packs many prefixes that share attributes into as few UPDATEs as fit 4096 octets
// (MetalLB's native speaker sends one prefix per UPDATE).
import { Afi, Safi } from './address-family';
import type { MpNextHop, PathAttribute } from './attribute-types';
import { attributeWireLength } from './attributes';
import type { CodecContext } from './context';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './header';
import { encode } from './message';
import { type Prefix, prefixWireLength } from './prefix';
import { attributesForPeer, insertByTypeCode, UPDATE_FIXED_LENGTH, type UpdateMessage } from './update';

export interface UpdateBatch {
  readonly announce: readonly Prefix[];
  readonly withdraw: readonly Prefix[];
  /**
   * Attributes every announced prefix shares. NEXT_HOP serves the IPv4 NLRI and is left out
   * of UPDATEs that only carry MP_REACH_NLRI (RFC 4760 §3). MP attributes are built here.
   */
  readonly attrs: readonly PathAttribute[];
  /** The MP_REACH_NLRI next hop; required when IPv6 prefixes are announced. */
  readonly ipv6NextHop?: MpNextHop;
  readonly ctx: CodecContext;
}

const BODY_BUDGET = MAX_MESSAGE_LENGTH - HEADER_LENGTH - UPDATE_FIXED_LENGTH;

/**
 * Encoded UPDATEs: IPv4 withdrawals, IPv6 withdrawals (MP_UNREACH_NLRI alone, RFC 4760 §4),
 * IPv4 announcements, IPv6 announcements, each packed greedily in input order.
 * Throws RangeError when the input cannot be sent (missing next hop, attributes too large).
 */
export function buildUpdates(b: UpdateBatch): Buffer[] {
  if (b.attrs.some((a) => a.kind === 'mp-reach-nlri' || a.kind === 'mp-unreach-nlri')) {
    throw new RangeError('buildUpdates builds MP_REACH_NLRI/MP_UNREACH_NLRI itself');
  }
  const ofFamily = (ps: readonly Prefix[], family: 4 | 6): Prefix[] => ps.filter((p) => p.family === family);
  const updates: UpdateMessage[] = [
    ...withdrawIPv4(ofFamily(b.withdraw, 4)),
    ...withdrawIPv6(ofFamily(b.withdraw, 6), b.ctx),
    ...announceIPv4(ofFamily(b.announce, 4), b.attrs, b.ctx),
    ...announceIPv6(ofFamily(b.announce, 6), b.attrs, b.ipv6NextHop, b.ctx),
  ];
  return updates.map((u) => encode(u, b.ctx));
}

function update(withdrawn: readonly Prefix[], attributes: readonly PathAttribute[], nlri: readonly Prefix[]): UpdateMessage {
  return { kind: 'update', withdrawn, attributes, nlri };
}

function withdrawIPv4(prefixes: Prefix[]): UpdateMessage[] {
  return pack(prefixes, BODY_BUDGET).map((chunk) => update(chunk, [], []));
}

function withdrawIPv6(prefixes: Prefix[], ctx: CodecContext): UpdateMessage[] {
  const unreach = (withdrawn: readonly Prefix[]): PathAttribute => ({ kind: 'mp-unreach-nlri', afi: Afi.IPv6, safi: Safi.Unicast, withdrawn });
  const room = BODY_BUDGET - attributeWireLength(unreach([]), ctx);
  return pack(prefixes, room).map((chunk) => update([], [unreach(chunk)], []));
}

function announceIPv4(prefixes: Prefix[], attrs: readonly PathAttribute[], ctx: CodecContext): UpdateMessage[] {
  if (prefixes.length === 0) return [];
  if (!attrs.some((a) => a.kind === 'next-hop')) throw new RangeError('IPv4 announcements need a NEXT_HOP attribute');
  return pack(prefixes, BODY_BUDGET - attributesLength(attrs, ctx)).map((chunk) => update([], attrs, chunk));
}

function announceIPv6(
  prefixes: Prefix[],
  attrs: readonly PathAttribute[],
  nextHop: MpNextHop | undefined,
  ctx: CodecContext,
): UpdateMessage[] {
  if (prefixes.length === 0) return [];
  if (!nextHop) throw new RangeError('IPv6 announcements need ipv6NextHop');
  const shared = attrs.filter((a) => a.kind !== 'next-hop');
  const reach = (nlri: readonly Prefix[]): PathAttribute => ({ kind: 'mp-reach-nlri', afi: Afi.IPv6, safi: Safi.Unicast, nextHop, nlri });
  const room = BODY_BUDGET - attributesLength(shared, ctx) - attributeWireLength(reach([]), ctx);
  return pack(prefixes, room).map((chunk) => update([], insertByTypeCode(shared, reach(chunk)), []));
}

/** Octets the attributes take as sent to this peer, AS4_* additions included. */
function attributesLength(attrs: readonly PathAttribute[], ctx: CodecContext): number {
  return attributesForPeer(attrs, ctx).reduce((n, a) => n + attributeWireLength(a, ctx), 0);
}

/** Splits prefixes, in order, into runs whose wire size fits `room` octets. */
function pack(prefixes: readonly Prefix[], room: number): Prefix[][] {
  const chunks: Prefix[][] = [];
  let current: Prefix[] = [];
  let used = 0;
  for (const p of prefixes) {
    const size = prefixWireLength(p);
    if (size > room) throw new RangeError(`attributes leave ${room} octets, too few for one prefix`);
    if (used + size > room) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(p);
    used += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
