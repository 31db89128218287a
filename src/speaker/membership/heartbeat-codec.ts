// Wire format of the speaker heartbeats (pure). One UDP datagram, big-endian:
//
//   0  "ILHB" magic            4 bytes
//   4  version (1)             u8
//   5  flags                   u8   (LEAVING, ACK, STARTING, NO_LAYER2; unknown bits are ignored)
//   6  node name length        u8   then the UTF-8 node name
//   .  incarnation             u64  (sender's start time in ms: a restart is a new incarnation)
//   .  sequence                u64  (strictly increasing within an incarnation)
//   .  timestamp               u64  (sender's clock, ms; only ever compared with the sender's own clock)
//   .  echo timestamp          u64  (the last timestamp received from the addressee, 0 if none)
//   .  echo delay              u32  (ms the echoed timestamp was held before this send)
//   .  HMAC-SHA256             32   over every byte before it
//
// The HMAC covers node name, incarnation, sequence, timestamp and flags (and the echo fields),
// so a packet can be neither forged nor altered without the shared key; replays are caught by the
// receiver (sequence per incarnation, see heartbeat-view.ts).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const HEARTBEAT_MAGIC = Buffer.from('ILHB', 'ascii');
export const HEARTBEAT_VERSION = 1;
export const FLAG_LEAVING = 0x01;
/** The sender counts the addressee alive (heard and Lease-fenced): used to fence rejoining nodes. */
export const FLAG_ACK = 0x02;
/** The sender is up but not yet announcing (start-up settle): hear it, do not elect it yet. */
export const FLAG_STARTING = 0x04;
/** The sender has no usable layer-2 interface (all down or without carrier): elect someone else. */
export const FLAG_NO_LAYER2 = 0x08;
const MAC_LEN = 32;
const FIXED = 4 + 1 + 1 + 1 + 8 * 4 + 4;

export interface Heartbeat {
  node: string;
  incarnation: number;
  sequence: number;
  timestamp: number;
  flags: number;
  echoTimestamp: number;
  echoDelayMs: number;
}

export type DecodeResult = { ok: true; heartbeat: Heartbeat } | { ok: false; reason: 'malformed' | 'forged' };

export function encodeHeartbeat(hb: Heartbeat, key: Buffer): Buffer {
  const name = Buffer.from(hb.node, 'utf8');
  if (name.length === 0 || name.length > 255) throw new Error(`node name of ${name.length} bytes cannot be encoded`);
  const buf = Buffer.alloc(FIXED + name.length + MAC_LEN);
  let o = HEARTBEAT_MAGIC.copy(buf, 0);
  buf.writeUInt8(HEARTBEAT_VERSION, o++);
  buf.writeUInt8(hb.flags & 0xff, o++);
  buf.writeUInt8(name.length, o++);
  o += name.copy(buf, o);
  for (const v of [hb.incarnation, hb.sequence, hb.timestamp, hb.echoTimestamp]) {
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(v))), o);
    o += 8;
  }
  buf.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(hb.echoDelayMs))), o);
  o += 4;
  mac(key, buf.subarray(0, o)).copy(buf, o);
  return buf;
}

export function decodeHeartbeat(buf: Buffer, key: Buffer): DecodeResult {
  if (buf.length < FIXED + 1 + MAC_LEN || !buf.subarray(0, 4).equals(HEARTBEAT_MAGIC) || buf.readUInt8(4) !== HEARTBEAT_VERSION) {
    return { ok: false, reason: 'malformed' };
  }
  const nameLen = buf.readUInt8(6);
  if (nameLen === 0 || buf.length !== FIXED + nameLen + MAC_LEN) return { ok: false, reason: 'malformed' };
  const body = buf.subarray(0, buf.length - MAC_LEN);
  const expected = mac(key, body);
  if (!timingSafeEqual(expected, buf.subarray(buf.length - MAC_LEN))) return { ok: false, reason: 'forged' };
  let o = 7;
  const node = buf.toString('utf8', o, o + nameLen);
  o += nameLen;
  const u64 = (): number => {
    const v = Number(buf.readBigUInt64BE(o));
    o += 8;
    return v;
  };
  const incarnation = u64();
  const sequence = u64();
  const timestamp = u64();
  const echoTimestamp = u64();
  const echoDelayMs = buf.readUInt32BE(o);
  return { ok: true, heartbeat: { node, incarnation, sequence, timestamp, flags: buf.readUInt8(5), echoTimestamp, echoDelayMs } };
}

function mac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
