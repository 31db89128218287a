import fc from 'fast-check';
import { formatCommunity, parseCommunity } from '../../../src/config/community';

describe('parseCommunity', () => {
  test.each([
    ['0:0', { kind: 'standard', value: 0 }],
    ['65535:65282', { kind: 'standard', value: 0xffffff02 }],
    [' 64500:100 ', { kind: 'standard', value: 64500 * 65536 + 100 }],
    ['large:4294967295:0:1', { kind: 'large', global: 4294967295, local1: 0, local2: 1 }],
    ['LARGE:1:2:3', { kind: 'large', global: 1, local1: 2, local2: 3 }],
  ])('%j', (text, community) => {
    expect(parseCommunity(text)).toEqual({ ok: true, value: community });
  });

  test.each([
    ['65536:1', 'invalid community "65536:1": 65536 does not fit in 16 bits (maximum 65535)'],
    ['-1:1', 'invalid community "-1:1": "-1" is not a decimal number'],
    [':1', 'invalid community ":1": "" is not a decimal number'],
    ['1', 'invalid community "1": expected AA:NN (two 16-bit numbers) or large:A:B:C'],
    ['large:1:2:3:4', 'invalid large community "large:1:2:3:4": expected large:A:B:C (three 32-bit numbers)'],
  ])('refuses %j', (text, error) => {
    expect(parseCommunity(text)).toEqual({ ok: false, error });
  });

  test('standard communities survive format then parse', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (high, low) => {
        const parsed = parseCommunity(`${high}:${low}`);
        expect(parsed.ok && formatCommunity(parsed.value)).toBe(`${high}:${low}`);
      }),
    );
  });

  test('large communities survive format then parse', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, u32, (a, b, c) => {
        const parsed = parseCommunity(`large:${a}:${b}:${c}`);
        expect(parsed.ok && formatCommunity(parsed.value)).toBe(`large:${a}:${b}:${c}`);
      }),
    );
  });
});
