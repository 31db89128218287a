// MetalLB v0.12 reads its config with Go's yaml.v2: a list entry with no value (a bare `-`) is the
// zero value of the entry's type, i.e. an empty map with every default applied. Expected values
// here are MetalLB's documented defaults (aggregation 32/128, no communities; an empty selector
// selects every node), written by hand.
import { parseConfigText } from '../../../src/config/parse';
import { selectorMatches } from '../../../src/config/selector';
import type { Config } from '../../../src/config/types';

function parsed(lines: readonly string[]): Config {
  const result = parseConfigText(`${lines.join('\n')}\n`);
  if (!result.ok) throw new Error(`expected the config to be accepted, got: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return result.config;
}

const BGP_POOL = ['address-pools:', '- name: a', '  protocol: bgp', '  addresses:', '  - 198.51.100.0/24'];
const PEER = ['peers:', '- my-asn: 64500', '  peer-asn: 64501', '  peer-address: 203.0.113.1'];

describe('a bare list entry is an empty map with defaults (MetalLB v0.12 compatibility)', () => {
  it('bgp-advertisements with one bare entry is one advertisement with default lengths', () => {
    const config = parsed([...BGP_POOL, '  bgp-advertisements:', '  -']);
    expect(config.pools[0].bgpAdvertisements).toEqual([{ aggregationLength: 32, aggregationLengthV6: 128, communities: [] }]);
  });

  it('a bare entry next to a written one keeps both', () => {
    const config = parsed([...BGP_POOL, '  bgp-advertisements:', '  -', '  - aggregation-length: 24']);
    expect(config.pools[0].bgpAdvertisements).toEqual([
      { aggregationLength: 32, aggregationLengthV6: 128, communities: [] },
      { aggregationLength: 24, aggregationLengthV6: 128, communities: [] },
    ]);
  });

  it('two bare advertisements are identical, which MetalLB refuses', () => {
    const result = parseConfigText(`${[...BGP_POOL, '  bgp-advertisements:', '  -', '  -'].join('\n')}\n`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => [e.path, e.message])).toEqual([
        ['address-pools[0].bgp-advertisements[1]', 'identical to address-pools[0].bgp-advertisements[0]; each advertisement must differ'],
      ]);
    }
  });

  it('a bare node-selectors entry on a peer selects every node', () => {
    const config = parsed([...PEER, '  node-selectors:', '  -']);
    const selectors = config.peers[0].nodeSelectors;
    expect(selectors).toEqual([{ matchLabels: {}, matchExpressions: [] }]);
    expect(selectorMatches(selectors, {})).toBe(true);
    expect(selectorMatches(selectors, { 'kubernetes.io/hostname': 'node-a' })).toBe(true);
  });

  it('a bare node-selectors entry next to a restrictive one still selects every node', () => {
    const config = parsed([...PEER, '  node-selectors:', '  - match-labels:', '      rack: r1', '  -']);
    expect(selectorMatches(config.peers[0].nodeSelectors, { rack: 'r2' })).toBe(true);
  });

  it('a bare node-selectors entry on a pool (ironlb addition) selects every node', () => {
    const config = parsed([...BGP_POOL, '  node-selectors:', '  -']);
    expect(config.pools[0].nodeSelectors).toEqual([{ matchLabels: {}, matchExpressions: [] }]);
  });

  it('a bare match-expressions entry is a requirement without key and operator', () => {
    const result = parseConfigText(`${[...PEER, '  node-selectors:', '  - match-expressions:', '    -'].join('\n')}\n`);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.path)).toEqual([
        'peers[0].node-selectors[0].match-expressions[0].key',
        'peers[0].node-selectors[0].match-expressions[0].operator',
      ]);
    }
  });
});
