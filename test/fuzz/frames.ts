// Frame fuzzer (issue 14 item 9): mutations of real captured ARP/NDP frames (seeds.txt, from
// capture-seeds.sh, plus the hand-checked fixtures) and some random bytes, through every decoder
// and through the responder's answer path — answerArp/answerNdp directly, and the whole worker
// logic (ResponderEngine over the in-memory FakePacketIo: filters aside, what a packet socket
// would hand it). Nothing may throw; every answer must itself decode as a valid reply.
//
//   npm run fuzz:frames                 1,000,000 frames (FRAME_FUZZ_COUNT, FRAME_FUZZ_SEED)
//   test/unit/protocol/frame-fuzz.test.ts  a small run inside npm test
import * as fs from 'fs';
import * as path from 'path';
import { ETH_P_ARP, ETH_P_IPV6 } from '../../src/net/native';
import { parseIPv4, parseIPv6, parseMac } from '../../src/protocol/address';
import { ArpOperation, buildArpRequest, buildGratuitousArp, decodeArp, decodeArpFrame } from '../../src/protocol/arp';
import { BufferWriter } from '../../src/protocol/buffer-writer';
import { decodeEthernet } from '../../src/protocol/ethernet';
import { decodeIcmpv6, icmpv6Checksum } from '../../src/protocol/icmpv6';
import { decodeIpv6 } from '../../src/protocol/ipv6';
import { answerArp, answerNdp, OwnedAddresses, type ResponderInterfaceView } from '../../src/protocol/l2-responder';
import { buildNeighborSolicitation, buildUnsolicitedNeighborAdvertisement, decodeNdpFrame, decodeNdpMessage } from '../../src/protocol/ndp';
import { DEFAULT_TIMING } from '../../src/speaker/layer2/gratuitous-schedule';
import { ResponderEngine } from '../../src/speaker/layer2/responder-engine';
import type { FromWorker, ToWorker } from '../../src/speaker/layer2/responder-messages';
import type { Command } from '../../src/speaker/layer2/responder-thread';
import { FakeClock } from '../support/fake-clock';
import { FakePacketIo } from '../support/fake-packet-io';
import { prng } from '../support/prng';
import { arpReplyFrame, arpRequestFrame, neighborAdvertisementFrame, neighborSolicitationFrame } from '../unit/protocol/fixtures';

export interface FrameFuzzResult {
  inputs: number;
  /** Inputs on which something threw, or an answer did not decode as a valid reply. */
  failures: number;
  firstFailure?: { hex: string; error: string };
  /** Up to 10 distinct failure messages (first line), for triage. */
  distinct: string[];
  /** How deep the inputs got: decoded as ARP / NDP, answered directly, answered by the engine. */
  decoded: { arp: number; ndp: number };
  answered: { arp: number; ndp: number };
  engineReplies: number;
  seeds: number;
  ms: number;
}

const NODE = parseMac('02:00:00:00:00:11');
const IFACE: ResponderInterfaceView = { ifindex: 2, mac: NODE };
/** Addresses the fuzzed responder owns: the seeds' targets, so mutations reach past ownership. */
const OWNED_V4 = ['198.51.100.11', '198.51.100.10', '198.51.100.90'];
const OWNED_V6 = ['2001:db8:100::11', '2001:db8:100::10', '2001:db8:100::90'];

/** The captured frames, then the fixtures and a few builder-made shapes the captures lack. */
export function seedFrames(): Buffer[] {
  const file = path.join(__dirname, 'seeds.txt');
  const captured = fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('#'))
        .map((l) => Buffer.from(l.split('#')[0].trim(), 'hex'))
    : [];
  const client = parseMac('02:00:00:00:00:10');
  const vip6 = parseIPv6('2001:db8:100::90');
  return [
    ...captured,
    arpRequestFrame(),
    arpReplyFrame(),
    neighborSolicitationFrame(),
    neighborAdvertisementFrame(),
    buildArpRequest(client, parseIPv4('198.51.100.10'), parseIPv4('198.51.100.90'), NODE),
    ...buildGratuitousArp(client, parseIPv4('198.51.100.90')),
    buildNeighborSolicitation({ sourceMac: client, sourceIp: parseIPv6('::'), target: vip6 }),
    buildNeighborSolicitation({ sourceMac: client, sourceIp: parseIPv6('2001:db8:100::10'), target: vip6, destinationIp: vip6, destinationMac: NODE, includeSourceLinkLayer: false }),
    buildUnsolicitedNeighborAdvertisement(client, vip6, vip6),
    Buffer.concat([Buffer.from('ffffffffffff020000000010810000640806', 'hex'), arpRequestFrame().subarray(14)]),
  ];
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x08, 0x0e, 0x11, 0x1c, 0x20, 0x3a, 0x60, 0x7f, 0x80, 0x86, 0x87, 0x88, 0xdd, 0xfe, 0xff];
/** Offsets of header fields worth hitting often: EtherType, ARP fixed fields, IPv6 length/next
 * header/hop limit, ICMPv6 type/code/checksum, the first option's type and length. */
const FIELDS = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 54, 55, 56, 57, 58, 78, 79, 86, 87];

class Mutator {
  constructor(readonly random: () => number) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  mutate(seed: Buffer, others: readonly Buffer[]): Buffer {
    let f = Buffer.from(seed);
    const edits = 1 + this.int(4);
    for (let e = 0; e < edits; e++) {
      const at = f.length > 0 ? this.int(f.length) : 0;
      switch (this.int(10)) {
        case 0:
          if (f.length) f[at] ^= 1 << this.int(8);
          break;
        case 1:
          if (f.length) f[at] = this.pick(INTERESTING);
          break;
        case 2: {
          const field = this.pick(FIELDS);
          if (field < f.length) f[field] = this.pick(INTERESTING);
          break;
        }
        case 3:
          f = f.subarray(0, this.int(f.length + 1));
          break;
        case 4:
          f = Buffer.concat([f, this.bytes(1 + this.int(24))]);
          break;
        case 5:
          f = Buffer.concat([f.subarray(0, at), this.bytes(1 + this.int(8)), f.subarray(at)]);
          break;
        case 6:
          f = Buffer.concat([f.subarray(0, at), f.subarray(Math.min(f.length, at + 1 + this.int(8)))]);
          break;
        case 7: {
          // splice: the head of this frame, the tail of another
          const other = this.pick(others);
          f = Buffer.concat([f.subarray(0, at), other.subarray(Math.min(other.length, at))]);
          break;
        }
        case 8: {
          // repeat the last 8 bytes (an NDP option) a few times
          const tail = f.subarray(Math.max(0, f.length - 8));
          f = Buffer.concat([f, ...Array.from({ length: 1 + this.int(3) }, () => tail)]);
          break;
        }
        case 9:
          if (f.length >= 2) f.writeUInt16BE(this.int(0x10000), this.int(f.length - 1));
          break;
      }
    }
    return f;
  }

  /** Makes a mutated IPv6 frame consistent again (payload length, ICMPv6 checksum) so that the
   * mutation reaches the NDP body; points its target at an owned address now and then. */
  repair(f: Buffer): Buffer {
    if (f.length < 58 || f.readUInt16BE(12) !== 0x86dd) return f;
    if (this.random() < 0.5 && f.length >= 78) parseIPv6(this.pick(OWNED_V6)).copy(f, 62);
    if (this.random() < 0.8) f.writeUInt16BE(f.length - 54, 18);
    if (this.random() < 0.9 && f[20] === 58) {
      const len = Math.min(f.readUInt16BE(18), f.length - 54);
      f.writeUInt16BE(0, 56);
      f.writeUInt16BE(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), f.subarray(54, 54 + len)), 56);
    }
    return f;
  }
}

function owned(): OwnedAddresses {
  const o = new OwnedAddresses();
  for (const a of OWNED_V4) o.setV4(parseIPv4(a));
  for (const a of OWNED_V6) o.setV6(parseIPv6(a));
  return o;
}

/** The worker's logic on one fake interface, every answer allowed through the limiter. */
function engineUnderTest() {
  const clock = new FakeClock(0);
  const io = new FakePacketIo(clock);
  const posted: FromWorker[] = [];
  const engine = new ResponderEngine(io, io.createEventFd(), { post: (m) => posted.push(m), now: () => clock.now(), wallNow: () => clock.wallNow() });
  const cmd = (m: Command) => engine.command({ ...m, id: 1 } as ToWorker);
  cmd({ type: 'configure', interfaces: [{ name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:11' }], timing: { ...DEFAULT_TIMING, refreshIntervalMs: 0, burstDurationMs: 0 }, limit: { ratePerSecond: 0, burst: 0 } });
  cmd({ type: 'setAddresses', addresses: [...OWNED_V4, ...OWNED_V6].map((address) => ({ address })) });
  const arp = io.socketsOn(2, ETH_P_ARP)[0];
  const ndp = io.socketsOn(2, ETH_P_IPV6)[0];
  arp.sent.length = 0;
  ndp.sent.length = 0;
  const errors = posted.filter((m) => m.type === 'ack' && m.error);
  if (errors.length) throw new Error(`engine setup failed: ${JSON.stringify(errors)}`);
  return { engine, arp, ndp, answersSeen: 0 };
}

/** Checks one frame through the decoders and the direct answer functions; throws on a fault. */
function checkFrame(f: Buffer, length: number, o: OwnedAddresses, result: FrameFuzzResult): void {
  decodeEthernet(f, length);
  decodeArp(f.subarray(14), length - 14);
  decodeIpv6(f.subarray(14), length - 14);
  decodeNdpMessage(f.subarray(54), length - 54);
  if (f.length >= 54) decodeIcmpv6(f.subarray(22, 38), f.subarray(38, 54), f.subarray(54), length - 54);
  if (decodeArpFrame(f, length).ok) result.decoded.arp++;
  if (decodeNdpFrame(f, length).ok) result.decoded.ndp++;
  const arpOut = Buffer.alloc(64);
  const a = answerArp(f, length, IFACE, o, arpOut);
  if (typeof a === 'number') {
    const reply = decodeArpFrame(arpOut, a);
    if (!reply.ok || reply.value.arp.operation !== ArpOperation.Reply) throw new Error(`answerArp wrote an invalid reply: ${arpOut.subarray(0, a).toString('hex')}`);
    result.answered.arp++;
  }
  const w = new BufferWriter(Buffer.alloc(256));
  const n = answerNdp(f, length, IFACE, o, w);
  if (typeof n === 'number') {
    const na = decodeNdpFrame(w.view(0, n));
    if (!na.ok || na.value.message.type !== 'neighborAdvertisement') throw new Error(`answerNdp wrote an invalid NA: ${w.view(0, n).toString('hex')}`);
    result.answered.ndp++;
  }
}

export function fuzzFrames(count: number, seed = 0x5eed): FrameFuzzResult {
  const started = Date.now();
  const m = new Mutator(prng(seed));
  const seeds = seedFrames();
  const o = owned();
  const result: FrameFuzzResult = { inputs: 0, failures: 0, decoded: { arp: 0, ndp: 0 }, answered: { arp: 0, ndp: 0 }, engineReplies: 0, seeds: seeds.length, ms: 0, distinct: [] };
  const fail = (f: Buffer, e: unknown) => {
    result.failures++;
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    result.firstFailure ??= { hex: f.toString('hex'), error };
    const kind = error.split('\n')[0].slice(0, 40);
    if (result.distinct.length < 10 && !result.distinct.some((d) => d.startsWith(kind))) result.distinct.push(`${kind}… (input ${f.toString('hex')})`);
  };
  let eng = engineUnderTest();
  let batch: Buffer[] = [];
  const flush = () => {
    try {
      eng.engine.runSlice();
      while (eng.arp.queue.length + eng.ndp.queue.length > 0) eng.engine.runSlice();
    } catch (e) {
      // Which frame of the batch: replay them one by one on a fresh engine.
      for (const f of batch) {
        const one = engineUnderTest();
        one.arp.queue.push({ frame: f, pkttype: 1 });
        one.ndp.queue.push({ frame: f, pkttype: 1 });
        try {
          one.engine.runSlice();
        } catch (e1) {
          fail(f, e1);
        }
      }
      if (batch.length === 0) fail(Buffer.alloc(0), e);
      eng = engineUnderTest();
    }
    // Answers only: a frame claiming an owned address from a foreign MAC is also defended with a
    // gratuitous announcement (address conflict detection), which is no answer.
    const replies = eng.engine.snapshot().counters.replies;
    const answers = replies.arp + replies.ndp;
    result.engineReplies += answers - eng.answersSeen;
    eng.answersSeen = answers;
    eng.arp.sent.length = 0;
    eng.ndp.sent.length = 0;
    batch = [];
  };
  for (let i = 0; i < count; i++) {
    const f = m.random() < 0.1 ? m.bytes(m.int(128)) : m.repair(m.mutate(m.pick(seeds), seeds));
    const length = m.random() < 0.1 ? m.int(f.length + 1) : f.length;
    result.inputs++;
    try {
      checkFrame(f, length, o, result);
    } catch (e) {
      fail(f, e);
    }
    // Through the engine: as if each socket's filter had let it in.
    const frame = f.subarray(0, length);
    eng.arp.queue.push({ frame, pkttype: 1 });
    eng.ndp.queue.push({ frame, pkttype: 1 });
    batch.push(frame);
    if (batch.length >= 200) flush();
  }
  flush();
  // The worker's logic answered exactly what the answer functions answered (no limiter here).
  const direct = result.answered.arp + result.answered.ndp;
  if (result.engineReplies !== direct) fail(Buffer.alloc(0), new Error(`the engine sent ${result.engineReplies} answers, the answer functions gave ${direct}`));
  result.ms = Date.now() - started;
  return result;
}

if (require.main === module) {
  const count = Number(process.env.FRAME_FUZZ_COUNT ?? 1_000_000);
  const seed = Number(process.env.FRAME_FUZZ_SEED ?? 0x5eed);
  const r = fuzzFrames(count, seed);
  console.log(JSON.stringify({ ...r, firstFailure: r.firstFailure ? { ...r.firstFailure, error: r.firstFailure.error.split('\n').slice(0, 4).join(' | ') } : undefined }, null, 2));
  process.exitCode = r.failures === 0 ? 0 : 1;
}
