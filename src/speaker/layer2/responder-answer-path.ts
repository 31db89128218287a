// The responder engine's packet path: read up to RECV_BUDGET frames from one readable socket,
// show each to the conflict guard and the audit listener, answer it from the owned table
// (answerArp / answerNdp), hold the answer to its destination's rate limit and send it from a
// preallocated buffer. Nothing is allocated or logged per packet: the outcome is counted.
import { PacketType } from '../../net/native';
import type { PacketIo } from '../../net/packet-io';
import { BufferWriter } from '../../protocol/buffer-writer';
import { answerArp, answerNdp, type L2DropReason, type OwnedAddresses } from '../../protocol/l2-responder';
import type { AuditListener } from './audit-listener';
import type { ConflictGuard } from './conflict-guard';
import { DEFAULT_REPLY_LIMIT, ReplyLimiter, type ReplyLimit } from './reply-limiter';
import { errText, type FrameSender } from './responder-frames';
import type { ResponderCounters } from './responder-messages';
import type { InterfaceSockets, SocketKind } from './socket-set';

/** Frames read from one socket before giving the others (and commands) a turn. */
const RECV_BUDGET = 256;

export interface AnswerPathParts {
  io: PacketIo;
  /** The engine's counters (the same object). */
  counters: ResponderCounters;
  /** Sees every request first: a conflict is found from the requests and replies of others. */
  guard: ConflictGuard;
  audits: AuditListener;
  /** The addresses answered now (the engine rebuilds it in place). */
  owned: OwnedAddresses;
  sender: FrameSender;
  error(message: string): void;
}

export class AnswerPath {
  private readonly limiter = new ReplyLimiter(DEFAULT_REPLY_LIMIT);
  // Preallocated: one receive buffer and its metadata, one ARP reply, one NA writer.
  private readonly rx = Buffer.alloc(4096);
  private readonly meta = new Int32Array(3);
  private readonly arpOut = Buffer.alloc(64);
  private readonly ndpBuf = Buffer.alloc(256);
  private readonly ndpOut = new BufferWriter(this.ndpBuf);

  constructor(private readonly parts: AnswerPathParts) {}

  setLimit(limit: ReplyLimit): void {
    this.limiter.setLimit(limit);
  }

  /** Shows a frame (answered or not) to the conflict guard and the audit listener. */
  inspect(frame: Uint8Array, length: number, kind: SocketKind, now: number): void {
    const { guard, audits } = this.parts;
    if (kind === 'arp') {
      guard.inspectArp(frame, length, now);
      audits.inspectArp(frame, length);
    } else {
      guard.inspectNdp(frame, length, now);
      audits.inspectNdp(frame, length);
    }
  }

  /** Reads and answers what socket `fd` (interface `s`, ARP or NDP) has queued, up to RECV_BUDGET frames. */
  service(fd: number, s: InterfaceSockets, kind: SocketKind, now: number): void {
    const { rx, meta } = this;
    const { io, counters, owned } = this.parts;
    for (let i = 0; i < RECV_BUDGET; i++) {
      let n: number;
      try {
        n = io.recv(fd, rx, meta);
      } catch (e) {
        // ENETDOWN after the link went down, and the like: the socket stays usable.
        counters.recvErrors++;
        this.parts.error(`${s.cfg.name}: ${errText(e)}`);
        return;
      }
      if (n < 0) return;
      counters.requests[kind]++;
      if (meta[0] === PacketType.Outgoing) {
        counters.drops.ownPacket++;
        continue;
      }
      let out: Buffer;
      let r: number | L2DropReason;
      this.inspect(rx, n, kind, now);
      if (kind === 'arp') {
        out = this.arpOut;
        r = answerArp(rx, n, s.view, owned, out);
      } else {
        out = this.ndpBuf;
        try {
          r = answerNdp(rx, n, s.view, owned, this.ndpOut);
        } catch {
          r = 'malformed'; // e.g. options too large for the reply buffer: never let a frame kill us
        }
      }
      // The answer's Ethernet destination (bytes 0-5) is the source it is limited by.
      if (typeof r === 'number' && !this.limiter.allow(out, 0, now)) r = 'rateLimited';
      if (typeof r !== 'number') counters.drops[r]++;
      else if (this.parts.sender.send(fd, out, r)) counters.replies[kind]++;
    }
  }
}
