// NLRI prefixes: <length, prefix> tuples padded to whole octets (RFC 4271 §4.3, RFC 4760 §5).
import { BITS, type CIDR, type Family, formatValue, hostMask, parseCIDR } from '../../ipam/address';
import { BgpDecodeError } from './errors';
import { BufferReader } from '../buffer-reader';
import { BufferWriter } from '../buffer-writer';

export interface Prefix {
  readonly family: Family;
  /** The network address; host bits are always zero in decoded prefixes. */
  readonly addr: bigint;
  readonly length: number;
}

export function parsePrefix(text: string): Prefix {
  return prefixFromCidr(parseCIDR(text));
}

export function prefixFromCidr(c: CIDR): Prefix {
  return { family: c.family, addr: c.base, length: c.prefix };
}

export function formatPrefix(p: Prefix): string {
  return `${formatValue(p.family, p.addr)}/${p.length}`;
}

/** Octets a prefix occupies on the wire: its length byte plus the significant octets. */
export function prefixWireLength(p: Prefix): number {
  return 1 + Math.ceil(p.length / 8);
}

export function encodePrefix(w: BufferWriter, p: Prefix): void {
  const bits = BITS[p.family];
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > bits) {
    throw new RangeError(`prefix length ${p.length} invalid for IPv${p.family}`);
  }
  checkAddress(p.family, p.addr);
  const octets = Math.ceil(p.length / 8);
  // Trailing bits past the prefix length are irrelevant (RFC 4271 §4.3); send them as zero.
  const network = p.addr & ~hostMask(p.family, p.length);
  w.u8(p.length).bytes(toOctets(network, bits / 8).subarray(0, octets));
}

/** Decodes prefixes until `r` is exhausted; `fail` builds the error for the enclosing field. */
export function decodePrefixes(r: BufferReader, family: Family, fail: (detail: string) => BgpDecodeError): Prefix[] {
  const bits = BITS[family];
  const out: Prefix[] = [];
  while (r.remaining > 0) {
    const length = r.u8();
    const octets = Math.ceil(length / 8);
    const bad = badPrefix(length, bits, r.remaining);
    if (bad !== undefined) throw fail(bad);
    out.push({ family, addr: networkAddress(r.bytes(octets), family, length), length });
  }
  return out;
}

/** Why a prefix of `length` bits, with `left` octets after its length octet, cannot be read; undefined if it can. */
function badPrefix(length: number, bits: number, left: number): string | undefined {
  if (length > bits) return `prefix length ${length} exceeds ${bits}`;
  const octets = Math.ceil(length / 8);
  return octets > left ? `prefix /${length} needs ${octets} octets, ${left} left` : undefined;
}

/**
 * decodePrefixes' verdict on buf[start, end) without building a prefix: the detail of the first
 * unreadable prefix, or undefined. For fields whose routes are thrown away unread.
 */
export function checkPrefixes(buf: Buffer, start: number, end: number, family: Family): string | undefined {
  const bits = BITS[family];
  let at = start;
  while (at < end) {
    const length = buf[at++];
    const bad = badPrefix(length, bits, end - at);
    if (bad !== undefined) return bad;
    at += Math.ceil(length / 8);
  }
  return undefined;
}

export function encodePrefixes(w: BufferWriter, prefixes: readonly Prefix[], family: Family): void {
  for (const p of prefixes) {
    if (p.family !== family) throw new RangeError(`IPv${p.family} prefix where IPv${family} is required`);
    encodePrefix(w, p);
  }
}

/**
 * The address whose leading octets are `raw`, with every bit past `length` cleared (trailing
 * bits are irrelevant, RFC 4271 §4.3). Built in 32-bit words: BigInt steps dominate NLRI decoding.
 */
function networkAddress(raw: Buffer, family: Family, length: number): bigint {
  let v = 0n;
  for (let bit = 0; bit < BITS[family]; bit += 32) {
    let word = 0;
    for (let i = bit / 8; i < bit / 8 + 4; i++) word = word * 256 + (i < raw.length ? raw[i] : 0);
    const hostBits = 32 - Math.min(Math.max(length - bit, 0), 32);
    word -= word % 2 ** hostBits;
    v = (v << 32n) | BigInt(word);
  }
  return v;
}

/** Big-endian bytes of an address of `family`, the form NEXT_HOP and AGGREGATOR carry. */
export function addressBytes(family: Family, addr: bigint): Buffer {
  checkAddress(family, addr);
  return toOctets(addr, BITS[family] / 8);
}

export function addressFromBytes(b: Buffer): bigint {
  // Four octets per BigInt step: BigInt arithmetic dominates NLRI decoding.
  let v = 0n;
  for (let i = 0; i < b.length; i += 4) {
    const n = Math.min(4, b.length - i);
    v = (v << BigInt(n * 8)) | BigInt(b.readUIntBE(i, n));
  }
  return v;
}

function toOctets(v: bigint, octets: number): Buffer {
  const out = Buffer.alloc(octets);
  for (let end = octets; end > 0; end -= 4, v >>= 32n) {
    const n = Math.min(4, end);
    out.writeUIntBE(Number(v & 0xffffffffn) % 2 ** (n * 8), end - n, n);
  }
  return out;
}

function checkAddress(family: Family, addr: bigint): void {
  if (addr < 0n || addr >> BigInt(BITS[family]) !== 0n) throw new RangeError(`address ${addr} out of range for IPv${family}`);
}
