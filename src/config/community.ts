// BGP community values: RFC 1997 standard communities written `AA:NN`, and (an ironlb
// extension to the v0.12 language, matching MetalLB's later CRDs) RFC 8092 large
// communities written `large:A:B:C`.
import type { Community } from './types';
import { fail, ok, type Outcome } from './outcome';

const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

function parseUnsigned(text: string, max: number, bits: number, whole: string): Outcome<number> {
  if (!/^\d+$/.test(text)) return fail(`invalid community "${whole}": "${text}" is not a decimal number`);
  const n = Number(text);
  if (n > max) return fail(`invalid community "${whole}": ${text} does not fit in ${bits} bits (maximum ${max})`);
  return ok(n);
}

export function parseCommunity(text: string): Outcome<Community> {
  const s = text.trim();
  if (s.toLowerCase().startsWith('large:')) {
    const parts = s.slice('large:'.length).split(':');
    if (parts.length !== 3) return fail(`invalid large community "${s}": expected large:A:B:C (three 32-bit numbers)`);
    const nums: number[] = [];
    for (const part of parts) {
      const n = parseUnsigned(part, U32_MAX, 32, s);
      if (!n.ok) return n;
      nums.push(n.value);
    }
    return ok({ kind: 'large', global: nums[0], local1: nums[1], local2: nums[2] });
  }
  const parts = s.split(':');
  if (parts.length !== 2) return fail(`invalid community "${s}": expected AA:NN (two 16-bit numbers) or large:A:B:C`);
  const high = parseUnsigned(parts[0], U16_MAX, 16, s);
  if (!high.ok) return high;
  const low = parseUnsigned(parts[1], U16_MAX, 16, s);
  if (!low.ok) return low;
  // Multiplying instead of shifting keeps the value unsigned above 2^31.
  return ok({ kind: 'standard', value: high.value * 0x10000 + low.value });
}

export function formatCommunity(c: Community): string {
  if (c.kind === 'large') return `large:${c.global}:${c.local1}:${c.local2}`;
  return `${Math.floor(c.value / 0x10000)}:${c.value % 0x10000}`;
}

export function communitiesEqual(a: Community, b: Community): boolean {
  return formatCommunity(a) === formatCommunity(b);
}
