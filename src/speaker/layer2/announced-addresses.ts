// Which layer-2 addresses some speaker was elected to announce in our earlier passes. A newly
// owned address that was not is probed for conflicts before its first announcement
// (conflict-watch.ts); one that was (a move between our speakers, or one found at our first pass,
// i.e. at start-up) is announced at once and audited, so failover never waits for a probe round.
// Kept from the elections each pass changed (OwnershipTracker), so a pass costs what it touched.
// Pure bookkeeping.

export interface ElectedAddresses {
  readonly service: string;
  readonly ips: readonly string[];
  readonly result: { readonly announcer?: string };
}

export class AnnouncedAddresses {
  private readonly announced = new Set<string>();
  /** How many Services show each address; an address nobody shows is forgotten. */
  private readonly users = new Map<string, number>();
  private readonly ipsOf = new Map<string, readonly string[]>();
  private newlyAnnounced = new Set<string>();
  private passes = 0;

  /** One pass: the Services it (re-)elected and the ones that no longer take part. */
  update(elected: readonly ElectedAddresses[], removed: readonly string[]): void {
    const first = this.passes++ === 0;
    this.newlyAnnounced = new Set();
    for (const key of removed) this.setIps(key, []);
    for (const e of elected) {
      this.setIps(e.service, e.ips);
      if (e.result.announcer === undefined && !first) continue;
      for (const ip of e.ips) {
        if (this.announced.has(ip)) continue;
        this.announced.add(ip);
        if (!first) this.newlyAnnounced.add(ip);
      }
    }
  }

  /** Some speaker was elected for `ip` before the current pass (or `ip` was there at our first). */
  announcedBefore(ip: string): boolean {
    return this.announced.has(ip) && !this.newlyAnnounced.has(ip);
  }

  private setIps(key: string, ips: readonly string[]): void {
    const old = this.ipsOf.get(key) ?? [];
    // The new ones first, so that an address the Service keeps is never dropped in between.
    for (const ip of ips) this.users.set(ip, (this.users.get(ip) ?? 0) + 1);
    for (const ip of old) {
      const left = (this.users.get(ip) ?? 1) - 1;
      if (left > 0) {
        this.users.set(ip, left);
        continue;
      }
      this.users.delete(ip);
      this.announced.delete(ip);
    }
    if (ips.length > 0) this.ipsOf.set(key, ips);
    else this.ipsOf.delete(key);
  }
}
