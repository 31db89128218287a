import fc from 'fast-check';
import { parseGoDuration, parseSeconds, wholeSeconds } from '../../../src/config/duration';

const S = 1_000_000_000n;

describe('parseGoDuration', () => {
  test.each([
    ['0', 0n],
    ['90s', 90n * S],
    ['1m30s', 90n * S],
    ['1h', 3600n * S],
    ['1.5h', 5400n * S],
    ['2h45m0.5s', (2n * 3600n + 45n * 60n) * S + S / 2n],
    ['300ms', 300_000_000n],
    ['10us', 10_000n],
    ['10µs', 10_000n],
    ['10μs', 10_000n],
    ['7ns', 7n],
    ['.5s', S / 2n],
    ['5.s', 5n * S],
    ['-3s', -3n * S],
    ['+3s', 3n * S],
    ['1.0000000009s', S], // fractions below the unit's nanosecond are dropped, as in Go
  ])('%s', (text, ns) => {
    expect(parseGoDuration(text)).toEqual({ ok: true, value: ns });
  });

  test.each([
    ['', 'invalid duration ""'],
    ['s', 'invalid duration "s"'],
    ['.s', 'invalid duration ".s"'],
    ['90', 'missing unit in duration "90" (use s, m or h, e.g. 90s)'],
    ['1m30', 'missing unit in duration "1m30" (use s, m or h, e.g. 90s)'],
    ['3 s', 'unknown unit " s" in duration "3 s" (use ns, us, ms, s, m or h)'],
    ['1d', 'unknown unit "d" in duration "1d" (use ns, us, ms, s, m or h)'],
    ['1.2.3s', 'invalid duration "1.2.3s"'],
    ['9999999999999h', 'invalid duration "9999999999999h": too large'],
  ])('refuses %j', (text, error) => {
    expect(parseGoDuration(text)).toEqual({ ok: false, error });
  });

  test('h, m and s components add up', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(59), fc.nat(59), (h, m, s) => {
        const parsed = parseGoDuration(`${h}h${m}m${s}s`);
        expect(parsed).toEqual({ ok: true, value: BigInt(h * 3600 + m * 60 + s) * S });
      }),
    );
  });
});

describe('seconds', () => {
  test('whole seconds truncate toward zero like int(d.Seconds())', () => {
    expect(wholeSeconds(2_999_999_999n)).toBe(2);
    expect(wholeSeconds(-2_999_999_999n)).toBe(-2);
  });

  test.each([
    ['90', 90],
    ['90.9', 90],
    ['1m30s', 90],
    ['2999ms', 2],
  ])('parseSeconds(%j) = %d', (text, seconds) => {
    expect(parseSeconds(text)).toEqual({ ok: true, value: seconds });
  });
});
