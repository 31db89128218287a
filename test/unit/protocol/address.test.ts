import fc from 'fast-check';
import * as net from 'net';
import {
  formatIPv4,
  formatIPv6,
  formatMac,
  ipv4ToNumber,
  isLinkLocalIPv6,
  numberToIPv4,
  parseIPv6,
  parseMac,
  tryParseIP,
  tryParseIPv4,
  tryParseIPv6,
  tryParseMac,
} from '../../../src/protocol/address';
import { EncodeError } from '../../../src/protocol/errors';

describe('MAC addresses', () => {
  it.each([
    ['02:00:5E:10:00:01', '02:00:5e:10:00:01'],
    ['02-00-5e-10-00-01', '02:00:5e:10:00:01'],
  ])('parses %s', (text, want) => {
    expect(formatMac(parseMac(text))).toBe(want);
  });

  it.each(['', '02:00:5e:10:00', '02:00:5e:10:00:01:02', 'zz:00:5e:10:00:01', '2:0:5e:10:0:1'])('rejects %j', (text) => {
    expect(tryParseMac(text)).toBeUndefined();
    expect(() => parseMac(text)).toThrow(EncodeError);
  });
});

describe('IPv4', () => {
  it('parses and formats', () => {
    expect(formatIPv4(tryParseIPv4('198.51.100.90')!)).toBe('198.51.100.90');
    expect(ipv4ToNumber(tryParseIPv4('198.51.100.90')!)).toBe(0xc633645a);
    expect(formatIPv4(numberToIPv4(0xffffffff))).toBe('255.255.255.255');
  });

  it.each(['256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4/32', 'a.b.c.d', ''])('rejects %j', (t) => {
    expect(tryParseIPv4(t)).toBeUndefined();
  });
});

describe('IPv6', () => {
  it.each([
    ['2001:db8:100::90', '2001:db8:100::90'],
    ['2001:0DB8:0100:0000:0000:0000:0000:0090', '2001:db8:100::90'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['::ffff:198.51.100.1', '::ffff:c633:6401'],
    ['ff02::1:ff00:90', 'ff02::1:ff00:90'],
  ])('parses %s as %s (RFC 5952 text)', (text, want) => {
    expect(formatIPv6(parseIPv6(text))).toBe(want);
  });

  it.each([':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '12345::', ':1', '1:', '1:2:3:4:5:6:7:8::'])('rejects %j', (t) => {
    expect(tryParseIPv6(t)).toBeUndefined();
  });

  it('detects link-local', () => {
    expect(isLinkLocalIPv6(parseIPv6('fe80::1'))).toBe(true);
    expect(isLinkLocalIPv6(parseIPv6('2001:db8::1'))).toBe(false);
  });

  it('property: format/parse round-trips and agrees with node:net', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIPv6(bytes);
        expect(net.isIPv6(text)).toBe(true);
        expect([...parseIPv6(text)]).toEqual([...bytes]);
      }),
    );
  });

  it('property: tryParseIP never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (s) => {
        const r = tryParseIP(s);
        if (r) expect(r.bytes.length).toBe(r.family === 4 ? 4 : 16);
      }),
    );
  });
});
