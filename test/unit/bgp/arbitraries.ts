// fast-check arbitraries for every message, capability and attribute. Values stay inside what
// a successful decode can return, so decode(encode(m)) must give m back.
import fc from 'fast-check';
import { BITS, type Family, hostMask } from '../../../src/ipam/address';
import type {
  AsPathSegment,
  BgpMessage,
  Capability,
  CodecContext,
  MpNextHop,
  PathAttribute,
  Prefix,
  UpdateMessage,
} from '../../../src/protocol/bgp';
import { typeCodeOf } from '../../../src/protocol/bgp';

export const CONTEXTS: readonly CodecContext[] = [{ fourOctetAS: true }, { fourOctetAS: false }];

/** Records with an ordinary prototype, so decoded values compare strictly equal. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength: number, size?: fc.SizeForArbitrary) => fc.uint8Array({ maxLength, size }).map((a) => Buffer.from(a));

/** An AS number the context can carry without AS_TRANS. */
export const asn = (ctx: CodecContext) => (ctx.fourOctetAS ? u32 : u16);

export function prefix(family: Family): fc.Arbitrary<Prefix> {
  const bits = BITS[family];
  return fc
    .tuple(fc.integer({ min: 0, max: bits }), fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }))
    .map(([length, a]) => ({ family, addr: a & ~hostMask(family, length), length }));
}

export const anyPrefix = fc.oneof(prefix(4), prefix(6));

/** Unicast IPv4 a NEXT_HOP may carry (not 0.0.0.0, not class D/E). */
const unicast4 = fc.integer({ min: 1, max: 0xdfffffff }).map(BigInt);
const address6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

const KNOWN_CAPABILITY_CODES = new Set([1, 2, 64, 65, 70]);

export const capability: fc.Arbitrary<Capability> = fc.oneof(
  record({ kind: fc.constant('multiprotocol' as const), afi: u16, safi: u8 }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  record({ kind: fc.constant('four-octet-as' as const), asn: fc.integer({ min: 1, max: 0xffffffff }) }),
  record({
    kind: fc.constant('graceful-restart' as const),
    restartFlags: fc.integer({ min: 0, max: 0xf }),
    restartTime: fc.integer({ min: 0, max: 0xfff }),
    families: fc.array(record({ afi: u16, safi: u8, flags: u8 }), { maxLength: 5 }),
  }),
  record({
    kind: fc.constant('unknown' as const),
    code: u8.filter((c) => !KNOWN_CAPABILITY_CODES.has(c)),
    data: bytes(20),
  }),
);

export const openMessage = record({
  kind: fc.constant('open' as const),
  version: fc.constant(4),
  myAS: fc.integer({ min: 1, max: 0xffff }),
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpIdentifier: fc.integer({ min: 1, max: 0xffffffff }),
  capabilities: fc.array(capability, { maxLength: 8 }),
});

const segments = (asnArb: fc.Arbitrary<number>, types: number[]): fc.Arbitrary<AsPathSegment[]> =>
  fc.array(record({ type: fc.constantFrom(...types), asns: fc.array(asnArb, { minLength: 1, maxLength: 10 }) }), {
    maxLength: 4,
  });

/** Adds `partial: true` on some values, as an optional transitive attribute may carry it. */
function maybePartial<A extends PathAttribute>(arb: fc.Arbitrary<A>): fc.Arbitrary<A> {
  return fc.tuple(arb, fc.boolean()).map(([a, partial]) => (partial ? { ...a, partial: true } : a));
}

const nextHop: fc.Arbitrary<MpNextHop> = fc.oneof(
  record({ family: fc.constant(4 as const), addr: unicast4 }),
  record({ family: fc.constant(6 as const), global: address6 }),
  record({ family: fc.constant(6 as const), global: address6, linkLocal: address6 }),
);

const afiFamily = fc.constantFrom({ afi: 1, family: 4 as const }, { afi: 2, family: 6 as const });

/** Type codes no codec claims, kept raw. */
const rawTypeCode = fc.integer({ min: 0, max: 255 }).filter((t) => ![1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 17, 18, 32].includes(t));

/** One arbitrary per attribute kind. */
export function attributeArbitraries(ctx: CodecContext): Record<PathAttribute['kind'], fc.Arbitrary<PathAttribute>> {
  return {
    'origin': record({ kind: fc.constant('origin' as const), value: fc.integer({ min: 0, max: 2 }) }),
    'as-path': record({ kind: fc.constant('as-path' as const), segments: segments(asn(ctx), [1, 2, 3, 4]) }),
    'next-hop': record({ kind: fc.constant('next-hop' as const), addr: unicast4 }),
    'multi-exit-disc': record({ kind: fc.constant('multi-exit-disc' as const), value: u32 }),
    'local-pref': record({ kind: fc.constant('local-pref' as const), value: u32 }),
    'atomic-aggregate': fc.constant({ kind: 'atomic-aggregate' as const }),
    'aggregator': maybePartial(record({ kind: fc.constant('aggregator' as const), asn: asn(ctx), addr: u32.map(BigInt) })),
    'communities': maybePartial(
      record({ kind: fc.constant('communities' as const), values: fc.array(u32, { minLength: 1, maxLength: 10 }) }),
    ),
    'mp-reach-nlri': afiFamily.chain(({ afi, family }) =>
      record({
        kind: fc.constant('mp-reach-nlri' as const),
        afi: fc.constant(afi),
        safi: fc.constant(1),
        nextHop,
        nlri: fc.array(prefix(family), { maxLength: 10 }),
      }),
    ),
    'mp-unreach-nlri': afiFamily.chain(({ afi, family }) =>
      record({
        kind: fc.constant('mp-unreach-nlri' as const),
        afi: fc.constant(afi),
        safi: fc.constant(1),
        withdrawn: fc.array(prefix(family), { maxLength: 10 }),
      }),
    ),
    'as4-path': maybePartial(record({ kind: fc.constant('as4-path' as const), segments: segments(u32, [1, 2]) })),
    'as4-aggregator': maybePartial(record({ kind: fc.constant('as4-aggregator' as const), asn: u32, addr: u32.map(BigInt) })),
    'large-communities': maybePartial(
      record({
        kind: fc.constant('large-communities' as const),
        values: fc.array(record({ global: u32, local1: u32, local2: u32 }), { minLength: 1, maxLength: 5 }),
      }),
    ),
    'raw': record({
      kind: fc.constant('raw' as const),
      typeCode: rawTypeCode,
      flags: fc.constantFrom(0x80, 0xa0, 0xc0, 0xe0),
      // Full range, so values past 255 octets exercise Extended Length.
      value: bytes(300, 'max'),
    }),
  };
}

export const pathAttribute = (ctx: CodecContext): fc.Arbitrary<PathAttribute> => fc.oneof(...Object.values(attributeArbitraries(ctx)));

/** Adds ORIGIN, AS_PATH and NEXT_HOP where the routes carried require them (RFC 4271 §5). */
export function withMandatory(u: UpdateMessage): UpdateMessage {
  const has = (kind: PathAttribute['kind']) => u.attributes.some((a) => a.kind === kind);
  const reach = u.nlri.length > 0 || has('mp-reach-nlri');
  const extra: PathAttribute[] = [];
  if (reach && !has('origin')) extra.push({ kind: 'origin', value: 0 });
  if (reach && !has('as-path')) extra.push({ kind: 'as-path', segments: [] });
  if (u.nlri.length > 0 && !has('next-hop')) extra.push({ kind: 'next-hop', addr: 0xc0000201n });
  return { ...u, attributes: [...extra, ...u.attributes] };
}

export const updateMessage = (ctx: CodecContext): fc.Arbitrary<UpdateMessage> =>
  fc
    .record({
      kind: fc.constant('update' as const),
      withdrawn: fc.array(prefix(4), { maxLength: 20 }),
      attributes: fc.uniqueArray(pathAttribute(ctx), { maxLength: 8, selector: typeCodeOf }),
      nlri: fc.array(prefix(4), { maxLength: 20 }),
    })
    .map(withMandatory);

export const notificationMessage = record({
  kind: fc.constant('notification' as const),
  code: u8,
  subcode: u8,
  data: bytes(60),
});

export const routeRefreshMessage = record({ kind: fc.constant('route-refresh' as const), afi: u16, safi: u8, subtype: u8 });

export const keepaliveMessage = fc.constant({ kind: 'keepalive' as const });

export const bgpMessage = (ctx: CodecContext): fc.Arbitrary<BgpMessage> =>
  fc.oneof(openMessage, updateMessage(ctx), notificationMessage, routeRefreshMessage, keepaliveMessage);
