// Classic BPF programs attached to the responder's packet sockets so that only frames worth
// looking at wake the worker: ARP requests, and ICMPv6 Neighbor Solicitations; and to the
// speaker's heartbeat UDP sockets, so that datagrams from anyone but a peer never reach user space.
import type { BpfInstruction } from './native';

// linux/filter.h opcodes
const BPF_LD = 0x00;
const BPF_JMP = 0x05;
const BPF_JA = 0x00;
const BPF_RET = 0x06;
const BPF_W = 0x00;
const BPF_H = 0x08;
const BPF_B = 0x10;
const BPF_ABS = 0x20;
const BPF_JEQ = 0x10;
const BPF_JGT = 0x20;
const BPF_JGE = 0x30;
const BPF_K = 0x00;

export const LDH_ABS = BPF_LD | BPF_H | BPF_ABS;
export const LDB_ABS = BPF_LD | BPF_B | BPF_ABS;
export const JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
export const RET_K = BPF_RET | BPF_K;
export const LDW_ABS = BPF_LD | BPF_W | BPF_ABS;
export const JGT_K = BPF_JMP | BPF_JGT | BPF_K;
export const JGE_K = BPF_JMP | BPF_JGE | BPF_K;
/** Unconditional jump by k (32 bits: past the 255 limit of conditional jumps). */
export const JA = BPF_JMP | BPF_JA;
/** linux/filter.h SKF_NET_OFF: absolute loads at this offset + n read the network header. */
export const SKF_NET_OFF = -0x100000;
/** BPF_MAXINSNS. */
export const MAX_FILTER_INSTRUCTIONS = 4096;

/** Accept length: the whole frame (the kernel truncates to what fits). */
const ACCEPT = 0x40000;

function ins(code: number, jt: number, jf: number, k: number): BpfInstruction {
  return [code, jt, jf, k >>> 0];
}

/**
 * Builds "every (offset, size, value) matches -> accept, else drop". Offsets are from the start
 * of the Ethernet header (untagged frames; the kernel strips hardware-accelerated VLAN tags).
 */
export function matchAll(checks: ReadonlyArray<{ offset: number; size: 1 | 2; value: number }>): BpfInstruction[] {
  const prog: BpfInstruction[] = [];
  const n = checks.length;
  checks.forEach((c, i) => {
    prog.push(ins(c.size === 2 ? LDH_ABS : LDB_ABS, 0, 0, c.offset));
    // on mismatch jump to the final "drop"; remaining instructions after this jump: 2*(n-i-1) + 1
    const toDrop = 2 * (n - i - 1) + 1;
    prog.push(ins(JEQ_K, 0, toDrop, c.value));
  });
  prog.push(ins(RET_K, 0, 0, ACCEPT));
  prog.push(ins(RET_K, 0, 0, 0));
  return prog;
}

/** Ethernet type ARP and ARP operation 1 (request). */
export function arpRequestFilter(): BpfInstruction[] {
  return matchAll([
    { offset: 12, size: 2, value: 0x0806 },
    { offset: 20, size: 2, value: 1 },
  ]);
}

/** ARP replies only (load generators and probes). */
export function arpReplyFilter(): BpfInstruction[] {
  return matchAll([
    { offset: 12, size: 2, value: 0x0806 },
    { offset: 20, size: 2, value: 2 },
  ]);
}

/**
 * Ethernet type ARP, operation request or reply: the responder answers requests and reads every
 * ARP frame's sender for address conflicts (a reply to its probe, a foreign gratuitous ARP).
 */
export function arpFilter(): BpfInstruction[] {
  return [
    ins(LDH_ABS, 0, 0, 12),
    ins(JEQ_K, 0, 4, 0x0806),
    ins(LDH_ABS, 0, 0, 20),
    ins(JEQ_K, 1, 0, 1),
    ins(JEQ_K, 0, 1, 2),
    ins(RET_K, 0, 0, ACCEPT),
    ins(RET_K, 0, 0, 0),
  ];
}

/** Most addresses arpFilterFor compares in-kernel; beyond, every ARP frame is accepted (arpFilter). */
export const MAX_FILTERED_ARP_ADDRESSES = 1800;
/** Compares per block: each jumps past the rest of its block to one shared accept (jt is 8 bits). */
const BLOCK = 200;

/**
 * Like arpFilter, but a request passes only when its target or sender protocol address is one of
 * `addresses` (the ones this node answers, probes or watches for conflicts): a flood of requests
 * for other addresses is dropped by the kernel and never queues ahead of a legitimate request.
 * Replies always pass (answers to probes and audits, foreign claims). Empty: no request passes.
 * More than MAX_FILTERED_ARP_ADDRESSES: arpFilter() (every request reaches user space).
 */
export function arpFilterFor(addresses: readonly Uint8Array[]): BpfInstruction[] {
  if (addresses.length > MAX_FILTERED_ARP_ADDRESSES) return arpFilter();
  const values = [...new Set(addresses.map((a) => word(a, 0)))];
  const prog: BpfInstruction[] = [
    ins(LDH_ABS, 0, 0, 12),
    ins(JEQ_K, 1, 0, 0x0806),
    ins(RET_K, 0, 0, 0),
    ins(LDH_ABS, 0, 0, 20),
    ins(JEQ_K, 0, 1, 2),
    ins(RET_K, 0, 0, ACCEPT), // a reply
    ins(JEQ_K, 1, 0, 1),
    ins(RET_K, 0, 0, 0), // neither request nor reply
  ];
  // Target protocol address (Ethernet 14 + ARP 24), then sender protocol address (14 + 14).
  for (const offset of [38, 28]) {
    prog.push(ins(LDW_ABS, 0, 0, offset));
    for (let start = 0; start < values.length; start += BLOCK) {
      const block = values.slice(start, start + BLOCK);
      // On a match skip the rest of the block and its "ja" to land on the accept.
      block.forEach((v, i) => prog.push(ins(JEQ_K, block.length - i, 0, v)));
      prog.push(ins(JA, 0, 0, 1), ins(RET_K, 0, 0, ACCEPT));
    }
  }
  prog.push(ins(RET_K, 0, 0, 0));
  return prog;
}

/** IPv6 + ICMPv6 (no extension headers), type 135 (NS) or 136 (NA: answers to DAD probes, conflicts). */
export function neighborDiscoveryFilter(): BpfInstruction[] {
  return [
    ins(LDH_ABS, 0, 0, 12),
    ins(JEQ_K, 0, 6, 0x86dd),
    ins(LDB_ABS, 0, 0, 20),
    ins(JEQ_K, 0, 4, 58),
    ins(LDB_ABS, 0, 0, 54),
    ins(JEQ_K, 1, 0, 135),
    ins(JEQ_K, 0, 1, 136),
    ins(RET_K, 0, 0, ACCEPT),
    ins(RET_K, 0, 0, 0),
  ];
}

export const MAX_FILTERED_NDP_ADDRESSES = 220;
/** Instructions per address and checked field: four word loads and compares, and a jump to the accept. */
const PER_NDP_ADDRESS = 9;

/**
 * Like neighborDiscoveryFilter, but a Neighbor Solicitation passes only when its target address
 * or its IPv6 source is one of `addresses` (16 bytes each: the ones this node answers, probes or
 * watches for conflicts), so that a flood of solicitations for other addresses is dropped by the
 * kernel and never queues ahead of a legitimate one. Advertisements always pass (answers to probes
 * and audits, foreign claims). Empty: no solicitation passes. More than MAX_FILTERED_NDP_ADDRESSES
 * (the compares take 18 instructions per address): neighborDiscoveryFilter().
 */
export function neighborDiscoveryFilterFor(addresses: readonly Uint8Array[]): BpfInstruction[] {
  if (addresses.length > MAX_FILTERED_NDP_ADDRESSES) return neighborDiscoveryFilter();
  const unique = new Map<string, number[]>();
  for (const a of addresses) unique.set(Buffer.from(a).toString('hex'), [0, 4, 8, 12].map((o) => word(a, o)));
  const prog: BpfInstruction[] = [
    ins(LDH_ABS, 0, 0, 12),
    ins(JEQ_K, 1, 0, 0x86dd),
    ins(RET_K, 0, 0, 0),
    ins(LDB_ABS, 0, 0, 20),
    ins(JEQ_K, 1, 0, 58),
    ins(RET_K, 0, 0, 0),
    ins(LDB_ABS, 0, 0, 54),
    ins(JEQ_K, 0, 1, 136),
    ins(RET_K, 0, 0, ACCEPT), // an advertisement
    ins(JEQ_K, 1, 0, 135),
    ins(RET_K, 0, 0, 0), // neither solicitation nor advertisement
  ];
  const jumpsToAccept: number[] = [];
  // The solicitation's target (Ethernet 14 + IPv6 40 + ICMPv6 8), then the IPv6 source (14 + 8).
  for (const offset of [62, 22]) {
    for (const words of unique.values()) {
      // A mismatched word skips the rest of this address's compares (and its jump to the accept).
      words.forEach((w, i) => prog.push(ins(LDW_ABS, 0, 0, offset + 4 * i), ins(JEQ_K, 0, PER_NDP_ADDRESS - 2 * (i + 1), w)));
      jumpsToAccept.push(prog.length);
      prog.push(ins(JA, 0, 0, 0));
    }
  }
  prog.push(ins(RET_K, 0, 0, 0));
  const accept = prog.length;
  prog.push(ins(RET_K, 0, 0, ACCEPT));
  for (const at of jumpsToAccept) prog[at] = ins(JA, 0, 0, accept - at - 1);
  return prog;
}

/** IPv6, next header ICMPv6 (no extension headers), ICMPv6 type `icmpType` (135 = NS). */
export function icmpv6TypeFilter(icmpType: number): BpfInstruction[] {
  return matchAll([
    { offset: 12, size: 2, value: 0x86dd },
    { offset: 20, size: 1, value: 58 },
    { offset: 54, size: 1, value: icmpType },
  ]);
}

export function neighborSolicitationFilter(): BpfInstruction[] {
  return icmpv6TypeFilter(135);
}

export function neighborAdvertisementFilter(): BpfInstruction[] {
  return icmpv6TypeFilter(136);
}

/** What a heartbeat datagram looks like before any crypto: payload size range and first five bytes. */
export interface UdpHeartbeatShape {
  minPayload: number;
  maxPayload: number;
  /** Payload bytes 0-3, big-endian. */
  magic: number;
  /** Payload byte 4. */
  version: number;
}

const UDP_HEADER = 8;
const SHAPE_INSTRUCTIONS = 11;
const PER_SOURCE = { 4: 2, 6: 9 } as const;

/** How many source addresses a heartbeat filter can list within the kernel's instruction limit. */
export function maxFilteredSources(family: 4 | 6): number {
  return Math.floor((MAX_FILTER_INSTRUCTIONS - SHAPE_INSTRUCTIONS - 2) / PER_SOURCE[family]);
}

/**
 * Socket filter for a UDP socket of `family`: accepts a datagram only if its payload has the
 * heartbeat shape and, unless `sources` is undefined, its IP source address is one of `sources`
 * (4 or 16 bytes each; an empty list accepts nothing). On UDP sockets the program sees the UDP
 * header at offset 0; the IP header is read through SKF_NET_OFF.
 */
export function udpHeartbeatFilter(family: 4 | 6, shape: UdpHeartbeatShape, sources: readonly Uint8Array[] | undefined): BpfInstruction[] {
  const len = family === 4 ? 4 : 16;
  if (sources && sources.length > maxFilteredSources(family)) throw new RangeError(`at most ${maxFilteredSources(family)} IPv${family} sources fit in a socket filter`);
  if (sources?.some((a) => a.length !== len)) throw new RangeError(`IPv${family} source addresses are ${len} bytes`);
  const drop = ins(RET_K, 0, 0, 0);
  const prog: BpfInstruction[] = [
    ins(LDH_ABS, 0, 0, 4), // UDP length (header included)
    ins(JGE_K, 1, 0, UDP_HEADER + shape.minPayload),
    drop,
    ins(JGT_K, 0, 1, UDP_HEADER + shape.maxPayload),
    drop,
    ins(LDW_ABS, 0, 0, UDP_HEADER),
    ins(JEQ_K, 1, 0, shape.magic),
    drop,
    ins(LDB_ABS, 0, 0, UDP_HEADER + 4),
    ins(JEQ_K, 1, 0, shape.version),
    drop,
  ];
  if (!sources) {
    prog.push(ins(RET_K, 0, 0, ACCEPT));
    return prog;
  }
  // Source address: IPv4 header offset 12, IPv6 header offset 8.
  if (family === 4) {
    prog.push(ins(LDW_ABS, 0, 0, SKF_NET_OFF + 12));
    for (const a of sources) prog.push(ins(JEQ_K, 0, 1, word(a, 0)), ins(RET_K, 0, 0, ACCEPT));
  } else {
    for (const a of sources) {
      // Each word compared in turn; a mismatch skips to the next address's block.
      for (let w = 0; w < 4; w++) prog.push(ins(LDW_ABS, 0, 0, SKF_NET_OFF + 8 + 4 * w), ins(JEQ_K, 0, 7 - 2 * w, word(a, 4 * w)));
      prog.push(ins(RET_K, 0, 0, ACCEPT));
    }
  }
  prog.push(drop);
  return prog;
}

function word(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Runs a program over a frame in TS (same semantics as the kernel for the opcodes used here):
 * returns the accept length (0 = drop). Used by the unit tests to check the programs. `network`:
 * what SKF_NET_OFF loads read (socket filters).
 */
export function runFilter(prog: readonly BpfInstruction[], frame: Uint8Array, network?: Uint8Array): number {
  let a = 0;
  // Absolute loads: offsets from SKF_NET_OFF read `network` (the IP header of a socket filter).
  const load = (k: number, size: number): number | undefined => {
    const signed = k | 0;
    const [buf, off] = signed < 0 && signed >= SKF_NET_OFF ? [network, signed - SKF_NET_OFF] : [frame, k];
    if (!buf || off + size > buf.length) return undefined;
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + buf[off + i];
    return v;
  };
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc];
    switch (code) {
      case LDW_ABS:
      case LDH_ABS:
      case LDB_ABS: {
        const v = load(k, code === LDW_ABS ? 4 : code === LDH_ABS ? 2 : 1);
        if (v === undefined) return 0;
        a = v;
        break;
      }
      case JEQ_K:
        pc += a === k ? jt : jf;
        break;
      case JGT_K:
        pc += a > k ? jt : jf;
        break;
      case JGE_K:
        pc += a >= k ? jt : jf;
        break;
      case JA:
        pc += k;
        break;
      case RET_K:
        return k;
      default:
        throw new Error(`bpf: unsupported opcode 0x${code.toString(16)}`);
    }
  }
  return 0;
}
