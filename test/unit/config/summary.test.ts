import fc from 'fast-check';
import { poolAddressCount } from '../../../src/config/summary';
import { pool } from '../../helpers/pools';

describe('poolAddressCount', () => {
  test.each<[string[], boolean, bigint, bigint]>([
    [['192.168.10.90-192.168.10.100'], false, 11n, 0n],
    [['10.0.0.0/24'], false, 256n, 0n],
    [['10.0.0.0/24'], true, 254n, 0n],
    [['10.0.0.0/23'], true, 508n, 0n],
    [['10.0.0.255-10.0.1.0'], true, 0n, 0n],
    [['10.0.0.254-10.0.1.1'], true, 2n, 0n],
    [['10.0.0.7/32'], true, 1n, 0n],
    [['0.0.0.0/0'], true, 2n ** 32n - 2n * 2n ** 24n, 0n],
    [['fd00::/64', '10.0.0.0/30'], true, 3n, 2n ** 64n],
    [['fd00::/120'], true, 0n, 256n], // avoid-buggy-ips concerns IPv4 only
  ])('%j avoid-buggy-ips=%s', (addresses, avoid, v4, v6) => {
    expect(poolAddressCount(pool('p', addresses, { avoidBuggyIPs: avoid }))).toEqual({ v4, v6 });
  });

  test('avoid-buggy-ips removes exactly the addresses ending in .0 or .255', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff - 2000 }), fc.nat(2000), (start, span) => {
        let expected = 0n;
        for (let v = start; v <= start + span; v++) if (v % 256 !== 0 && v % 256 !== 255) expected++;
        const text = `${fmt(start)}-${fmt(start + span)}`;
        expect(poolAddressCount(pool('p', [text], { avoidBuggyIPs: true })).v4).toBe(expected);
      }),
    );
  });
});

function fmt(v: number): string {
  return [24, 16, 8, 0].map((s) => (Math.floor(v / 2 ** s) % 256).toString()).join('.');
}
