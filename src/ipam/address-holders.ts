// Which services hold each address in use, keyed by canonical address text, plus an index from
// allow-shared-ip key to the addresses shared under it, so that the allocator can look at the few
// addresses a service could share instead of every address in use.
import type { IP } from './address';

/** An address with its canonical text, the key everything is indexed by. */
export interface Address extends IP {
  readonly text: string;
}

export interface HeldAddress {
  readonly address: Address;
  /** Every holder uses this key: a second holder is only admitted with the same key. */
  readonly sharingKey: string;
  /** Usually one; a list because sharing is rare and small. */
  readonly services: readonly string[];
}

interface Entry extends HeldAddress {
  readonly services: string[];
}

export class AddressHolders {
  private readonly byText = new Map<string, Entry>();
  private readonly bySharingKey = new Map<string, Set<Entry>>();
  // The last text get() found nobody on. The allocator checks an address for holders right before
  // adding one (every restore does), so add() can skip a second lookup in a map of every address
  // in use. Only add() can put a holder on that text, and it forgets the text first.
  private lastMiss: string | undefined;

  /** Records that `service` holds the address; returns true when nobody held it before. */
  add(address: Address, service: string, sharingKey: string): boolean {
    const existing = address.text === this.lastMiss ? undefined : this.byText.get(address.text);
    this.lastMiss = undefined;
    if (existing) {
      if (!existing.services.includes(service)) existing.services.push(service);
      return false;
    }
    const entry: Entry = { address, sharingKey, services: [service] };
    this.byText.set(address.text, entry);
    if (sharingKey !== '') {
      const set = this.bySharingKey.get(sharingKey) ?? new Set<Entry>();
      set.add(entry);
      this.bySharingKey.set(sharingKey, set);
    }
    return true;
  }

  /** Drops `service` from the address; returns true when nobody holds it any more. */
  remove(text: string, service: string): boolean {
    const entry = this.byText.get(text);
    const at = entry ? entry.services.indexOf(service) : -1;
    if (!entry || at < 0) return false;
    entry.services.splice(at, 1);
    if (entry.services.length > 0) return false;
    this.byText.delete(text);
    const set = this.bySharingKey.get(entry.sharingKey);
    set?.delete(entry);
    if (set?.size === 0) this.bySharingKey.delete(entry.sharingKey);
    return true;
  }

  get(text: string): HeldAddress | undefined {
    const entry = this.byText.get(text);
    this.lastMiss = entry ? undefined : text;
    return entry;
  }

  /** Addresses currently shared under this allow-shared-ip key. */
  withSharingKey(sharingKey: string): Iterable<HeldAddress> {
    return this.bySharingKey.get(sharingKey) ?? [];
  }

  all(): Iterable<HeldAddress> {
    return this.byText.values();
  }
}
