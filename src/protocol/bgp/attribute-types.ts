// The path attributes as values (RFC 4271 §4.3, RFC 1997, RFC 6793, RFC 8092, RFC 4760): one
// interface per known attribute and the unions the codec hands out. Split from attributes.ts so
// that the table of value codecs (attribute-table.ts) and the attribute-list walk (attributes.ts)
// both read one definition; types only, apart from the ORIGIN values.
import type { AsPathSegment } from './as-path';
import type { RawAttribute } from './attribute-codec';
import type { MpReachNlriAttribute, MpUnreachNlriAttribute } from './mp-nlri';

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

export interface KnownAttributes {
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
export type KnownKind = keyof KnownAttributes;
export type KnownAttribute = KnownAttributes[KnownKind];
export type PathAttribute = KnownAttribute | RawAttribute;
