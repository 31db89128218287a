import fc from 'fast-check';
import {
  AS_TRANS,
  type AsPathSegment,
  BgpDecodeError,
  type BgpMessage,
  type CodecContext,
  decode,
  encode,
  type MpUnreachNlriAttribute,
  type PathAttribute,
  type UpdateMessage,
} from '../../../src/protocol/bgp';
import { BITS, hostMask } from '../../../src/ipam/address';
import { frame, updateBody } from './bytes';
import {
  attributeArbitraries,
  bgpMessage,
  capability,
  CONTEXTS,
  keepaliveMessage,
  notificationMessage,
  openMessage,
  routeRefreshMessage,
  updateMessage,
  withMandatory,
} from './arbitraries';

function roundTrip(m: BgpMessage, ctx: CodecContext): BgpMessage | BgpDecodeError {
  const wire = encode(m, ctx);
  expect(wire.length).toBeLessThanOrEqual(4096);
  return decode(wire, ctx);
}

const ctxName = (ctx: CodecContext) => (ctx.fourOctetAS ? '4-octet AS' : '2-octet AS');

describe.each(CONTEXTS)('round trip with %p', (ctx) => {
  const cases: Array<[string, fc.Arbitrary<BgpMessage>]> = [
    ['OPEN', openMessage],
    ['UPDATE', updateMessage(ctx)],
    ['NOTIFICATION', notificationMessage],
    ['KEEPALIVE', keepaliveMessage],
    ['ROUTE-REFRESH', routeRefreshMessage],
  ];
  it.each(cases)(`decode(encode(m)) returns every %s (${ctxName(ctx)})`, (_name, arb) => {
    fc.assert(fc.property(arb, (m) => expect(roundTrip(m, ctx)).toStrictEqual(m)), { numRuns: 300 });
  });

  it.each(Object.entries(attributeArbitraries(ctx)))('keeps the %s attribute intact', (_kind, arb) => {
    fc.assert(
      fc.property(arb, (a) => {
        const m = withMandatory({ kind: 'update', withdrawn: [], attributes: [a], nlri: [] });
        expect(roundTrip(m, ctx)).toStrictEqual(m);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every capability intact, however many parameters they need', () => {
    fc.assert(
      fc.property(fc.array(capability, { maxLength: 8 }), (caps) => {
        const m: BgpMessage = { kind: 'open', version: 4, myAS: 65001, holdTime: 90, bgpIdentifier: 1, capabilities: caps };
        expect(roundTrip(m, ctx)).toStrictEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes the same message to the same bytes twice', () => {
    fc.assert(
      fc.property(bgpMessage(ctx), (m) => {
        const again = decode(encode(m, ctx), ctx);
        expect(again).not.toBeInstanceOf(BgpDecodeError);
        expect(encode(again as BgpMessage, ctx)).toEqual(encode(m, ctx));
      }),
      { numRuns: 300 },
    );
  });
});

describe('4-octet AS numbers towards a 2-octet peer (RFC 6793 §4.2.2)', () => {
  const two: CodecContext = { fourOctetAS: false };
  const bigAsn = fc.integer({ min: 0x10000, max: 0xffffffff });
  const anyAsn = fc.oneof(fc.integer({ min: 0, max: 0xffff }), bigAsn);
  const segment = (types: number[]) =>
    fc.record({ type: fc.constantFrom(...types), asns: fc.array(anyAsn, { minLength: 1, maxLength: 8 }) });
  const toTrans = (s: AsPathSegment): AsPathSegment => ({ type: s.type, asns: s.asns.map((a) => (a > 0xffff ? AS_TRANS : a)) });
  const find = <K extends PathAttribute['kind']>(m: UpdateMessage, kind: K) =>
    m.attributes.find((a): a is Extract<PathAttribute, { kind: K }> => a.kind === kind);

  it('sends AS_TRANS in AS_PATH and the real path, without confederations, in AS4_PATH', () => {
    fc.assert(
      fc.property(fc.array(segment([1, 2, 3, 4]), { minLength: 1, maxLength: 4 }), bigAsn, (segments, extra) => {
        const path = [...segments, { type: 2, asns: [extra] }];
        const m = withMandatory({ kind: 'update', withdrawn: [], attributes: [{ kind: 'as-path', segments: path }], nlri: [] });
        const got = roundTrip(m, two) as UpdateMessage;
        expect(find(got, 'as-path')?.segments).toEqual(path.map(toTrans));
        expect(find(got, 'as4-path')?.segments).toEqual(path.filter((s) => s.type <= 2));
      }),
    );
  });

  it('adds no AS4_PATH when every AS fits 2 octets', () => {
    const m = withMandatory({ kind: 'update', withdrawn: [], attributes: [{ kind: 'as-path', segments: [{ type: 2, asns: [65001] }] }], nlri: [] });
    expect((roundTrip(m, two) as UpdateMessage).attributes.map((a) => a.kind)).not.toContain('as4-path');
  });

  it('sends AGGREGATOR with AS_TRANS and the real AS in AS4_AGGREGATOR', () => {
    fc.assert(
      fc.property(bigAsn, (asn) => {
        const m: UpdateMessage = { kind: 'update', withdrawn: [], attributes: [{ kind: 'aggregator', asn, addr: 0xc0000201n }], nlri: [] };
        const got = roundTrip(m, two) as UpdateMessage;
        expect(got.attributes).toEqual([
          { kind: 'aggregator', asn: AS_TRANS, addr: 0xc0000201n },
          { kind: 'as4-aggregator', asn, addr: 0xc0000201n },
        ]);
      }),
    );
  });

  it('puts AS_TRANS in My AS of an OPEN for an AS above 65535', () => {
    const m: BgpMessage = { kind: 'open', version: 4, myAS: 4200000000, holdTime: 90, bgpIdentifier: 1, capabilities: [] };
    expect(roundTrip(m, two)).toMatchObject({ myAS: AS_TRANS });
  });
});

describe('prefixes', () => {
  /** Decodes one withdrawn prefix from its wire octets: IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH_NLRI. */
  function decodeWithdrawn(family: 4 | 6, nlri: Buffer) {
    if (family === 4) return (decode(frame(2, updateBody(nlri.toString('hex'), '')), CONTEXTS[0]) as UpdateMessage).withdrawn[0];
    const value = Buffer.concat([Buffer.from([0, 2, 1]), nlri]);
    const attr = Buffer.concat([Buffer.from([0x80, 15, value.length]), value]).toString('hex');
    const got = decode(frame(2, updateBody('', attr)), CONTEXTS[0]) as UpdateMessage;
    return (got.attributes[0] as MpUnreachNlriAttribute).withdrawn[0];
  }

  it('decodes any prefix octets to the network address, host bits cleared', () => {
    const input = fc
      .constantFrom(4 as const, 6 as const)
      .chain((family) =>
        fc.tuple(fc.constant(family), fc.integer({ min: 0, max: BITS[family] }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
      );
    fc.assert(
      fc.property(input, ([family, length, bytes]) => {
        const raw = Buffer.from(bytes.subarray(0, Math.ceil(length / 8)));
        const padded = Buffer.concat([raw, Buffer.alloc(BITS[family] / 8 - raw.length)]);
        const network = BigInt(`0x${padded.toString('hex')}`) & ~hostMask(family, length);
        expect(decodeWithdrawn(family, Buffer.concat([Buffer.from([length]), raw]))).toEqual({ family, addr: network, length });
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes host bits past the prefix length as zero (RFC 4271 §4.3)', () => {
    const m: UpdateMessage = { kind: 'update', withdrawn: [{ family: 4, addr: 0x0a0102ffn, length: 20 }], attributes: [], nlri: [] };
    expect(roundTrip(m, CONTEXTS[0])).toMatchObject({ withdrawn: [{ family: 4, addr: 0x0a010000n, length: 20 }] });
  });
});
