// YAML aliases that Go's yaml.v2 (MetalLB, kubectl) refuses must be refused here too, and never
// throw: found by the config fuzzer (seed 7, input 323 threw "Unresolved alias" out of
// parseObjectManifests).
import { parseObjectManifests } from '../../../src/config/crd/manifests';
import { parseConfigText } from '../../../src/config/parse';

describe('aliases', () => {
  it('an alias to an anchor never defined is not valid YAML', () => {
    const result = parseConfigText('address-pools:\n- name: a\n  protocol: layer2\n  addresses: *c\n');
    expect(result).toEqual({ ok: false, syntax: true, errors: [{ path: '', message: 'not valid YAML: unknown anchor "c" referenced', line: 4 }] });
  });

  it('an alias inside the node it refers to is not valid YAML', () => {
    const result = parseConfigText('address-pools:\n- &p\n  name: a\n  protocol: layer2\n  addresses: [*p]\n');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.message)).toEqual(['not valid YAML: anchor "p" value contains itself']);
  });

  it('anchors used as intended still work', () => {
    const result = parseConfigText('address-pools:\n- name: a\n  protocol: bgp\n  addresses: [192.0.2.0/28]\n  node-selectors: &rack [{match-labels: {rack: r1}}]\npeers:\n- {my-asn: 1, peer-asn: 2, peer-address: 192.0.2.99, node-selectors: *rack}\n');
    expect(result.ok && result.config.peers[0].nodeSelectors).toEqual([{ matchLabels: { rack: 'r1' }, matchExpressions: [] }]);
  });

  it('object files: unknown anchors and alias bombs are refused, not thrown', () => {
    expect(parseObjectManifests('kind: IPAddressPool\nspec: {addresses: *nope}\n')).toEqual({ ok: false, message: 'not valid YAML: unknown anchor "nope" referenced' });
    const bomb = ['a: &a [1, 2]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    const result = parseObjectManifests(bomb);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/^not valid YAML: Excessive alias count/);
  });
});
