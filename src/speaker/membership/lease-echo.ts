// Our Lease watch must show our own renewals. A watch whose connection was black-holed (an API
// server that died behind a virtual IP, a middlebox that dropped the flow) sends nothing and never
// ends, and still looks healthy, while new requests (our renewals) go through on other
// connections. We would then stop seeing the peers renew and, our own renewals going through,
// prove every one of them dead after a Lease duration, and take all their addresses while they
// still announce them. A renewal whose write the watch has not shown within the timeout marks the
// watch stale: silence proves nothing while it is (fail-static), and the watch is restarted.
// Pure: the caller passes the clock (monotonic ms).

/**
 * The watch must be found stale before a peer whose renewals it stopped showing could be proved
 * dead: it stops at W, the peer's last renewal it showed came at W - renew at the earliest, so
 * the false proof comes at W - renew + duration at the earliest; our first renewal after W is
 * written by W + renew, and its missing echo is noticed `checkMs` after the timeout. Half of what
 * is left, so that a watch that is only slow is not taken for a dead one too soon: 875 ms with the
 * defaults (2 s, 6 s, 250 ms), 375 ms in the lab (1 s, 3 s).
 */
export function echoTimeoutMs(renewMs: number, durationMs: number, checkMs: number): number {
  return Math.max(100, (durationMs - 2 * renewMs - checkMs) / 2);
}

/** etcd's resourceVersions are decimal revisions; anything else is only compared for equality. */
function revision(rv: string): bigint | undefined {
  return /^[0-9]{1,30}$/.test(rv) ? BigInt(rv) : undefined;
}

/** Having seen version `seen` shows the write `written`: the same, or a later revision. */
function covers(seen: string, written: string): boolean {
  const [s, w] = [revision(seen), revision(written)];
  return seen === written || (s !== undefined && w !== undefined && w <= s);
}

export class OwnEcho {
  /** Our renewals the watch has not shown yet, oldest first. */
  private unechoed: Array<{ rv: string; at: number }> = [];
  private restartedAt = -Infinity;
  /** The newest version of our Lease the watch showed: its event can arrive before our write's response. */
  private lastSeen?: string;

  constructor(readonly timeoutMs: number) {}

  /** A renewal of ours was written as `rv` at `now`. */
  wrote(rv: string | undefined, now: number): void {
    if (!rv || (this.lastSeen !== undefined && covers(this.lastSeen, rv))) return;
    this.unechoed.push({ rv, at: now });
    if (this.unechoed.length > 32) this.unechoed.shift();
  }

  /** The watch (or a relist) showed our Lease at `rv`: that write and every earlier one arrived. */
  saw(rv: string): void {
    this.lastSeen = rv;
    // Writes are in order: the last one shown, and every write before it, are off the list.
    let shown = 0;
    this.unechoed.forEach((e, i) => {
      if (covers(rv, e.rv)) shown = i + 1;
    });
    this.unechoed.splice(0, shown);
  }

  /** The oldest write not shown has waited longer than the timeout. */
  stale(now: number): boolean {
    return this.unechoed.length > 0 && now - this.unechoed[0].at > this.timeoutMs;
  }

  /** Stale, and the watch was not restarted within the last timeout: restart it now. */
  shouldRestart(now: number): boolean {
    if (!this.stale(now) || now - this.restartedAt < this.timeoutMs) return false;
    this.restartedAt = now;
    return true;
  }
}
