// Hitless rotation of the heartbeat key (pure; times are monotonic ms passed in).
//
// Every speaker reads the Secret on its own timer, so each sees a new key at a different moment,
// up to one read period apart. Sending with it at once would make the peers that have not read it
// yet drop our heartbeats as forged, long enough to count us dead (issue 14.3). Instead:
//
//   seen at t         accept the new key at once; keep sending with the old one
//   t + sendAfterMs   send with the new key (every peer accepts it by then: sendAfterMs exceeds
//                     the spread of the reads)
//   t + acceptForMs   stop accepting the old key (every peer has switched by then:
//                     acceptForMs >= sendAfterMs + the spread)
//
// A peer heartbeat that authenticates with a key newer than ours proves that its sender has held
// it for sendAfterMs already, so we switch at once (a speaker that read the Secret late catches up
// instead of being unheard). The first key ever read is used at once: there is no old one.
import { heartbeatKey, type HeartbeatKey } from './heartbeat-codec';

export interface KeyRingOptions {
  /** How long after first seeing a key this speaker starts sending with it. */
  sendAfterMs: number;
  /** How long a key replaced by a newer one is still accepted. */
  acceptForMs: number;
}

interface Entry {
  key: HeartbeatKey;
  /** When this speaker starts (started) sending with it. */
  sendFrom: number;
  /** When a newer key was first seen. */
  supersededAt?: number;
}

export class HeartbeatKeyRing {
  /** Oldest first. */
  private entries: Entry[] = [];

  constructor(private readonly opts: KeyRingOptions) {
    if (opts.acceptForMs < opts.sendAfterMs) throw new Error('a replaced key must be accepted at least until the new one is sent');
  }

  /** The Secret was read and holds `secret`; returns whether that is news. */
  observe(secret: Buffer, now: number): boolean {
    const newest = this.entries[this.entries.length - 1];
    if (newest?.key.secret.equals(secret)) return false;
    const key = heartbeatKey(secret);
    // A key we held before (a rotation rolled back) starts over as a new one.
    this.entries = this.entries.filter((e) => e.key.id !== key.id);
    for (const e of this.entries) e.supersededAt ??= now;
    this.entries.push({ key, sendFrom: newest ? now + this.opts.sendAfterMs : -Infinity });
    this.prune(now);
    return true;
  }

  /** A peer's heartbeat authenticated with `keyId`: if that key is newer than ours, send with it now. */
  peerSends(keyId: number, now: number): void {
    const i = this.entries.findIndex((e) => e.key.id === keyId);
    if (i > this.indexSending(now)) this.entries[i].sendFrom = Math.min(this.entries[i].sendFrom, now);
  }

  /** The key to sign with now; undefined before the first read. */
  sending(now: number): HeartbeatKey | undefined {
    return this.entries[this.indexSending(now)]?.key;
  }

  /** The keys whose signatures are accepted now (the sending key always among them). */
  accepted(now: number): HeartbeatKey[] {
    this.prune(now);
    return this.entries.map((e) => e.key);
  }

  /** Whether a key has been read at all. */
  get loaded(): boolean {
    return this.entries.length > 0;
  }

  private indexSending(now: number): number {
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i].sendFrom <= now) return i;
    return this.entries.length - 1;
  }

  /** Forgets keys replaced more than acceptForMs ago, except the one still being sent. */
  private prune(now: number): void {
    const sending = this.indexSending(now);
    this.entries = this.entries.filter((e, i) => i >= sending || e.supersededAt === undefined || now - e.supersededAt < this.opts.acceptForMs);
  }
}
