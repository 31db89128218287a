// Wire format of the speaker heartbeats (pure). One UDP datagram, big-endian:
//
//   0  "ILHB" magic            4 bytes
//   4  version (2)             u8
//   5  flags                   u8   (LEAVING 0x01, ACK 0x02, STARTING 0x04, NO_LAYER2 0x08, AUDIT_SILENT 0x10,
//                                    AUDIT_CONTESTED 0x20, DATAPATH_DOWN 0x40, API_OK 0x80; unknown bits are ignored, so
//                                    new flags need no new version)
//   6  key id                  u32  (which shared key signed it: heartbeatKey(); lets the receiver
//                                    pick the key before any crypto and tell a stale key from a forgery)
//  10  sender name length      u8   then the UTF-8 sender node name
//   .  addressee name length   u8   then the UTF-8 addressee node name
//   .  incarnation             u64  (sender's life: grows on every restart, kept in its Lease)
//   .  sequence                u64  (strictly increasing per incarnation and addressee)
//   .  timestamp               u64  (sender's monotonic clock, ms; only compared with that clock)
//   .  echo timestamp          u64  (the last timestamp received from the addressee, 0 if none)
//   .  echo delay              u32  (ms the echoed timestamp was held before this send)
//   .  echo incarnation        u64  (the addressee's newest incarnation the sender accepted, 0 if none)
//   .  echo sequence           u64  (the last sequence the sender accepted from the addressee in it)
//   .  HMAC-SHA256             32   over every byte before it
//
// The MAC covers the addressee, and sequences are per addressee, so a packet A sent to B is
// worthless to C (issue 14.2): C drops it as misaddressed before any crypto. The echo incarnation
// and sequence let a speaker whose stored incarnation was lost learn that it must move past it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const HEARTBEAT_MAGIC = Buffer.from('ILHB', 'ascii');
export const HEARTBEAT_MAGIC_U32 = HEARTBEAT_MAGIC.readUInt32BE(0);
export const HEARTBEAT_VERSION = 2;
export const FLAG_LEAVING = 0x01;
/** The sender counts the addressee alive (heard and Lease-fenced): used to fence rejoining nodes. */
export const FLAG_ACK = 0x02;
/** The sender is up but not yet announcing (start-up settle): hear it, do not elect it yet. */
export const FLAG_STARTING = 0x04;
/** The sender has no usable layer-2 interface (all down or without carrier): elect someone else. */
export const FLAG_NO_LAYER2 = 0x08;
/** To the addressee: its announcements failed the sender's audit (no answer from its MAC). */
export const FLAG_AUDIT_SILENT = 0x10;
/** To the addressee: it answers in the sender's audit, and so does another of our speakers. */
export const FLAG_AUDIT_CONTESTED = 0x20;
/** The sender's data path fails its health check (kube-proxy): pools with datapath-check elect someone else.
 * Speakers before this flag ignore it (unknown bits), so during a rolling upgrade they still elect the sender. */
export const FLAG_DATAPATH_DOWN = 0x40;
/** The sender's Lease renewals go through and its Lease watch is up: it could prove a silent peer
 * dead now. A speaker cut off from the API server that hears this withdraws before its Lease runs
 * out (self-fence.ts). Speakers before this flag never set it, so with them nobody fences. */
export const FLAG_API_OK = 0x80;
export const MAC_LEN = 32;
const NAMES_AT = 10;
/** Everything but the two names. */
const FIXED = NAMES_AT + 1 + 1 + 8 * 6 + 4 + MAC_LEN;
const MAX_NAME = 255;
/** Smallest and largest well-formed heartbeat (one-byte and 255-byte names). */
export const HEARTBEAT_MIN_LEN = FIXED + 2;
export const HEARTBEAT_MAX_LEN = FIXED + 2 * MAX_NAME;

export interface Heartbeat {
  /** Sender node name. */
  node: string;
  addressee: string;
  incarnation: number;
  sequence: number;
  timestamp: number;
  flags: number;
  echoTimestamp: number;
  echoDelayMs: number;
  echoIncarnation: number;
  echoSequence: number;
}

/** A shared key and its public id (the first 4 bytes of a hash of it). */
export interface HeartbeatKey {
  id: number;
  secret: Buffer;
}

export function heartbeatKey(secret: Buffer): HeartbeatKey {
  const id = createHash('sha256').update('ironlb heartbeat key id\0').update(secret).digest().readUInt32BE(0);
  return { id, secret };
}

/** The fields readable before any crypto, with the byte ranges of the names (no string decoding). */
export interface HeartbeatHeader {
  flags: number;
  keyId: number;
  senderStart: number;
  senderEnd: number;
  addresseeStart: number;
  addresseeEnd: number;
  incarnation: number;
  sequence: number;
}

export type DecodeResult = { ok: true; heartbeat: Heartbeat } | { ok: false; reason: 'malformed' | 'forged' };

export function encodeHeartbeat(hb: Heartbeat, key: HeartbeatKey): Buffer {
  const sender = nameBytes(hb.node, 'sender');
  const addressee = nameBytes(hb.addressee, 'addressee');
  const buf = Buffer.alloc(FIXED + sender.length + addressee.length);
  let o = HEARTBEAT_MAGIC.copy(buf, 0);
  buf.writeUInt8(HEARTBEAT_VERSION, o++);
  buf.writeUInt8(hb.flags & 0xff, o++);
  buf.writeUInt32BE(key.id >>> 0, o);
  o += 4;
  for (const name of [sender, addressee]) {
    buf.writeUInt8(name.length, o++);
    o += name.copy(buf, o);
  }
  for (const v of [hb.incarnation, hb.sequence, hb.timestamp, hb.echoTimestamp]) o = writeU64(buf, o, v);
  buf.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(hb.echoDelayMs))), o);
  o += 4;
  for (const v of [hb.echoIncarnation, hb.echoSequence]) o = writeU64(buf, o, v);
  mac(key.secret, buf.subarray(0, o)).copy(buf, o);
  return buf;
}

/**
 * The header of a heartbeat-shaped datagram, without any crypto: undefined when it is not one
 * (wrong magic, version or length; a u64 above 2^53 - 1).
 */
export function parseHeader(buf: Buffer): HeartbeatHeader | undefined {
  if (buf.length < HEARTBEAT_MIN_LEN || buf.length > HEARTBEAT_MAX_LEN) return undefined;
  if (buf.readUInt32BE(0) !== HEARTBEAT_MAGIC_U32 || buf[4] !== HEARTBEAT_VERSION) return undefined;
  const senderLen = buf[NAMES_AT];
  const senderStart = NAMES_AT + 1;
  const addresseeLenAt = senderStart + senderLen;
  if (senderLen === 0 || addresseeLenAt >= buf.length) return undefined;
  const addresseeLen = buf[addresseeLenAt];
  if (addresseeLen === 0 || buf.length !== FIXED + senderLen + addresseeLen) return undefined;
  const addresseeStart = addresseeLenAt + 1;
  const fieldsAt = addresseeStart + addresseeLen;
  const incarnation = readU64(buf, fieldsAt);
  const sequence = readU64(buf, fieldsAt + 8);
  if (incarnation === undefined || sequence === undefined) return undefined;
  return {
    flags: buf[5],
    keyId: buf.readUInt32BE(6),
    senderStart,
    senderEnd: senderStart + senderLen,
    addresseeStart,
    addresseeEnd: fieldsAt,
    incarnation,
    sequence,
  };
}

/** Whether the MAC of a heartbeat-shaped datagram is right for `secret`. */
export function verifyHeartbeat(buf: Buffer, secret: Buffer): boolean {
  const body = buf.subarray(0, buf.length - MAC_LEN);
  return timingSafeEqual(mac(secret, body), buf.subarray(buf.length - MAC_LEN));
}

/** Every field of a datagram already known to be well-formed (parseHeader) and authentic. */
export function readHeartbeat(buf: Buffer, h: HeartbeatHeader): Heartbeat {
  let o = h.addresseeEnd + 16;
  const next = (): number => {
    const v = readU64(buf, o) ?? Number.MAX_SAFE_INTEGER;
    o += 8;
    return v;
  };
  const timestamp = next();
  const echoTimestamp = next();
  const echoDelayMs = buf.readUInt32BE(o);
  o += 4;
  const echoIncarnation = next();
  const echoSequence = next();
  return {
    node: buf.toString('utf8', h.senderStart, h.senderEnd),
    addressee: buf.toString('utf8', h.addresseeStart, h.addresseeEnd),
    incarnation: h.incarnation,
    sequence: h.sequence,
    timestamp,
    flags: h.flags,
    echoTimestamp,
    echoDelayMs,
    echoIncarnation,
    echoSequence,
  };
}

/** parseHeader + verifyHeartbeat + readHeartbeat with one key (tests, tools). */
export function decodeHeartbeat(buf: Buffer, key: HeartbeatKey): DecodeResult {
  const h = parseHeader(buf);
  if (!h) return { ok: false, reason: 'malformed' };
  if (h.keyId !== key.id || !verifyHeartbeat(buf, key.secret)) return { ok: false, reason: 'forged' };
  return { ok: true, heartbeat: readHeartbeat(buf, h) };
}

/** Payload offset of the sequence field (for test tools that number forged datagrams). */
export function sequenceOffset(buf: Buffer): number {
  const h = parseHeader(buf);
  if (!h) throw new Error('not a heartbeat');
  return h.addresseeEnd + 8;
}

function nameBytes(name: string, what: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > MAX_NAME) throw new Error(`${what} name of ${b.length} bytes cannot be encoded`);
  return b;
}

function writeU64(buf: Buffer, o: number, v: number): number {
  const n = Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(v)));
  buf.writeUInt32BE(Math.floor(n / 2 ** 32), o);
  buf.writeUInt32BE(n % 2 ** 32, o + 4);
  return o + 8;
}

/** A u64 as a number, or undefined above 2^53 - 1 (never sent by a speaker). */
function readU64(buf: Buffer, o: number): number | undefined {
  const hi = buf.readUInt32BE(o);
  if (hi > 0x1fffff) return undefined;
  return hi * 2 ** 32 + buf.readUInt32BE(o + 4);
}

function mac(secret: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}
