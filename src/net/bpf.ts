// Classic BPF programs attached to the responder's packet sockets so that only frames worth
// looking at wake the worker: ARP requests, and ICMPv6 Neighbor Solicitations.
import type { BpfInstruction } from './native';

// linux/filter.h opcodes
const BPF_LD = 0x00;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_H = 0x08;
const BPF_B = 0x10;
const BPF_ABS = 0x20;
const BPF_JEQ = 0x10;
const BPF_K = 0x00;

export const LDH_ABS = BPF_LD | BPF_H | BPF_ABS;
export const LDB_ABS = BPF_LD | BPF_B | BPF_ABS;
export const JEQ_K = BPF_JMP | BPF_JEQ | BPF_K;
export const RET_K = BPF_RET | BPF_K;

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

/**
 * Runs a program over a frame in TS (same semantics as the kernel for the opcodes used here):
 * returns the accept length (0 = drop). Used by the unit tests to check the programs.
 */
export function runFilter(prog: readonly BpfInstruction[], frame: Uint8Array): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc];
    switch (code) {
      case LDH_ABS:
        if (k + 2 > frame.length) return 0;
        a = (frame[k] << 8) | frame[k + 1];
        break;
      case LDB_ABS:
        if (k + 1 > frame.length) return 0;
        a = frame[k];
        break;
      case JEQ_K:
        pc += a === k ? jt : jf;
        break;
      case RET_K:
        return k;
      default:
        throw new Error(`bpf: unsupported opcode 0x${code.toString(16)}`);
    }
  }
  return 0;
}
