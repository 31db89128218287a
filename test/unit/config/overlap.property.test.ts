// MetalLB's rule that no address may be in two entries of any pools, checked on whole configs
// (ConfigMap text and metallb.io objects) against enumeration of every address of a small space.
import fc from 'fast-check';
import { translateObjects } from '../../../src/config/crd/translate';
import { parseConfigText } from '../../../src/config/parse';
import { ipPool, l2Adv } from './crd/objects';

/** An entry inside 192.0.2.0/24 or 2001:db8::/120 as [family, first, last] offsets, written as a range or a CIDR. */
const entry = fc.oneof(
  fc.tuple(fc.constantFrom<4 | 6>(4, 6), fc.nat(250), fc.nat(12)).map(([family, first, span]) => ({ family, first, last: Math.min(first + span, 255), cidr: false })),
  fc.tuple(fc.constantFrom<4 | 6>(4, 6), fc.integer({ min: 28, max: 32 }), fc.nat(255)).map(([family, prefix, at]) => {
    const size = 2 ** (32 - prefix);
    const first = at - (at % size);
    return { family, first, last: first + size - 1, cidr: true };
  }),
);
type Entry = { family: 4 | 6; first: number; last: number; cidr: boolean };

function text(e: Entry): string {
  const ip = (offset: number): string => (e.family === 4 ? `192.0.2.${offset}` : `2001:db8::${offset.toString(16)}`);
  if (e.cidr) return `${ip(e.first)}/${(e.family === 4 ? 32 : 128) - Math.log2(e.last - e.first + 1)}`;
  return `${ip(e.first)}-${ip(e.last)}`;
}

/** True when some address of the space is in two entries, by enumeration. */
function anyAddressTwice(pools: Entry[][]): boolean {
  const seen = new Set<string>();
  for (const e of pools.flat()) {
    for (let offset = e.first; offset <= e.last; offset++) {
      const key = `${e.family}/${offset}`;
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
}

const pools = fc.array(fc.array(entry, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 });

describe('no address in two entries (property, against enumeration)', () => {
  test('a ConfigMap is refused exactly when an address is in two entries', () => {
    fc.assert(
      fc.property(pools, (ps) => {
        const yaml = ['address-pools:', ...ps.flatMap((entries, i) => [`- name: p${i}`, '  protocol: layer2', '  addresses:', ...entries.map((e) => `  - ${text(e)}`)])].join('\n');
        const result = parseConfigText(yaml);
        expect(result.ok).toBe(!anyAddressTwice(ps));
        if (!result.ok) expect(result.errors.every((e) => e.message.includes(' overlaps '))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('metallb.io objects are refused exactly when an address is in two entries', () => {
    fc.assert(
      fc.property(pools, (ps) => {
        const objects = [...ps.map((entries, i) => ipPool(`p${i}`, { addresses: entries.map(text) })), l2Adv('l2')];
        const result = translateObjects(objects);
        expect(result.ok).toBe(!anyAddressTwice(ps));
        if (!result.ok) expect(result.errors.every((e) => e.message.includes(' overlaps '))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
