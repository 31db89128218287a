// Export policy: what one peer is told about a route this speaker advertises. Pure: the
// attributes follow from the route, the kind of session (iBGP or eBGP) and the next hops.
import { parseIP } from '../../ipam/address';
import { Afi, AsPathSegmentType, type CodecContext, type LargeCommunity, type PathAttribute, type Prefix, Safi } from '../../protocol/bgp';
import { familyKey, type Negotiated } from './fsm';

/** One route this speaker advertises: a prefix and the attributes that vary per Service pool. */
export interface Route {
  readonly prefix: Prefix;
  /** Sent to internal peers only; internal peers get 100 when unset (RFC 4271 §5.1.5). */
  readonly localPref?: number;
  /** (high << 16) | low, RFC 1997. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

/** Everything about a session that shapes the UPDATEs it is sent. */
export interface ExportPolicy {
  /** iBGP (same AS): LOCAL_PREF, empty AS_PATH. */
  readonly internal: boolean;
  readonly myASN: number;
  /** Families negotiated with the peer (RFC 4760); routes of the others are not sent. */
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** NEXT_HOP of IPv4 prefixes, MP_REACH next hop of IPv6 prefixes; undefined = cannot announce that family. */
  readonly nextHop4?: bigint;
  readonly nextHop6?: bigint;
  readonly codec: CodecContext;
}

const LOCAL_PREF_DEFAULT = 100;

/**
 * The next hop for `family`: the local address of the connection when it is of that family (and
 * not IPv6 link-local, which a router could not use off-link), else the configured one.
 */
export function nextHopFor(family: 4 | 6, localAddress: string | undefined, configured: string | undefined): bigint | undefined {
  if (localAddress) {
    try {
      const a = parseIP(localAddress);
      if (a.family === family && !(family === 6 && a.value >> 118n === 0x3fan)) return a.value;
    } catch {
      /* fall through */
    }
  }
  if (!configured) return undefined;
  const a = parseIP(configured);
  return a.family === family ? a.value : undefined;
}

/** The policy towards one peer: the session's ASNs and next hops, what the OPENs settled, our end of the connection. */
export function sessionPolicy(
  o: { readonly myASN: number; readonly peerASN: number; readonly ipv4NextHop?: string; readonly ipv6NextHop?: string },
  n: Negotiated,
  localAddress: string | undefined,
): ExportPolicy {
  return {
    internal: o.myASN === o.peerASN,
    myASN: o.myASN,
    ipv4: n.families.has(familyKey(Afi.IPv4, Safi.Unicast)),
    ipv6: n.families.has(familyKey(Afi.IPv6, Safi.Unicast)),
    nextHop4: nextHopFor(4, localAddress, o.ipv4NextHop),
    nextHop6: nextHopFor(6, localAddress, o.ipv6NextHop),
    codec: { fourOctetAS: n.fourOctetAS },
  };
}

/** Groups routes whose UPDATEs may share a message: equal keys = equal attributes towards this peer. */
export function attributeKey(r: Route, internal: boolean): string {
  const lp = internal ? (r.localPref ?? LOCAL_PREF_DEFAULT) : undefined;
  const comm = [...r.communities].sort((a, b) => a - b).join(',');
  const large = r.largeCommunities.map((c) => `${c.global}:${c.local1}:${c.local2}`).sort().join(',');
  return `${lp ?? ''}|${comm}|${large}`;
}

/** The path attributes of `r` towards the peer (MP_REACH_NLRI is added by the UPDATE builder). */
export function pathAttributes(r: Route, p: ExportPolicy): PathAttribute[] {
  const attrs: PathAttribute[] = [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: p.internal ? [] : [{ type: AsPathSegmentType.AsSequence, asns: [p.myASN] }] },
  ];
  if (p.nextHop4 !== undefined) attrs.push({ kind: 'next-hop', addr: p.nextHop4 });
  if (p.internal) attrs.push({ kind: 'local-pref', value: r.localPref ?? LOCAL_PREF_DEFAULT });
  if (r.communities.length > 0) attrs.push({ kind: 'communities', values: [...new Set(r.communities)].sort((a, b) => a - b) });
  if (r.largeCommunities.length > 0) attrs.push({ kind: 'large-communities', values: [...r.largeCommunities] });
  return attrs;
}

/** Whether the peer takes routes of this prefix's family at all. */
export function familyExported(prefix: Prefix, p: ExportPolicy): boolean {
  return prefix.family === 4 ? p.ipv4 : p.ipv6;
}

/** Whether a route of this family can be announced: it needs a next hop of its family. */
export function hasNextHop(prefix: Prefix, p: ExportPolicy): boolean {
  return (prefix.family === 4 ? p.nextHop4 : p.nextHop6) !== undefined;
}
