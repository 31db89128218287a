// Config-apply workloads for bench:ipam: what the controller does when the configuration changes,
// from the text (or the metallb.io objects) to the allocator's new pools, plus the baselines
// they are compared with in the same run. Only APIs that main has too, so that the same bench
// measures a before and an after.
import { LineCounter, parseDocument } from 'yaml';
import { translateObjects } from '../src/config/crd/translate';
import { parseConfigText } from '../src/config/parse';
import type { AddressPool } from '../src/config/types';
import { formatValue, type IPRange } from '../src/ipam/address';
import { AddressNumbering } from '../src/ipam/address-numbering';
import { Allocator } from '../src/ipam/allocator';
import type { ServiceRequest } from '../src/ipam/types';

/** The i-th of n distinct IPv4 addresses scattered over 10.0.0.0/8 (an odd multiplier permutes 2^24). */
export function scatteredV4(i: number): string {
  return formatValue(4, (10n << 24n) + BigInt(Math.imul(i, 0x9e3779b1) & 0xffffff));
}

/** A ConfigMap `config` with one layer2 pool of n /32 entries, as in issue 18. */
export function onePoolText(n: number): string {
  const lines = ['address-pools:', '- name: many-entries', '  protocol: layer2', '  addresses:'];
  for (let i = 0; i < n; i++) lines.push(`  - ${scatteredV4(i)}/32`);
  return lines.join('\n') + '\n';
}

/** A ConfigMap `config` with n bgp pools of one /32 entry each. */
export function manyPoolsText(n: number): string {
  const lines = ['address-pools:'];
  for (let i = 0; i < n; i++) lines.push(`- name: pool-${i}`, '  protocol: bgp', '  addresses:', `  - ${scatteredV4(i)}/32`);
  return lines.join('\n') + '\n';
}

const meta = (kind: string, name: string): Record<string, unknown> => ({ apiVersion: 'metallb.io/v1beta1', kind, metadata: { name, namespace: 'metallb-system' } });

/** One IPAddressPool of n /32 entries and an L2Advertisement, as the API server returns them. */
export function onePoolObjects(n: number): unknown[] {
  const addresses = Array.from({ length: n }, (_, i) => `${scatteredV4(i)}/32`);
  return [{ ...meta('IPAddressPool', 'many-entries'), spec: { addresses } }, { ...meta('L2Advertisement', 'l2'), spec: {} }];
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`benchmark workload failed: ${what}`);
  return value;
}

export function poolsOfText(text: string): readonly AddressPool[] {
  const parsed = parseConfigText(text);
  return must(parsed.ok ? parsed.config.pools : undefined, 'the benchmark config is invalid');
}

/**
 * The controller's apply path for a ConfigMap: parse and validate, then hand the pools to the
 * allocator. Its stats are read at the end: pools apply deferred marks (the holdings re-marked
 * in the new pools) at their first read, and an apply is done only when the pools show it.
 */
export function applyText(alloc: Allocator, text: string): void {
  alloc.setPools(poolsOfText(text));
  alloc.stats();
}

/** The same for metallb.io objects. */
export function applyObjects(alloc: Allocator, objects: readonly unknown[]): void {
  const result = translateObjects(objects, { namespace: 'metallb-system' });
  alloc.setPools(must(result.ok ? result.config.pools : undefined, 'the benchmark objects are invalid'));
  alloc.stats();
}

/** An allocator on the text's pools with one service restored on each of the first n scattered addresses. */
export function allocatorHolding(text: string, n: number): Allocator {
  const alloc = new Allocator();
  applyText(alloc, text);
  for (let i = 0; i < n; i++) {
    const req: ServiceRequest = { key: `bench/held-${i}`, families: [4], familyPolicy: 'SingleStack', requestedIPs: [], sharingKey: '', backendKey: '', ports: [] };
    must(alloc.assign(req, [scatteredV4(i)]).ok || undefined, `restore ${scatteredV4(i)}`);
  }
  return alloc;
}

/** The entries' ranges of the text's only pool, for the numbering rows. */
export function rangesOf(text: string): readonly IPRange[] {
  return poolsOfText(text)[0].addresses.map((a) => a.range);
}

export function numberEntries(ranges: readonly IPRange[]): void {
  must(new AddressNumbering(4, ranges, true).size > 0n || undefined, 'numbering');
}

/** Baseline: the YAML parse alone (with parseConfigText's options), which every apply pays before any validation. */
export function bareYamlParse(text: string): void {
  const doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, uniqueKeys: false });
  must(doc.errors.length === 0 || undefined, 'YAML');
}

/**
 * Baseline: numbering by removing every earlier entry from each entry in turn (what
 * AddressNumbering did until issue 18): O(n²) in the entries.
 */
export function pairwiseSubtraction(ranges: readonly IPRange[]): void {
  const taken: [bigint, bigint][] = [];
  for (const r of ranges) {
    let parts: [bigint, bigint][] = [[r.start, r.end]];
    for (const [lo, hi] of taken) {
      parts = parts.flatMap(([a, b]): [bigint, bigint][] => {
        if (hi < a || lo > b) return [[a, b]];
        const left: [bigint, bigint][] = lo > a ? [[a, lo - 1n]] : [];
        const right: [bigint, bigint][] = hi < b ? [[hi + 1n, b]] : [];
        return [...left, ...right];
      });
    }
    taken.push(...parts);
  }
}
