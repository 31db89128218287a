// The ConfigMap state machine: last good configuration, stale flag, refusals by the owner's vet
// and their recheck, the opt-in annotation, and Event messages split under the size limit.
import { ConfigGate, chunkMessages, type ConfigMeta, type Verdict } from '../../../src/k8s/config-gate';
import { parseConfigText } from '../../../src/config/parse';
import type { Config } from '../../../src/config/types';
import { nullLogger } from '../../../src/util/log';

const ONE = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.0/30]\n';
const TWO = 'address-pools:\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.8/30]\n';

function gate(vet?: () => Verdict) {
  const applied: Array<{ pools: string[]; meta: ConfigMeta }> = [];
  const warnings: string[] = [];
  const metas: boolean[] = [];
  const g = new ConfigGate({
    where: 'ironlb-system/config',
    log: nullLogger,
    onConfig: (c, meta) => applied.push({ pools: c.pools.map((p) => p.name), meta }),
    onMeta: (m) => metas.push(m.allowAddressChanges),
    warn: (reason, message) => warnings.push(`${reason}: ${message}`),
    vet,
  });
  return { g, applied, warnings, metas };
}

function parsed(text: string): Config {
  const r = parseConfigText(text);
  if (!r.ok) throw new Error('fixture does not parse');
  return r.config;
}

describe('ConfigGate', () => {
  it('offerConfig (metallb.io objects): the same vet, last good kept, a return to the applied key clears stale', () => {
    let verdict: Verdict = { ok: false, reason: 'IncompatibleConfig', summary: 'refused', items: ['ns/x: lost'] };
    const { g, applied, warnings } = gate(() => verdict);
    const meta = { allowAddressChanges: false, optInWhere: 'on an IPAddressPool' };
    verdict = { ok: true };
    g.offerConfig('k1', parsed(ONE), meta);
    verdict = { ok: false, reason: 'IncompatibleConfig', summary: 'refused', items: ['ns/x: lost'] };
    g.offerConfig('k2', parsed(TWO), meta);
    expect(g.state).toMatchObject({ loaded: true, stale: true });
    expect(g.state.config?.pools.map((p) => p.name)).toEqual(['a']);
    expect(warnings).toEqual(['IncompatibleConfig: refused; the last good configuration stays in force:\nns/x: lost']);
    expect(g.waiting).toBe(true);
    g.offerConfig('k1', parsed(ONE), meta);
    expect(g.state.stale).toBe(false);
    expect(g.waiting).toBe(false);
    g.refusedElsewhere('IPAddressPool ns/p: spec.addresses[0]: bad');
    expect(g.state.error).toBe('IPAddressPool ns/p: spec.addresses[0]: bad');
    expect(g.state.stale).toBe(true);
    g.keepLastGood();
    expect(g.state).toMatchObject({ loaded: true, stale: true });
    expect(applied.map((a) => a.pools)).toEqual([['a']]);
  });


  it('applies valid versions, refuses invalid ones once, and clears stale when the good text comes back', () => {
    const { g, applied, warnings } = gate();
    g.offer(ONE, undefined);
    g.offer('address-pools: [', undefined);
    g.offer('address-pools: [', undefined);
    expect(g.state).toMatchObject({ loaded: true, stale: true });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^InvalidConfig: invalid configuration refused \(1 error\); the last good configuration stays in force:/);
    g.offer(ONE, undefined);
    expect(g.state.stale).toBe(false);
    expect(applied).toHaveLength(1);
  });

  it('keeps a version the vet refuses waiting, offers it again on recheck, and takes it when the vet agrees', () => {
    let verdict: Verdict = { ok: false, reason: 'IncompatibleConfig', summary: 'configuration refused: it would take the address of 1 Service', items: ['ns/x: 198.51.100.1 would be in no pool'] };
    const { g, applied, warnings } = gate(() => verdict);
    g.offer(ONE, undefined); // the vet is asked even for the first version; here it refuses
    expect(g.state).toMatchObject({ loaded: false, stale: true });
    verdict = { ok: true };
    g.recheck();
    expect(applied.map((a) => a.pools)).toEqual([['a']]);
    verdict = { ok: false, reason: 'IncompatibleConfig', summary: 'refused', items: ['ns/x: gone'] };
    g.offer(TWO, undefined);
    expect(g.waiting).toBe(true);
    expect(g.state.stale).toBe(true);
    expect(warnings.at(-1)).toBe('IncompatibleConfig: refused; the last good configuration stays in force:\nns/x: gone');
    g.recheck();
    expect(warnings).toHaveLength(2); // the same refusal is not repeated
    verdict = { ok: true };
    g.recheck();
    expect(applied.map((a) => a.pools)).toEqual([['a'], ['b']]);
    expect(g.state.stale).toBe(false);
    expect(g.waiting).toBe(false);
  });

  it('reads the opt-in from the ConfigMap as it is now, also on a version it refuses', () => {
    const { g, metas, applied } = gate(() => ({ ok: true }));
    g.offer(ONE, { 'ironlb.io/allow-address-changes': 'true' });
    g.offer('address-pools: [', {});
    expect(metas).toEqual([true, false]);
    expect(applied[0].meta.allowAddressChanges).toBe(true);
    expect(g.applied).toBe(`true|${ONE}`);
  });

  it('splits long Event messages into numbered parts under the limit', () => {
    const items = Array.from({ length: 60 }, (_, i) => `ns/service-${i}: 198.51.100.${i} would be in no pool`);
    const parts = chunkMessages('configuration refused:', items, 1000);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(1000);
    expect(parts[0]).toMatch(/^configuration refused: \(part 1 of \d+\)\n/);
    expect(parts.join('\n').match(/would be in no pool/g)).toHaveLength(60);
  });
});
