// Every decode error path, with the NOTIFICATION code/subcode/data and RFC 7606 handling it yields.
import {
  BgpDecodeError,
  type DecodeContext,
  decode,
  ErrorCode,
  type ErrorHandling,
  MessageHeaderSubcode as H,
  OpenSubcode as O,
  RouteRefreshSubcode,
  UpdateSubcode as U,
  type UpdateMessage,
} from '../../../src/protocol/bgp';
import { frame, hex, MANDATORY_4, MARKER, updateBody } from './bytes';

const FOUR: DecodeContext = { fourOctetAS: true };
const TWO: DecodeContext = { fourOctetAS: false };

interface Row {
  readonly desc: string;
  readonly wire: Buffer;
  readonly ctx?: DecodeContext;
  readonly code: number;
  readonly subcode: number;
  /** Hex of the expected NOTIFICATION data; omitted means empty. */
  readonly data?: string;
  readonly handling?: ErrorHandling;
}

function expectError(r: Row): void {
  const got = decode(r.wire, r.ctx ?? FOUR);
  expect(got).toBeInstanceOf(BgpDecodeError);
  const e = got as BgpDecodeError;
  expect({ code: e.code, subcode: e.subcode, data: e.data.toString('hex'), handling: e.handling, cause: e.cause }).toEqual({
    code: r.code,
    subcode: r.subcode,
    data: hex(r.data ?? '').toString('hex'),
    handling: r.handling ?? 'session-reset',
    cause: undefined,
  });
}

const run = (rows: Row[]) => it.each(rows.map((r) => [r.desc, r] as const))('%s', (_d, r) => expectError(r));

describe('message header errors (RFC 4271 §6.1)', () => {
  const hdr = (subcode: number, desc: string, wire: Buffer, data?: string): Row => ({ desc, wire, code: ErrorCode.MessageHeader, subcode, data });
  run([
    hdr(H.ConnectionNotSynchronized, 'marker not all ones', hex(`fe${'ff'.repeat(15)} 0013 04`)),
    hdr(H.ConnectionNotSynchronized, 'marker broken within a fragment', hex('ffff00')),
    hdr(H.BadMessageLength, 'fewer than 19 octets', hex(`${MARKER} 00`), '0011'),
    hdr(H.BadMessageLength, 'length field below 19', hex(`${MARKER} 0012 04`), '0012'),
    hdr(H.BadMessageLength, 'length field above 4096', hex(`${MARKER} 1001 04`), '1001'),
    hdr(H.BadMessageLength, 'length field disagrees with the octets present', hex(`${MARKER} 0014 04`), '0014'),
    hdr(H.BadMessageType, 'type 0', frame(0), '00'),
    hdr(H.BadMessageType, 'type 6', frame(6), '06'),
    hdr(H.BadMessageLength, 'KEEPALIVE with a body', frame(4, '00'), '0014'),
    hdr(H.BadMessageLength, 'OPEN shorter than 29', frame(1, '04 fde9 005a 0a000001'), '001c'),
    hdr(H.BadMessageLength, 'UPDATE shorter than 23', frame(2, '0000'), '0015'),
    hdr(H.BadMessageLength, 'NOTIFICATION shorter than 21', frame(3, '06'), '0014'),
  ]);
});

interface OpenFields {
  version?: string;
  as?: string;
  hold?: string;
  id?: string;
  params?: string;
  /** Overrides the optional parameters length octet. */
  paramsLength?: string;
}

function open(f: OpenFields = {}): Buffer {
  const params = hex(f.params ?? '02 06 41 04 0000fde9');
  const length = f.paramsLength ?? params.length.toString(16).padStart(2, '0');
  return frame(1, Buffer.concat([hex(`${f.version ?? '04'} ${f.as ?? 'fde9'} ${f.hold ?? '005a'} ${f.id ?? '0a000001'} ${length}`), params]));
}

describe('OPEN message errors (RFC 4271 §6.2)', () => {
  const err = (subcode: number, desc: string, wire: Buffer, ctx?: DecodeContext, data?: string): Row => ({
    desc,
    wire,
    ctx,
    code: ErrorCode.OpenMessage,
    subcode,
    data,
  });
  run([
    err(O.UnsupportedVersionNumber, 'version 3, answered with version 4', open({ version: '03' }), FOUR, '0004'),
    err(O.UnsupportedVersionNumber, 'version 5', open({ version: '05' }), FOUR, '0004'),
    err(O.BadPeerAS, 'My AS 0 (RFC 7607)', open({ as: '0000', params: '' })),
    err(O.BadPeerAS, '4-octet AS capability with AS 0 (RFC 7607)', open({ params: '02 06 41 04 00000000' })),
    err(O.BadPeerAS, 'AS other than the configured peer AS', open(), { ...FOUR, peerAS: 65002 }),
    err(O.BadPeerAS, '4-octet AS other than the configured one', open({ as: '5ba0', params: '02 06 41 04 fa56ea01' }), {
      ...FOUR,
      peerAS: 4200000002,
    }),
    err(O.UnacceptableHoldTime, 'hold time 1', open({ hold: '0001' })),
    err(O.UnacceptableHoldTime, 'hold time 2', open({ hold: '0002' })),
    err(O.BadBgpIdentifier, 'identifier 0 (RFC 6286 §2.2)', open({ id: '00000000' })),
    err(O.BadBgpIdentifier, 'internal peer with our identifier', open(), { ...FOUR, localAS: 65001, localIdentifier: 0x0a000001 }),
    err(O.UnsupportedOptionalParameter, 'authentication parameter (type 1)', open({ params: '01 01 00' })),
    err(O.UnsupportedOptionalParameter, 'RFC 9072 extended parameters (type 255)', open({ params: 'ff 00 02 02 00' })),
    err(O.Unspecific, 'parameters length past the message', open({ params: '', paramsLength: '05' })),
    err(O.Unspecific, 'octets after the parameters', open({ params: '00', paramsLength: '00' })),
    err(O.Unspecific, 'parameter overruns the parameters', open({ params: '02 08 41 04 0000fde9' })),
    err(O.Unspecific, 'truncated parameter header', open({ params: '02' })),
    err(O.Unspecific, 'capability overruns its parameter', open({ params: '02 04 41 04 0000' })),
    err(O.Unspecific, 'truncated capability header', open({ params: '02 01 41' })),
    err(O.Unspecific, '4-octet AS capability of 2 octets', open({ params: '02 04 41 02 fde9' })),
    err(O.Unspecific, 'multiprotocol capability of 3 octets', open({ params: '02 05 01 03 000100' })),
    err(O.Unspecific, 'route refresh capability with a value', open({ params: '02 03 02 01 00' })),
    err(O.Unspecific, 'enhanced route refresh capability with a value', open({ params: '02 03 46 01 00' })),
    err(O.Unspecific, 'graceful restart with a ragged family list', open({ params: '02 05 40 03 0078 00' })),
    err(O.Unspecific, 'graceful restart of 1 octet', open({ params: '02 03 40 01 00' })),
  ]);

  it.each([
    ['hold time 0', open({ hold: '0000' }), FOUR],
    ['hold time 3', open({ hold: '0003' }), FOUR],
    ['external peer with our identifier', open(), { ...FOUR, localAS: 65000, localIdentifier: 0x0a000001 }],
    ['configured 4-octet peer AS behind AS_TRANS', open({ as: '5ba0', params: '02 06 41 04 fa56ea01' }), { ...FOUR, peerAS: 4200000001 }],
    ['no optional parameters', open({ params: '' }), { ...FOUR, peerAS: 65001 }],
    ['an empty capabilities parameter', open({ params: '02 00' }), FOUR],
  ])('accepts %s', (_d, wire, ctx) => {
    expect(decode(wire, ctx)).toMatchObject({ kind: 'open' });
  });
});

const NLRI = '18 0a0000';

function update(attributes: string, nlri = '', withdrawn = ''): Buffer {
  return frame(2, updateBody(withdrawn, attributes, nlri));
}

describe('UPDATE message errors (RFC 4271 §6.3, RFC 7606)', () => {
  const err = (subcode: number, handling: ErrorHandling, desc: string, wire: Buffer, data?: string, ctx?: DecodeContext): Row => ({
    desc,
    wire,
    ctx,
    code: ErrorCode.UpdateMessage,
    subcode,
    handling,
    data,
  });
  const reset = 'session-reset';
  const withdraw = 'treat-as-withdraw';
  const discard = 'attribute-discard';
  const disable = 'afi-safi-disable';

  describe('field lengths', () => {
    run([
      err(U.MalformedAttributeList, reset, 'withdrawn routes length past the message', frame(2, '0010 0000')),
      err(U.MalformedAttributeList, reset, 'withdrawn routes leave no room for the attribute length', frame(2, '0002 0000')),
      err(U.MalformedAttributeList, reset, 'total path attribute length past the message', frame(2, '0000 0010')),
      err(U.InvalidNetworkField, reset, 'withdrawn prefix /33', update('', '', '21 0a000000')),
      err(U.InvalidNetworkField, reset, 'truncated withdrawn prefix', update('', '', '18 0a00')),
      err(U.InvalidNetworkField, reset, 'NLRI prefix /33', update(MANDATORY_4, '21 0a000000 00')),
      err(U.InvalidNetworkField, reset, 'truncated NLRI prefix', update(MANDATORY_4, '18 0a')),
    ]);
  });

  describe('attribute list', () => {
    run([
      err(U.AttributeLengthError, withdraw, 'attribute overruns the list (RFC 7606 §4)', update('40 01 05 00'), '40010500'),
      err(U.AttributeLengthError, withdraw, 'extended-length attribute overruns the list', update('50 01 0100 00'), '5001010000'),
      err(U.MalformedAttributeList, withdraw, 'truncated attribute header', update('40 01')),
      err(U.MalformedAttributeList, withdraw, 'truncated extended-length header', update('50 01 00')),
      err(U.MalformedAttributeList, discard, 'repeated ORIGIN (RFC 7606 §3 g)', update('40 01 01 00 40 01 01 01')),
      err(U.MalformedAttributeList, reset, 'repeated MP_UNREACH_NLRI', update('80 0f 03 0002 01 80 0f 03 0002 01')),
      err(U.UnrecognizedWellKnownAttribute, reset, 'unrecognised well-known attribute', update('40 63 01 00'), '40630100'),
      err(U.MissingWellKnownAttribute, withdraw, 'NLRI without ORIGIN', update('40 02 06 02 01 0000fde9 40 03 04 c0000201', NLRI), '01'),
      err(U.MissingWellKnownAttribute, withdraw, 'NLRI without AS_PATH', update('40 01 01 00 40 03 04 c0000201', NLRI), '02'),
      err(U.MissingWellKnownAttribute, withdraw, 'NLRI without NEXT_HOP', update('40 01 01 00 40 02 00', NLRI), '03'),
      err(U.MissingWellKnownAttribute, withdraw, 'MP_REACH_NLRI without ORIGIN', update('40 02 00 80 0e 09 0001 01 04 c0000201 00'), '01'),
    ]);
  });

  describe('attribute flags (RFC 4271 §6.3, RFC 7606 §3 c)', () => {
    run([
      err(U.AttributeFlagsError, withdraw, 'ORIGIN marked optional', update('c0 01 01 00'), 'c0010100'),
      err(U.AttributeFlagsError, withdraw, 'AS_PATH not transitive', update('00 02 00'), '000200'),
      err(U.AttributeFlagsError, withdraw, 'NEXT_HOP marked partial', update('60 03 04 c0000201'), '600304c0000201'),
      err(U.AttributeFlagsError, withdraw, 'MULTI_EXIT_DISC marked transitive', update('c0 04 04 00000000'), 'c00404' + '00000000'),
      err(U.AttributeFlagsError, withdraw, 'COMMUNITIES not transitive', update('80 08 04 00000000'), '80080400000000'),
      err(U.AttributeFlagsError, disable, 'MP_UNREACH_NLRI marked partial', update('a0 0f 03 0002 01'), 'a00f03000201'),
      err(U.AttributeFlagsError, discard, 'AS4_PATH not transitive', update('80 11 00'), '801100'),
    ]);
  });

  describe('attribute lengths', () => {
    run([
      err(U.AttributeLengthError, withdraw, 'ORIGIN of 2 octets', update('40 01 02 0000'), '4001020000'),
      err(U.AttributeLengthError, withdraw, 'NEXT_HOP of 5 octets', update('40 03 05 c000020100'), '400305c000020100'),
      err(U.AttributeLengthError, withdraw, 'MULTI_EXIT_DISC of 3 octets', update('80 04 03 000000'), '800403000000'),
      err(U.AttributeLengthError, withdraw, 'LOCAL_PREF of 5 octets', update('40 05 05 0000000000'), '4005050000000000'),
      err(U.AttributeLengthError, discard, 'ATOMIC_AGGREGATE of 1 octet', update('40 06 01 00'), '40060100'),
      err(U.AttributeLengthError, discard, 'AGGREGATOR of 8 octets on a 2-octet session', update('c0 07 08 0000fde9 c0000201'), 'c007080000fde9c0000201', TWO),
      err(U.AttributeLengthError, discard, 'AGGREGATOR of 6 octets on a 4-octet session', update('c0 07 06 fde9 c0000201'), 'c00706fde9c0000201'),
      err(U.AttributeLengthError, discard, 'AS4_AGGREGATOR of 6 octets', update('c0 12 06 fde9 c0000201'), 'c01206fde9c0000201'),
      err(U.AttributeLengthError, withdraw, 'COMMUNITIES of 5 octets', update('c0 08 05 0000000000'), 'c008050000000000'),
      err(U.AttributeLengthError, withdraw, 'empty COMMUNITIES', update('c0 08 00'), 'c00800'),
      err(U.AttributeLengthError, withdraw, 'LARGE_COMMUNITY of 13 octets', update(`c0 20 0d ${'00'.repeat(13)}`), `c0200d${'00'.repeat(13)}`),
      err(U.AttributeLengthError, reset, 'MP_REACH_NLRI too short for AFI/SAFI', update('80 0e 02 0002'), '800e020002'),
      err(U.AttributeLengthError, reset, 'MP_UNREACH_NLRI too short for AFI/SAFI', update('80 0f 01 00'), '800f0100'),
    ]);
  });

  describe('attribute values', () => {
    run([
      err(U.InvalidOrigin, withdraw, 'ORIGIN 3', update('40 01 01 03'), '40010103'),
      err(U.InvalidNextHop, withdraw, 'NEXT_HOP 0.0.0.0', update('40 03 04 00000000'), '40030400000000'),
      err(U.InvalidNextHop, withdraw, 'NEXT_HOP 224.0.0.1', update('40 03 04 e0000001'), '400304e0000001'),
      err(U.InvalidNextHop, withdraw, 'NEXT_HOP 255.255.255.255', update('40 03 04 ffffffff'), '400304ffffffff'),
      err(U.MalformedAsPath, withdraw, 'AS_PATH segment type 5', update('40 02 06 05 01 0000fde9'), '40020605010000fde9'),
      err(U.MalformedAsPath, withdraw, 'AS_PATH segment type 0', update('40 02 06 00 01 0000fde9'), '40020600010000fde9'),
      err(U.MalformedAsPath, withdraw, 'empty AS_PATH segment (RFC 7606 §7.2)', update('40 02 02 02 00'), '4002020200'),
      err(U.MalformedAsPath, withdraw, 'AS_PATH segment overruns', update('40 02 06 02 02 0000fde9'), '40020602020000fde9'),
      err(U.MalformedAsPath, withdraw, 'lone octet after an AS_PATH segment', update('40 02 07 02 01 0000fde9 02'), '40020702010000fde902'),
      err(U.MalformedAsPath, withdraw, '2-octet AS_PATH on a 4-octet session', update('40 02 04 02 01 fde9'), '4002040201fde9'),
      err(U.MalformedAsPath, withdraw, '4-octet AS_PATH on a 2-octet session', update('40 02 06 02 01 0000fde9'), '40020602010000fde9', TWO),
      err(U.OptionalAttributeError, discard, 'malformed AS4_PATH (RFC 6793 §6)', update('c0 11 06 02 02 0000fde9'), 'c0110602020000fde9'),
      err(U.OptionalAttributeError, disable, 'MP_REACH_NLRI next hop of 5 octets', update(`40 01 01 00 40 02 00 80 0e 0a 0002 01 05 ${'00'.repeat(5)} 00`), `800e0a00020105${'00'.repeat(6)}`),
      err(U.OptionalAttributeError, disable, 'MP_REACH_NLRI next hop overruns', update('40 01 01 00 40 02 00 80 0e 05 0002 01 10 00'), '800e050002011000'),
      err(U.OptionalAttributeError, disable, 'MP_REACH_NLRI without next hop length', update('40 01 01 00 40 02 00 80 0e 03 0002 01'), '800e03000201'),
      err(U.OptionalAttributeError, disable, 'MP_REACH_NLRI prefix /129', update(`40 01 01 00 40 02 00 80 0e 16 0002 01 10 ${'20'.repeat(16)} 00 81`), `800e1600020110${'20'.repeat(16)}0081`),
      err(U.OptionalAttributeError, disable, 'truncated MP_UNREACH_NLRI prefix', update('80 0f 05 0002 01 40 20'), '800f050002014020'),
    ]);
  });

  describe('several errors: the strongest handling wins, the first among equals (RFC 7606 §3)', () => {
    run([
      err(U.InvalidOrigin, withdraw, 'bad ATOMIC_AGGREGATE then bad ORIGIN', update('40 06 01 00 40 01 01 07'), '40010107'),
      err(U.InvalidOrigin, withdraw, 'bad ORIGIN then bad NEXT_HOP', update('40 01 01 07 40 03 04 00000000'), '40010107'),
      err(U.InvalidNetworkField, reset, 'bad ORIGIN then bad NLRI', update('40 01 01 07', '21 0a000000 00')),
      err(U.UnrecognizedWellKnownAttribute, reset, 'bad ORIGIN then unrecognised well-known', update('40 01 01 07 40 63 00'), '406300'),
      err(U.MissingWellKnownAttribute, withdraw, 'bad ATOMIC_AGGREGATE and no NEXT_HOP', update('40 01 01 00 40 02 00 40 06 01 00', NLRI), '03'),
    ]);
  });

  it.each([
    ['an optional attribute of unknown type', update('c0 63 02 abcd'), [{ kind: 'raw', typeCode: 99, flags: 0xc0, value: hex('abcd') }]],
    ['an empty AS_PATH (iBGP)', update('40 02 00'), [{ kind: 'as-path', segments: [] }]],
    ['the Partial bit on COMMUNITIES', update('e0 08 04 fde90064'), [{ kind: 'communities', values: [0xfde90064], partial: true }]],
    ['low flag bits set, which are ignored', update('4f 01 01 02'), [{ kind: 'origin', value: 2 }]],
    ['confederation segments in AS4_PATH, which are dropped', update('c0 11 0c 03 01 0000fde9 02 01 0000fdea'), [{ kind: 'as4-path', segments: [{ type: 2, asns: [65002] }] }]],
    ['MP_REACH_NLRI without NEXT_HOP', update('40 01 01 00 40 02 00 80 0e 09 0001 01 04 c0000201 00'), undefined],
  ])('accepts %s', (_d, wire, attributes) => {
    const got = decode(wire, FOUR);
    expect(got).toMatchObject({ kind: 'update' });
    if (attributes) expect((got as UpdateMessage).attributes).toEqual(attributes);
  });
});

describe('ROUTE-REFRESH message errors (RFC 7313 §5)', () => {
  const short = frame(5, '0001 00');
  const long = frame(5, '0001 00 01 00');
  run([
    { desc: 'body of 3 octets', wire: short, code: ErrorCode.RouteRefreshMessage, subcode: RouteRefreshSubcode.InvalidMessageLength, data: short.toString('hex') },
    { desc: 'body of 5 octets', wire: long, code: ErrorCode.RouteRefreshMessage, subcode: RouteRefreshSubcode.InvalidMessageLength, data: long.toString('hex') },
  ]);

  it('accepts an unassigned subtype, which the session ignores', () => {
    expect(decode(frame(5, '0001 03 01'), FOUR)).toEqual({ kind: 'route-refresh', afi: 1, safi: 1, subtype: 3 });
  });
});
