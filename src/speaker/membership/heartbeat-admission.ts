// Which received heartbeat datagrams deserve a MAC check, and the check (pure; runs on the main
// thread for each datagram the heartbeat pump passes on, heartbeat-transport.ts).
//
// The kernel filter (src/net/bpf.ts udpHeartbeatFilter) already dropped datagrams from addresses
// that are no peer's. The pump's thread (native/src/heartbeat_pump.c) drops, before anything
// reaches this thread:
//   unknown-source  the source is no peer's address (the filter is being rebuilt)
//   rate-limited    more than `ratePerSecond` (burst `burst`) datagrams from that peer's address:
//                   dropped unparsed, so a flood costs a hash lookup per datagram in that thread
//   queue-full      the main thread did not take the queued datagrams in time (oldest dropped)
// What passes is checked here, cheapest first:
//   malformed       not heartbeat-shaped (or longer than the pump's slot)
//   unknown-source  the sender named is not the one whose Lease publishes this address
//   misaddressed    addressed to another node (a relayed A->B packet, issue 14.2)
//   unknown-key     signed with a key we do not (or no longer) accept
//   replayed        not newer than the last authentic heartbeat of that sender
//   forged          bad MAC
// The rate limit caps the crypto spent per peer. A rate-limited datagram might have been the
// peer's own: the caller treats that peer as neither heard nor silent for a while
// (HeartbeatView.vouch), so a flood with spoofed peer addresses can hide a peer's death until its
// Lease expires, but can never make it, or us, look dead or isolated. A flood from one peer's
// address does not touch the others' budgets.
import { parseHeader, readHeartbeat, verifyHeartbeat, type Heartbeat, type HeartbeatKey } from './heartbeat-codec';

export const ADMISSION_DROPS = ['unknown-source', 'malformed', 'misaddressed', 'unknown-key', 'replayed', 'rate-limited', 'queue-full', 'forged'] as const;
export type AdmissionDrop = (typeof ADMISSION_DROPS)[number];

/** Map key of a source address (sourceKey()). */
export type SourceKey = number | string;

export interface AdmissionPeer {
  node: string;
  source: SourceKey;
}

export interface AdmissionOptions {
  self: string;
}

export type Admitted = { ok: true; heartbeat: Heartbeat; keyId: number } | { ok: false; reason: AdmissionDrop; node?: string };

interface Peer {
  node: string;
  name: Buffer;
}

/** How long the replay state of a node whose Lease is gone is kept (it may come back). */
const FORGET_AFTER_MS = 10 * 60_000;

/** Map key of a source address: an IPv4 address as a number (no allocation per datagram), an
 * IPv6 address as its bytes in hex. */
export function sourceKey(bytes: Uint8Array, offset = 0, length = bytes.length - offset): SourceKey {
  if (length === 4) return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('hex');
}

export class HeartbeatAdmission {
  private bySource = new Map<SourceKey, Peer>();
  private keys = new Map<number, Buffer>();
  /** Last authentic (incarnation, sequence) per sender; `goneSince` once its Lease is gone. */
  private readonly newest = new Map<string, { incarnation: number; sequence: number; goneSince?: number }>();
  private readonly self: Buffer;

  constructor(private readonly opts: AdmissionOptions) {
    this.self = Buffer.from(opts.self, 'utf8');
  }

  /** The current peers (from the Leases). */
  setPeers(peers: readonly AdmissionPeer[], now: number): void {
    const next = new Map<SourceKey, Peer>();
    for (const { node, source } of peers) {
      if (node === this.opts.self) continue;
      next.set(source, { node, name: Buffer.from(node, 'utf8') });
    }
    this.bySource = next;
    const present = new Set(peers.map((p) => p.node));
    for (const [node, n] of this.newest) {
      if (present.has(node)) n.goneSince = undefined;
      else if (n.goneSince === undefined) n.goneSince = now;
      else if (now - n.goneSince > FORGET_AFTER_MS) this.newest.delete(node);
    }
  }

  setKeys(keys: readonly HeartbeatKey[]): void {
    this.keys = new Map(keys.map((k) => [k.id, k.secret]));
  }

  /** `buf` undefined: the datagram was longer than the pump's slot. */
  admit(buf: Buffer | undefined, source: SourceKey): Admitted {
    const peer = this.bySource.get(source);
    if (!peer) return { ok: false, reason: 'unknown-source' };
    const h = buf && parseHeader(buf);
    if (!buf || !h) return { ok: false, reason: 'malformed', node: peer.node };
    if (!sameBytes(buf, h.senderStart, h.senderEnd, peer.name)) return { ok: false, reason: 'unknown-source', node: peer.node };
    if (!sameBytes(buf, h.addresseeStart, h.addresseeEnd, this.self)) return { ok: false, reason: 'misaddressed', node: peer.node };
    const secret = this.keys.get(h.keyId);
    if (!secret) return { ok: false, reason: 'unknown-key', node: peer.node };
    const last = this.newest.get(peer.node);
    if (last && (h.incarnation < last.incarnation || (h.incarnation === last.incarnation && h.sequence <= last.sequence))) {
      return { ok: false, reason: 'replayed', node: peer.node };
    }
    if (!verifyHeartbeat(buf, secret)) return { ok: false, reason: 'forged', node: peer.node };
    this.newest.set(peer.node, { incarnation: h.incarnation, sequence: h.sequence });
    return { ok: true, heartbeat: readHeartbeat(buf, h), keyId: h.keyId };
  }
}

function sameBytes(buf: Buffer, start: number, end: number, expected: Buffer): boolean {
  return end - start === expected.length && buf.compare(expected, 0, expected.length, start, end) === 0;
}
