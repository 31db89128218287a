// Which received heartbeat datagrams deserve a MAC check, and the check (pure; runs in the
// receiver worker, heartbeat-receiver-worker.ts).
//
// The kernel filter (src/net/bpf.ts udpHeartbeatFilter) already dropped datagrams from addresses
// that are no peer's. What passes is checked in this order, cheapest first:
//   unknown-source  the source is no peer's address (the filter is being rebuilt)
//   rate-limited    more than `ratePerSecond` (burst `burst`) datagrams from that peer's address:
//                   dropped before parsing, so a flood costs a map lookup per datagram
//   malformed       not heartbeat-shaped
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

export const ADMISSION_DROPS = ['unknown-source', 'malformed', 'misaddressed', 'unknown-key', 'replayed', 'rate-limited', 'forged'] as const;
export type AdmissionDrop = (typeof ADMISSION_DROPS)[number];

/** Map key of a source address (sourceKey()). */
export type SourceKey = number | string;

export interface AdmissionPeer {
  node: string;
  source: SourceKey;
}

export interface AdmissionOptions {
  self: string;
  /** Datagrams examined per peer address and second (sustained). */
  ratePerSecond: number;
  /** Datagrams examined per peer address in a burst. */
  burst: number;
}

export type Admitted = { ok: true; heartbeat: Heartbeat; keyId: number } | { ok: false; reason: AdmissionDrop; node?: string };

interface Peer {
  node: string;
  name: Buffer;
  tokens: number;
  refilledAt: number;
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

  /** The current peers (from the Leases); rate-limit state of known nodes carries over. */
  setPeers(peers: readonly AdmissionPeer[], now: number): void {
    const byNode = new Map([...this.bySource.values()].map((p) => [p.node, p]));
    const next = new Map<SourceKey, Peer>();
    for (const { node, source } of peers) {
      if (node === this.opts.self) continue;
      next.set(source, byNode.get(node) ?? { node, name: Buffer.from(node, 'utf8'), tokens: this.opts.burst, refilledAt: now });
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

  admit(buf: Buffer, source: SourceKey, now: number): Admitted {
    const peer = this.bySource.get(source);
    if (!peer) return { ok: false, reason: 'unknown-source' };
    peer.tokens = Math.min(this.opts.burst, peer.tokens + ((now - peer.refilledAt) * this.opts.ratePerSecond) / 1000);
    peer.refilledAt = now;
    if (peer.tokens < 1) return { ok: false, reason: 'rate-limited', node: peer.node };
    peer.tokens -= 1;
    const h = parseHeader(buf);
    if (!h) return { ok: false, reason: 'malformed', node: peer.node };
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
