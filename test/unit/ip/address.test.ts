// The one IP-address module: the hand-written IPv6 text paths must agree exactly with `ip-address`,
// which they replace for speed, and the byte forms with bytes written out by hand.
import fc from 'fast-check';
import { Address6 } from 'ip-address';
import { formatIPBytes, formatIPv6, formatValue, ipFromBytes, parseIPv4, ipToBytes, parseIPv6Hex, tryParseIP, tryParseIPBytes } from '../../../src/ip/address';

/** What tryParseIP returned for IPv6 text when it went through ip-address only. */
function viaLibrary(text: string): bigint | undefined {
  const s = text.trim();
  if (s === '' || s.includes('/') || s.includes('%') || !Address6.isValid(s)) return undefined;
  return new Address6(s).bigInt();
}

// Values with long and short zero runs, where RFC 5952's choice of run matters.
const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const value = fc.array(group, { minLength: 8, maxLength: 8 }).map((gs) => gs.reduce((v, g) => (v << 16n) | BigInt(g), 0n));

describe('IPv6 text', () => {
  it.each([
    { value: 0n, text: '::' },
    { value: 1n, text: '::1' },
    { value: 0x20010db8n << 96n, text: '2001:db8::' },
    { value: (0x20010db8n << 96n) | (1n << 64n) | 1n, text: '2001:db8:0:1::1' },
    { value: (1n << 112n) | (1n << 64n) | 1n, text: '1:0:0:1::1' }, // the first of two equal runs
    { value: (1n << 112n) | (1n << 80n), text: '1:0:1::' },
    { value: (1n << 112n) | (1n << 96n) | (1n << 80n) | (1n << 64n) | (1n << 48n) | (1n << 32n) | 1n, text: '1:1:1:1:1:1:0:1' }, // a lone zero group stays
  ])('formats and parses $text', ({ value, text }) => {
    expect(formatIPv6(value)).toBe(text);
    expect(formatValue(6, value)).toBe(Address6.fromBigInt(value).correctForm());
    expect(parseIPv6Hex(text)).toBe(value);
  });

  it('formats like ip-address correctForm, and reads back its own output and the full form (property)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = formatIPv6(v);
        expect(text).toBe(Address6.fromBigInt(v).correctForm());
        expect(parseIPv6Hex(text)).toBe(v);
        expect(parseIPv6Hex(new Address6(text).canonicalForm().toUpperCase())).toBe(v);
      }),
      { numRuns: 3000 },
    );
  });

  it('parses hex forms like ip-address (property over near-valid strings)', () => {
    const token = fc.constantFrom('0', '1', 'a', 'F', '00', 'ffff', '0db8', '12345', ':', ':', '::', ':::', '.', '1.2.3.4');
    const text = fc.array(token, { maxLength: 14 }).map((ts) => ts.join(''));
    fc.assert(
      fc.property(fc.oneof(text, value.map(formatIPv6), value.map((v) => new Address6(formatIPv6(v)).canonicalForm())), (s) => {
        expect(tryParseIP(s)?.value).toBe(s.includes(':') ? viaLibrary(s) : tryParseIP(s)?.value);
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '12345::', ':1::', '1::2:', '::ffff:1.2.3.4'])(
    'leaves %s to the library (not a plain hex form)',
    (s) => {
      expect(parseIPv6Hex(s)).toBeUndefined();
      expect(tryParseIP(s)?.value).toBe(viaLibrary(s));
    },
  );
});

describe('bytes', () => {
  it.each([
    { text: '198.51.100.7', bytes: 'c6 33 64 07' },
    { text: '0.0.0.0', bytes: '00 00 00 00' },
    { text: '255.255.255.255', bytes: 'ff ff ff ff' },
    { text: '2001:db8::1', bytes: '20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01' },
    { text: 'fe80::1%eth0', bytes: 'fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01', printed: 'fe80::1' },
    { text: '::ffff:192.0.2.1', bytes: '00 00 00 00 00 00 00 00 00 00 ff ff c0 00 02 01', printed: '::ffff:c000:201' },
  ])('$text <-> $bytes', ({ text, bytes, printed }) => {
    const b = Buffer.from(bytes.replace(/ /g, ''), 'hex');
    expect(tryParseIPBytes(text)?.bytes).toEqual(b);
    expect(tryParseIPBytes(text)?.family).toBe(b.length === 4 ? 4 : 6);
    expect(formatIPBytes(b)).toBe(printed ?? text);
  });

  it('reads an address at an offset, and refuses too few bytes', () => {
    const frame = Buffer.from('aabbc6336407cc', 'hex');
    expect(ipFromBytes(frame, 2, 4)).toEqual({ family: 4, value: 0xc6336407n });
    expect(() => ipFromBytes(frame, 4, 4)).toThrow(/too few/);
    expect(() => ipFromBytes(frame, 0, 16)).toThrow(/too few/);
  });

  it('round-trips every value of both families (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((v) => ({ family: 4 as const, value: v })), value.map((v) => ({ family: 6 as const, value: v }))), (ip) => {
        const b = ipToBytes(ip);
        expect(b.length).toBe(ip.family === 4 ? 4 : 16);
        expect(ipFromBytes(b)).toEqual(ip);
        expect(BigInt(`0x${b.toString('hex')}`)).toBe(ip.value);
      }),
      { numRuns: 2000 },
    );
  });

  it.each(['', '198.51.100', '2001:db8::1::', '%eth0', '192.0.2.1%eth0'])('rejects %j', (text) => {
    expect(tryParseIPBytes(text)).toBeUndefined();
  });
});

/** Dotted-quad rules by regular expression: four parts of 1-3 digits, each <= 255, no leading zeros. */
function dottedQuad(s: string): number | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return undefined;
  const parts = s.split('.');
  if (parts.some((p) => Number(p) > 255 || (p.length > 1 && p.startsWith('0')))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

describe('IPv4 text', () => {
  it.each([
    ['0.0.0.0', 0],
    ['255.255.255.255', 2 ** 32 - 1],
    ['192.0.2.1', 0xc0000201],
  ])('parses and formats %s', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
    expect(formatValue(4, BigInt(value))).toBe(text);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3', '256.0.0.1', '01.2.3.4', '1.2.3.00', '1.2.3.1234', '1.2.3.a', '1.2.3.4 ', '+1.2.3.4', '١.2.3.4'])(
    'refuses %j',
    (text) => {
      expect(parseIPv4(text)).toBeUndefined();
      expect(dottedQuad(text)).toBeUndefined();
    },
  );

  it('parses like the regular-expression rules (property over near-valid strings)', () => {
    const token = fc.constantFrom('0', '1', '9', '25', '255', '256', '00', '010', '1000', '.', '.', '.', ' ', 'x', '-');
    const text = fc.array(token, { maxLength: 9 }).map((ts) => ts.join(''));
    const quad = fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 4, maxLength: 4 }).map((ps) => ps.join('.'));
    fc.assert(
      fc.property(fc.oneof(text, quad), (s) => {
        expect(parseIPv4(s)).toBe(dottedQuad(s));
        const ip = tryParseIP(s);
        expect(ip === undefined ? undefined : Number(ip.value)).toBe(dottedQuad(s.trim()));
      }),
      { numRuns: 5000 },
    );
  });

  it('formats every value as its dotted quad (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        expect(formatValue(4, BigInt(n))).toBe([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
        expect(parseIPv4(formatValue(4, BigInt(n)))).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });
});
