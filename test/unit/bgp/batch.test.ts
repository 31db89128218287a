import fc from 'fast-check';
import {
  BgpDecodeError,
  buildUpdates,
  type CodecContext,
  decode,
  formatPrefix,
  type MpNextHop,
  type PathAttribute,
  type Prefix,
  type UpdateMessage,
} from '../../../src/protocol/bgp';
import { CONTEXTS, prefix } from './arbitraries';

const nextHop6: MpNextHop = { family: 6, global: 0x20010db8000000000000000000000001n };

function sharedAttrs(communities: number): PathAttribute[] {
  const attrs: PathAttribute[] = [
    { kind: 'origin', value: 0 },
    { kind: 'as-path', segments: [{ type: 2, asns: [4200000001] }] },
    { kind: 'next-hop', addr: 0xc0000201n },
  ];
  if (communities > 0) attrs.push({ kind: 'communities', values: Array.from({ length: communities }, (_, i) => 0xfde90000 + i) });
  return attrs;
}

function decodeAll(wires: Buffer[], ctx: CodecContext): UpdateMessage[] {
  return wires.map((w) => {
    expect(w.length).toBeLessThanOrEqual(4096);
    const m = decode(w, ctx);
    if (m instanceof BgpDecodeError) throw m;
    expect(m.kind).toBe('update');
    return m as UpdateMessage;
  });
}

/** Every prefix the UPDATEs announce and withdraw, IPv4 fields and MP attributes alike. */
function carried(updates: UpdateMessage[]): { announced: Prefix[]; withdrawn: Prefix[] } {
  const announced: Prefix[] = [];
  const withdrawn: Prefix[] = [];
  for (const u of updates) {
    announced.push(...u.nlri);
    withdrawn.push(...u.withdrawn);
    for (const a of u.attributes) {
      if (a.kind === 'mp-reach-nlri') announced.push(...a.nlri);
      if (a.kind === 'mp-unreach-nlri') withdrawn.push(...a.withdrawn);
    }
  }
  return { announced, withdrawn };
}

const byFamily = (ps: Prefix[]) => [...ps.filter((p) => p.family === 4), ...ps.filter((p) => p.family === 6)].map(formatPrefix);

describe('buildUpdates', () => {
  it.each(CONTEXTS)('keeps every message within 4096 octets and loses no prefix (%p)', (ctx) => {
    const anyPrefix = fc.oneof(prefix(4), prefix(6));
    fc.assert(
      fc.property(
        fc.array(anyPrefix, { maxLength: 2500, size: 'max' }),
        fc.array(anyPrefix, { maxLength: 2500, size: 'max' }),
        fc.integer({ min: 0, max: 63 }),
        (announce, withdraw, communities) => {
          const updates = decodeAll(buildUpdates({ announce, withdraw, attrs: sharedAttrs(communities), ipv6NextHop: nextHop6, ctx }), ctx);
          const got = carried(updates);
          expect(got.announced.map(formatPrefix)).toEqual(byFamily(announce));
          expect(got.withdrawn.map(formatPrefix)).toEqual(byFamily(withdraw));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('packs 10,000 IPv4 host routes into as few UPDATEs as fit', () => {
    const ctx = CONTEXTS[0];
    const announce = Array.from({ length: 10_000 }, (_, i): Prefix => ({ family: 4, addr: 0x0a000000n + BigInt(i), length: 32 }));
    const wires = buildUpdates({ announce, withdraw: [], attrs: sharedAttrs(0), ctx });
    // 4096 - 19 header - 4 lengths - 24 attribute octets leaves room for 809 five-octet prefixes.
    expect(wires).toHaveLength(Math.ceil(10_000 / 809));
    expect(wires.slice(0, -1).every((w) => w.length > 4096 - 5)).toBe(true);
    expect(carried(decodeAll(wires, ctx)).announced).toHaveLength(10_000);
  });

  it('sends attributes with each announcement and only MP_UNREACH_NLRI with IPv6 withdrawals', () => {
    const ctx = CONTEXTS[0];
    const v4: Prefix = { family: 4, addr: 0xc6336400n, length: 24 };
    const v6: Prefix = { family: 6, addr: 0x20010db8000100000000000000000000n, length: 48 };
    const updates = decodeAll(buildUpdates({ announce: [v4, v6], withdraw: [v4, v6], attrs: sharedAttrs(1), ipv6NextHop: nextHop6, ctx }), ctx);
    expect(updates.map((u) => u.attributes.map((a) => a.kind))).toEqual([
      [],
      ['mp-unreach-nlri'],
      ['origin', 'as-path', 'next-hop', 'communities'],
      // NEXT_HOP stays out of an MP_REACH_NLRI-only UPDATE (RFC 4760 §3).
      ['origin', 'as-path', 'communities', 'mp-reach-nlri'],
    ]);
  });

  it('adds AS4_PATH for a 2-octet peer and still fits 4096 octets', () => {
    const ctx = CONTEXTS[1];
    const announce = Array.from({ length: 3000 }, (_, i): Prefix => ({ family: 4, addr: 0x0a000000n + BigInt(i), length: 32 }));
    const updates = decodeAll(buildUpdates({ announce, withdraw: [], attrs: sharedAttrs(63), ctx }), ctx);
    expect(updates[0].attributes.map((a) => a.kind)).toContain('as4-path');
    expect(carried(updates).announced).toHaveLength(3000);
  });

  it('returns nothing for nothing', () => {
    expect(buildUpdates({ announce: [], withdraw: [], attrs: [], ctx: CONTEXTS[0] })).toEqual([]);
  });

  it.each([
    ['IPv4 announcements without NEXT_HOP', { announce: [{ family: 4, addr: 0n, length: 0 }], attrs: [] }],
    ['IPv6 announcements without a next hop', { announce: [{ family: 6, addr: 0n, length: 0 }], attrs: [] }],
    ['MP attributes in the shared attributes', { announce: [], attrs: [{ kind: 'mp-unreach-nlri', afi: 2, safi: 1, withdrawn: [] }] }],
    [
      'attributes too large for any prefix',
      { announce: [{ family: 4, addr: 0n, length: 0 }], attrs: [...sharedAttrs(0), { kind: 'raw', typeCode: 99, flags: 0xc0, value: Buffer.alloc(4070) }] },
    ],
  ] as const)('refuses %s', (_d, b) => {
    expect(() => buildUpdates({ withdraw: [], ctx: CONTEXTS[0], ...b } as Parameters<typeof buildUpdates>[0])).toThrow(RangeError);
  });
});
