// Text <-> bytes for the addresses the layer-2 codecs carry: MAC (6 bytes), IPv4 (4), IPv6 (16).
// Parsers return undefined for bad text (try*) or throw EncodeError (parse*).
import { EncodeError } from './errors';

export const BROADCAST_MAC: Buffer = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: Buffer = Buffer.alloc(6);

export function tryParseMac(text: string): Buffer | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(
    text.trim(),
  );
  if (!m) return undefined;
  return Buffer.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
}

export function parseMac(text: string): Buffer {
  const b = tryParseMac(text);
  if (!b) throw new EncodeError(`invalid MAC address: ${JSON.stringify(text)}`);
  return b;
}

export function formatMac(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < b.length; i++) parts.push(b[i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function tryParseIPv4(text: string): Buffer | undefined {
  const s = text.trim();
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return undefined;
  const parts = s.split('.');
  if (parts.some((p) => Number(p) > 255 || (p.length > 1 && p.startsWith('0')))) return undefined;
  return Buffer.from(parts.map(Number));
}

export function parseIPv4(text: string): Buffer {
  const b = tryParseIPv4(text);
  if (!b) throw new EncodeError(`invalid IPv4 address: ${JSON.stringify(text)}`);
  return b;
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** IPv4 address as an unsigned 32-bit number (the responder's lookup key). */
export function ipv4ToNumber(b: Uint8Array, offset = 0): number {
  return ((b[offset] << 24) >>> 0) + ((b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3]);
}

export function numberToIPv4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function tryParseIPv6(text: string): Buffer | undefined {
  let s = text.trim();
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct); // zone index is not part of the address
  if (s === '' || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = tryParseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
}

export function parseIPv6(text: string): Buffer {
  const b = tryParseIPv6(text);
  if (!b) throw new EncodeError(`invalid IPv6 address: ${JSON.stringify(text)}`);
  return b;
}

/** RFC 5952 text: lower case, longest run (>= 2) of zero groups compressed, first one on a tie. */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export type IpFamily = 4 | 6;

/** Parses either family; undefined for bad text. */
export function tryParseIP(text: string): { family: IpFamily; bytes: Buffer } | undefined {
  const v4 = tryParseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = tryParseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

export function isMulticastIPv6(b: Uint8Array): boolean {
  return b[0] === 0xff;
}

export function isUnspecifiedIPv6(b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (b[i] !== 0) return false;
  return true;
}

export function isLinkLocalIPv6(b: Uint8Array): boolean {
  return b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
