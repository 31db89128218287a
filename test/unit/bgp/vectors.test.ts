// Hand-assembled messages in the shapes real routers send, one field per line.
import {
  BgpDecodeError,
  CeaseSubcode,
  decode,
  encode,
  endOfRib,
  ErrorCode,
  notificationFor,
  notificationName,
  openMessage,
  parsePrefix,
  type BgpMessage,
  type UpdateMessage,
} from '../../../src/protocol/bgp';
import { hex, MARKER } from './bytes';

const FOUR = { fourOctetAS: true };
const TWO = { fourOctetAS: false };

describe('OPEN', () => {
  // FRR 8 style: one capability per optional parameter, with capabilities ironlb does not parse.
  const frrOpen = hex(`
    ${MARKER}
    0066                      # length 102
    01                        # OPEN
    04                        # version
    fde9                      # My AS 65001
    00b4                      # hold time 180
    0a000001                  # BGP identifier 10.0.0.1
    49                        # optional parameters length 73
    02 06 01 04 0001 00 01    # multiprotocol IPv4 unicast
    02 06 01 04 0002 00 01    # multiprotocol IPv6 unicast
    02 02 80 00               # pre-standard route refresh (128)
    02 02 02 00               # route refresh
    02 02 46 00               # enhanced route refresh
    02 06 41 04 0000fde9      # 4-octet AS 65001
    02 06 45 04 0001 01 01    # ADD-PATH (69)
    02 0a 49 08 06 726f75746572 00   # FQDN (73) "router"
    02 04 40 02 c078          # graceful restart: R and N set, 120 s, no families
    02 09 47 07 0001 01 80 000000    # long-lived graceful restart (71)
  `);

  it('decodes every capability, keeping unknown ones byte for byte', () => {
    expect(decode(frrOpen, FOUR)).toStrictEqual({
      kind: 'open',
      version: 4,
      myAS: 65001,
      holdTime: 180,
      bgpIdentifier: 0x0a000001,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'unknown', code: 128, data: Buffer.alloc(0) },
        { kind: 'route-refresh' },
        { kind: 'enhanced-route-refresh' },
        { kind: 'four-octet-as', asn: 65001 },
        { kind: 'unknown', code: 69, data: hex('0001 01 01') },
        { kind: 'unknown', code: 73, data: hex('06 726f75746572 00') },
        { kind: 'graceful-restart', restartFlags: 0xc, restartTime: 120, families: [] },
        { kind: 'unknown', code: 71, data: hex('0001 01 80 000000') },
      ],
    });
  });

  it('encodes ironlb\'s own OPEN with all capabilities in one parameter', () => {
    const m = openMessage({
      asn: 64512,
      holdTime: 90,
      bgpIdentifier: 0xc000020a,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
      ],
    });
    const wire = hex(`
      ${MARKER} 0031 01
      04 fc00 005a c000020a
      14                      # optional parameters length 20
      02 12                   # capabilities parameter, 18 octets
      01 04 0001 00 01
      01 04 0002 00 01
      41 04 0000fc00
    `);
    expect(encode(m, FOUR)).toEqual(wire);
    expect(decode(wire, FOUR)).toStrictEqual(m);
  });

  it('advertises AS_TRANS and the 4-octet capability for a large AS (RFC 6793 §4.1)', () => {
    const m = openMessage({ asn: 4200000001, holdTime: 90, bgpIdentifier: 1 });
    expect(encode(m, TWO).subarray(19)).toEqual(hex('04 5ba0 005a 00000001 08 02 06 41 04 fa56ea01'));
  });

  it('decodes graceful restart families', () => {
    const wire = hex(`${MARKER} 0027 01 04 fde9 005a 0a000001 0a 02 08 40 06 8078 0001 01 80`);
    expect(decode(wire, FOUR)).toMatchObject({
      capabilities: [{ kind: 'graceful-restart', restartFlags: 8, restartTime: 120, families: [{ afi: 1, safi: 1, flags: 0x80 }] }],
    });
  });
});

describe('KEEPALIVE', () => {
  const wire = hex(`${MARKER} 0013 04`);
  it('is the header alone', () => {
    expect(encode({ kind: 'keepalive' }, FOUR)).toEqual(wire);
    expect(decode(wire, FOUR)).toStrictEqual({ kind: 'keepalive' });
  });
});

describe('UPDATE', () => {
  const route = (attributes: UpdateMessage['attributes'], nlri: string[]): UpdateMessage => ({
    kind: 'update',
    withdrawn: [],
    attributes,
    nlri: nlri.map(parsePrefix),
  });

  it('decodes a 2-octet AS route as a pre-RFC 6793 router sends it', () => {
    const wire = hex(`
      ${MARKER} 002d 02
      0000                    # withdrawn routes length
      0012                    # total path attribute length 18
      40 01 01 00             # ORIGIN IGP
      40 02 04 02 01 fde9     # AS_PATH AS_SEQUENCE [65001]
      40 03 04 0a000001       # NEXT_HOP 10.0.0.1
      18 c0a801               # 192.168.1.0/24
    `);
    const m = route(
      [
        { kind: 'origin', value: 0 },
        { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
        { kind: 'next-hop', addr: 0x0a000001n },
      ],
      ['192.168.1.0/24'],
    );
    expect(decode(wire, TWO)).toStrictEqual(m);
    expect(encode(m, TWO)).toEqual(wire);
  });

  it('decodes a 4-octet AS route with MED and communities', () => {
    const wire = hex(`
      ${MARKER} 004a 02
      0000
      002a                    # 42 octets of attributes
      40 01 01 00                          # ORIGIN IGP
      40 02 0a 02 02 0000fde9 0000fdea     # AS_PATH AS_SEQUENCE [65001 65002]
      40 03 04 c0000201                    # NEXT_HOP 192.0.2.1
      80 04 04 00000064                    # MULTI_EXIT_DISC 100
      c0 08 08 fde90064 ffffff01           # COMMUNITIES 65001:100 NO_EXPORT
      20 cb007101                          # 203.0.113.1/32
      18 c63364                            # 198.51.100.0/24
    `);
    const m = route(
      [
        { kind: 'origin', value: 0 },
        { kind: 'as-path', segments: [{ type: 2, asns: [65001, 65002] }] },
        { kind: 'next-hop', addr: 0xc0000201n },
        { kind: 'multi-exit-disc', value: 100 },
        { kind: 'communities', values: [0xfde90064, 0xffffff01] },
      ],
      ['203.0.113.1/32', '198.51.100.0/24'],
    );
    expect(decode(wire, FOUR)).toStrictEqual(m);
    expect(encode(m, FOUR)).toEqual(wire);
  });

  it('decodes an IPv6 route in MP_REACH_NLRI with global and link-local next hops', () => {
    const originAndPath = '40 01 01 00  40 02 06 02 01 0000fde9';
    const mpValue = `
      0002 01                 # AFI IPv6, SAFI unicast
      20                      # next hop length 32
      20010db8000000000000000000000001    # 2001:db8::1
      fe800000000000000000000000000001    # fe80::1
      00                      # reserved
      30 20010db80001         # 2001:db8:1::/48
    `;
    // FRR sets Extended Length on MP_REACH_NLRI whatever its size.
    const frr = hex(`${MARKER} 0054 02 0000 003d ${originAndPath} 90 0e 002c ${mpValue}`);
    // ironlb sets it only when the value needs it.
    const ironlb = hex(`${MARKER} 0053 02 0000 003c ${originAndPath} 80 0e 2c ${mpValue}`);
    const m = route(
      [
        { kind: 'origin', value: 0 },
        { kind: 'as-path', segments: [{ type: 2, asns: [65001] }] },
        {
          kind: 'mp-reach-nlri',
          afi: 2,
          safi: 1,
          nextHop: { family: 6, global: 0x20010db8000000000000000000000001n, linkLocal: 0xfe800000000000000000000000000001n },
          nlri: [parsePrefix('2001:db8:1::/48')],
        },
      ],
      [],
    );
    expect(decode(frr, FOUR)).toStrictEqual(m);
    expect(encode(m, FOUR)).toEqual(ironlb);
  });

  it('decodes an IPv6 withdrawal in MP_UNREACH_NLRI', () => {
    const wire = hex(`${MARKER} 0024 02 0000 000d 80 0f 0a 0002 01 30 20010db80001`);
    const m = route([{ kind: 'mp-unreach-nlri', afi: 2, safi: 1, withdrawn: [parsePrefix('2001:db8:1::/48')] }], []);
    expect(decode(wire, FOUR)).toStrictEqual(m);
    expect(encode(m, FOUR)).toEqual(wire);
  });

  it('encodes End-of-RIB markers (RFC 4724 §2)', () => {
    expect(encode(endOfRib(1, 1), FOUR)).toEqual(hex(`${MARKER} 0017 02 0000 0000`));
    expect(encode(endOfRib(2, 1), FOUR)).toEqual(hex(`${MARKER} 001d 02 0000 0006 80 0f 03 0002 01`));
  });

  it('keeps attributes it does not parse, flags included', () => {
    const wire = hex(`
      ${MARKER} 0024 02 0000 000d
      80 09 04 0a000001       # ORIGINATOR_ID (9)
      80 0f 03 0001 80        # MP_UNREACH_NLRI for VPNv4 (SAFI 128): an End-of-RIB
    `);
    const m = route(
      [
        { kind: 'raw', typeCode: 9, flags: 0x80, value: hex('0a000001') },
        { kind: 'raw', typeCode: 15, flags: 0x80, value: hex('0001 80') },
      ],
      [],
    );
    expect(decode(wire, FOUR)).toStrictEqual(m);
    expect(encode(m, FOUR)).toEqual(wire);
  });
});

describe('NOTIFICATION', () => {
  it.each([
    ['Cease / Administrative Shutdown', `${MARKER} 0015 03 06 02`, ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown, ''],
    ['Hold Timer Expired', `${MARKER} 0015 03 04 00`, ErrorCode.HoldTimerExpired, 0, ''],
    ['OPEN / Unsupported Version Number', `${MARKER} 0017 03 02 01 0004`, ErrorCode.OpenMessage, 1, '0004'],
  ])('%s', (_desc, text, code, subcode, data) => {
    const m: BgpMessage = { kind: 'notification', code, subcode, data: hex(data) };
    expect(decode(hex(text), FOUR)).toStrictEqual(m);
    expect(encode(m, FOUR)).toEqual(hex(text));
  });

  it('is what a decode error asks the session to send', () => {
    const e = decode(hex(`${MARKER} 001d 01 03 fde9 005a 0a000001 00`), FOUR);
    expect(e).toBeInstanceOf(BgpDecodeError);
    expect(encode(notificationFor(e as BgpDecodeError), FOUR)).toEqual(hex(`${MARKER} 0017 03 02 01 0004`));
    expect((e as BgpDecodeError).message).toMatch(/^OpenMessage\/UnsupportedVersionNumber/);
  });

  it('names codes and subcodes for logs', () => {
    expect(notificationName(3, 11)).toBe('UpdateMessage/MalformedAsPath');
    expect(notificationName(6, 7)).toBe('Cease/ConnectionCollisionResolution');
    expect(notificationName(4, 0)).toBe('HoldTimerExpired/0');
    expect(notificationName(99, 1)).toBe('99/1');
  });
});

describe('ROUTE-REFRESH', () => {
  it.each([
    ['normal IPv4 unicast', `${MARKER} 0017 05 0001 00 01`, { afi: 1, safi: 1, subtype: 0 }],
    ['beginning of refresh IPv6 unicast (RFC 7313)', `${MARKER} 0017 05 0002 01 01`, { afi: 2, safi: 1, subtype: 1 }],
  ])('%s', (_desc, text, fields) => {
    const m: BgpMessage = { kind: 'route-refresh', ...fields };
    expect(decode(hex(text), FOUR)).toStrictEqual(m);
    expect(encode(m, FOUR)).toEqual(hex(text));
  });
});
