// The two answer paths side by side for test/unit/net/l2-answer-native*.test.ts: the TypeScript
// (src/protocol/l2-responder.ts) as the oracle, the C port (native/src/l2_answer.c) through its
// test bindings, and fast-check generators of owned tables, interfaces and frames (valid requests
// from the production builders, then mutated).
import fc from 'fast-check';
import { parseIPv4, parseIPv6, parseMac } from '../../src/protocol/address';
import { buildArpRequest } from '../../src/protocol/arp';
import { BufferWriter } from '../../src/protocol/buffer-writer';
import { icmpv6Checksum } from '../../src/protocol/icmpv6';
import { answerArp, answerNdp, L2_DROP_REASONS, OwnedAddresses, ResponderInterfaceView } from '../../src/protocol/l2-responder';
import { ipv6MulticastMac, ndpFrameBytes, NdpMessage, NdpOption, solicitedNodeMulticast } from '../../src/protocol/ndp';
import type { IronlbNative, L2OwnedEntry, L2OwnedHandle } from '../../src/net/native';

export type Kind = 'arp' | 'ndp';

/** A return value (> 0: the answer's length; < 0: minus the drop reason's code) and the answer. */
export interface Outcome {
  r: number;
  bytes?: Buffer;
}

/** The C numbering: L2_DROP_REASONS in order, from 1 (l2_answer.h). */
export function reasonCode(reason: string): number {
  const i = (L2_DROP_REASONS as readonly string[]).indexOf(reason);
  if (i < 0) throw new Error(`unknown drop reason ${reason}`);
  return -(i + 1);
}

export function tsTable(entries: readonly L2OwnedEntry[]): OwnedAddresses {
  const o = new OwnedAddresses();
  for (const e of entries) {
    const allowed = e.ifindexes === null ? null : new Set(e.ifindexes);
    if (e.ip.length === 4) o.setV4(e.ip, allowed);
    else o.setV6(e.ip, allowed);
  }
  return o;
}

export function tsAnswer(kind: Kind, frame: Buffer, length: number, iface: ResponderInterfaceView, owned: OwnedAddresses): Outcome {
  if (kind === 'arp') {
    const out = Buffer.alloc(256);
    const r = answerArp(frame, length, iface, owned, out);
    return typeof r === 'number' ? { r, bytes: Buffer.from(out.subarray(0, r)) } : { r: reasonCode(r) };
  }
  const w = new BufferWriter(Buffer.alloc(256));
  const r = answerNdp(frame, length, iface, owned, w);
  return typeof r === 'number' ? { r, bytes: Buffer.from(w.view(0, r)) } : { r: reasonCode(r) };
}

export function cAnswer(n: IronlbNative, kind: Kind, frame: Buffer, length: number, iface: ResponderInterfaceView, owned: L2OwnedHandle): Outcome {
  const out = Buffer.alloc(256, 0xa5);
  const r = n.l2AnswerTest(kind, frame, length, iface.ifindex, iface.mac, owned, out);
  return r > 0 ? { r, bytes: Buffer.from(out.subarray(0, r)) } : { r };
}

/** Throws (with the frame in hex) unless C and TypeScript agree; returns the outcome. */
export function agree(n: IronlbNative, kind: Kind, frame: Buffer, length: number, iface: ResponderInterfaceView, c: L2OwnedHandle, ts: OwnedAddresses): number {
  const want = tsAnswer(kind, frame, length, iface, ts);
  const got = cAnswer(n, kind, frame, length, iface, c);
  if (got.r !== want.r || (want.bytes && !want.bytes.equals(got.bytes!))) {
    const show = (o: Outcome) => `${o.r}${o.bytes ? ` ${o.bytes.toString('hex')}` : ''}`;
    throw new Error(`${kind} on ifindex ${iface.ifindex}, length ${length}, frame ${frame.toString('hex')}: C ${show(got)}, TS ${show(want)}`);
  }
  return want.r;
}

// ---- pools: small, so that tables, targets and MACs meet often --------------------------------

export const IFACE_MACS = ['02:00:00:00:00:11', '02:00:00:00:00:12'].map(parseMac);
export const V4_POOL = ['198.51.100.90', '198.51.100.91', '198.51.100.92', '10.0.0.1'].map(parseIPv4);
/** ::90 twice over (same low 32 bits and solicited-node group), a link-local one, another. */
export const V6_POOL = ['2001:db8:1::90', '2001:db8:2::90', 'fe80::91', '2001:db8::1:92'].map(parseIPv6);
const CLIENT_MAC = parseMac('02:00:00:00:00:10');
const MAC_POOL = [CLIENT_MAC, parseMac('02:00:00:00:00:42'), ...IFACE_MACS, parseMac('ff:ff:ff:ff:ff:ff'), parseMac('00:00:00:00:00:00'), parseMac('01:00:5e:00:00:01'), parseMac('33:33:00:00:00:01')];
const CLIENT_V4 = parseIPv4('198.51.100.10');
const CLIENT_V6 = parseIPv6('2001:db8:1::10');

/** `arb` with probability `p`, else null. */
const sometimes = <T>(arb: fc.Arbitrary<T>, p: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: Math.round(p * 100), arbitrary: arb }, { weight: Math.round((1 - p) * 100), arbitrary: fc.constant(null) });

const pick = <T>(pool: readonly T[], weightFirst = 1): fc.Arbitrary<T> =>
  fc.oneof({ weight: weightFirst, arbitrary: fc.constant(pool[0]) }, { weight: 1, arbitrary: fc.constantFrom(...pool) });

export const macArb = pick(MAC_POOL, 4);
const v4Arb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...V4_POOL) }, { weight: 1, arbitrary: fc.constant(parseIPv4('198.51.100.99')) });
const v6Arb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...V6_POOL) }, { weight: 1, arbitrary: fc.constantFrom(...['2001:db8:1::99', 'ff02::1'].map(parseIPv6)) });

export const entriesArb: fc.Arbitrary<L2OwnedEntry[]> = fc.array(
  fc.record({
    ip: fc.oneof(fc.constantFrom(...V4_POOL), fc.constantFrom(...V6_POOL)),
    ifindexes: sometimes(fc.subarray([1, 2, 3, 4]), 0.35),
  }),
  { maxLength: 12 },
);

export const ifaceArb: fc.Arbitrary<ResponderInterfaceView> = fc.record({
  ifindex: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 ** 31 - 1 }) }),
  mac: fc.constantFrom(...IFACE_MACS),
});

// ---- frames -------------------------------------------------------------------------------------

export const arpArb: fc.Arbitrary<Buffer> = fc
  .record({ sha: macArb, ethSrc: sometimes(macArb, 0.2), spa: fc.constantFrom(CLIENT_V4, ...V4_POOL), tpa: v4Arb, to: sometimes(macArb, 0.3), op: fc.constantFrom(1, 1, 1, 2, 0, 3) })
  .map(({ sha, ethSrc, spa, tpa, to, op }) => {
    const f = buildArpRequest(sha, spa, tpa, to ?? undefined);
    if (ethSrc) ethSrc.copy(f, 6);
    f.writeUInt16BE(op, 20);
    return f;
  });

const optionArb: fc.Arbitrary<NdpOption> = fc.oneof(
  fc.record({ kind: fc.constant('sourceLinkLayerAddress' as const), address: macArb }),
  fc.record({ kind: fc.constant('targetLinkLayerAddress' as const), address: macArb }),
  fc.record({ kind: fc.constant('raw' as const), type: fc.constantFrom(1, 2, 3, 14), data: fc.oneof(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.uint8Array({ minLength: 14, maxLength: 14 })).map((b) => Buffer.from(b)) }),
);

export const ndpArb: fc.Arbitrary<Buffer> = fc
  .record({
    na: fc.constantFrom(false, false, false, true),
    solicited: fc.boolean(),
    sourceMac: macArb,
    sourceIp: fc.constantFrom(CLIENT_V6, CLIENT_V6, parseIPv6('::'), parseIPv6('fe80::99'), parseIPv6('ff02::1'), ...V6_POOL),
    target: v6Arb,
    dst: fc.constantFrom('snm', 'snm', 'target', 'other', 'snmOther', 'allNodes'),
    ethDst: sometimes(macArb, 0.25),
    options: sometimes(fc.array(optionArb, { maxLength: 3 }), 0.4),
    hopLimit: fc.constantFrom(255, 255, 255, 64),
  })
  .map((s) => {
    const other = parseIPv6('2001:db8:1::77');
    const dsts: Record<string, Buffer> = { snm: solicitedNodeMulticast(s.target), target: s.target, other, snmOther: solicitedNodeMulticast(other), allNodes: parseIPv6('ff02::1') };
    const dstIp = dsts[s.dst];
    const dad = s.sourceIp.every((b) => b === 0);
    const options = s.options ?? (dad ? [] : [{ kind: 'sourceLinkLayerAddress' as const, address: s.sourceMac }]);
    const message: NdpMessage = s.na
      ? { type: 'neighborAdvertisement', router: false, solicited: s.solicited, override: true, targetAddress: s.target, options }
      : { type: 'neighborSolicitation', targetAddress: s.target, options };
    const destinationMac = s.ethDst ?? (dstIp[0] === 0xff ? ipv6MulticastMac(dstIp) : IFACE_MACS[0]);
    return ndpFrameBytes({ sourceMac: s.sourceMac, destinationMac, sourceIp: s.sourceIp, destinationIp: dstIp, message, hopLimit: s.hopLimit });
  });

/** One 802.1Q tag inserted after the MAC addresses. */
export function vlanTagged(f: Buffer, tci = 5): Buffer {
  const tag = Buffer.from([0x81, 0x00, tci >> 8, tci & 0xff]);
  return Buffer.concat([f.subarray(0, 12), tag, f.subarray(12)]);
}

/** Recomputes the ICMPv6 checksum of an IPv6 frame (untagged or one tag) when its lengths allow. */
export function fixChecksum(f: Buffer): void {
  const p = f.length >= 14 && f.readUInt16BE(12) === 0x8100 ? 18 : 14;
  if (f.length < p + 40 || f.readUInt16BE(p - 2) !== 0x86dd) return;
  const n = f.readUInt16BE(p + 4);
  const m = p + 40;
  if (n < 4 || m + n > f.length) return;
  f.writeUInt16BE(0, m + 2);
  f.writeUInt16BE(icmpv6Checksum(f.subarray(p + 8, p + 24), f.subarray(p + 24, p + 40), f.subarray(m, m + n)), m + 2);
}

/** A frame and the length to hand over with it (which may cut it short or exceed it). */
export interface Case {
  frame: Buffer;
  length: number;
}

/** Valid-looking frames, then: an optional tag, byte flips anywhere, an optional checksum fix-up
 * (so that flips past the checksum reach the later checks), appended bytes, a random length. */
export function mutated(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Case> {
  return fc
    .record({
      frame: base,
      vlan: sometimes(fc.integer({ min: 0, max: 0xffff }), 0.1),
      flips: fc.oneof(fc.constant([]), fc.array(fc.record({ at: fc.nat(109), x: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 3 })),
      fix: fc.boolean(),
      tail: fc.oneof({ weight: 3, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }) }),
      cut: sometimes(fc.nat(120), 0.15),
    })
    .map(({ frame, vlan, flips, fix, tail, cut }) => {
      let f = vlan === null ? Buffer.from(frame) : vlanTagged(frame, vlan);
      for (const { at, x } of flips) if (at < f.length) f[at] ^= x;
      if (fix) fixChecksum(f);
      f = Buffer.concat([f, tail]);
      return { frame: f, length: cut ?? f.length };
    });
}

/** An untagged NS or NA from random bytes: the fixed fields right (EtherType, version, payload
 * length, next header, hop limit, a pool target, mostly the right group), then option headers of
 * random kinds and lengths (0 and too long included) over random data, then the checksum fixed, so
 * that the option parser and everything after it see all kinds of options. */
export const ndpShapedArb: fc.Arbitrary<Case> = fc
  .record({
    head: fc.uint8Array({ minLength: 78, maxLength: 78 }),
    type: fc.constantFrom(135, 135, 135, 136, 128), // 128: past the checksum to notRequest, odd lengths too
    code: fc.constantFrom(0, 0, 0, 0, 1),
    target: v6Arb,
    src: fc.constantFrom(CLIENT_V6, CLIENT_V6, parseIPv6('::'), parseIPv6('ff02::2')),
    ethSrc: macArb,
    groupMac: fc.constantFrom(true, true, true, false),
    options: fc.array(fc.record({ type: fc.constantFrom(1, 1, 2, 3, 255), units: fc.constantFrom(1, 1, 1, 2, 0, 40), data: fc.uint8Array({ minLength: 14, maxLength: 14 }) }), { maxLength: 4 }),
    tail: sometimes(fc.uint8Array({ minLength: 1, maxLength: 7 }), 0.1),
  })
  .map(({ head, type, code, target, src, ethSrc, groupMac, options, tail }) => {
    const opts = options.map(({ type: t, units, data }) => Buffer.concat([Buffer.from([t, units]), Buffer.from(data.subarray(0, Math.max(6, Math.min(14, units * 8 - 2))))]));
    const f = Buffer.concat([Buffer.from(head), ...opts, Buffer.from(tail ?? [])]);
    if (groupMac) ipv6MulticastMac(solicitedNodeMulticast(target)).copy(f, 0);
    ethSrc.copy(f, 6);
    f.writeUInt16BE(0x86dd, 12);
    f[14] = 0x60;
    f.writeUInt16BE(f.length - 54, 18);
    f[20] = 58;
    f[21] = 255;
    src.copy(f, 22);
    solicitedNodeMulticast(target).copy(f, 38);
    f[54] = type;
    f[55] = code;
    target.copy(f, 62);
    fixChecksum(f);
    return { frame: f, length: f.length };
  });

export const randomArb: fc.Arbitrary<Case> = fc
  .record({ bytes: fc.uint8Array({ maxLength: 120 }), length: sometimes(fc.nat(130), 0.3) })
  .map(({ bytes, length }) => ({ frame: Buffer.from(bytes), length: length ?? bytes.length }));
