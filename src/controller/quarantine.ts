// Address quarantine (pure: time is passed in, no I/O). A speaker that probed an address before
// its first announcement and heard another host answer holds it back and lists it on its Lease
// (ironlb.io/address-conflicts); the controller then quarantines it: the address is held by a
// placeholder in the allocator, so it is handed to nobody, and the Services that showed it
// without asking for it are given another one. It leaves quarantine once no speaker has listed
// it for `holdMs` (the conflict cleared: the speaker's re-probes went unanswered, or no speaker
// watches it any more) — the controller's --conflict-hold.
import type { Allocator } from '../ipam/allocator';
import type { ServiceRequest } from '../ipam/types';

export const QUARANTINE_KEY_PREFIX = 'ironlb.io/quarantine:';
export const DEFAULT_CONFLICT_HOLD_MS = 5 * 60_000;

export interface QuarantineEntry {
  readonly address: string;
  /** The MAC last reported for it. */
  readonly mac: string;
  /** When it was first reported. */
  readonly since: number;
  /** When no speaker reported it any more (undefined while one does). */
  readonly clearedAt?: number;
}

export interface QuarantineChange {
  /** Newly quarantined: address → MAC. */
  readonly added: ReadonlyMap<string, string>;
  /** Out of quarantine (cleared for holdMs). */
  readonly released: readonly string[];
}

export class Quarantine {
  private readonly entries = new Map<string, QuarantineEntry>();

  constructor(private readonly holdMs: number = DEFAULT_CONFLICT_HOLD_MS) {}

  /** `reported`: every address some speaker lists now, with a MAC. */
  update(reported: ReadonlyMap<string, string>, now: number): QuarantineChange {
    const added = new Map<string, string>();
    for (const [address, mac] of reported) {
      const e = this.entries.get(address);
      if (!e) added.set(address, mac);
      this.entries.set(address, { address, mac, since: e?.since ?? now });
    }
    const released: string[] = [];
    for (const [address, e] of this.entries) {
      if (reported.has(address)) continue;
      const clearedAt = e.clearedAt ?? now;
      if (now - clearedAt >= this.holdMs) {
        this.entries.delete(address);
        released.push(address);
      } else if (e.clearedAt === undefined) this.entries.set(address, { ...e, clearedAt });
    }
    return { added, released };
  }

  /** When update() should run again to release something, if ever. */
  nextReleaseAt(): number | undefined {
    let t: number | undefined;
    for (const e of this.entries.values()) if (e.clearedAt !== undefined) t = Math.min(t ?? Infinity, e.clearedAt + this.holdMs);
    return t;
  }

  has(address: string): boolean {
    return this.entries.has(address);
  }

  list(): QuarantineEntry[] {
    return [...this.entries.values()];
  }
}

/** The allocator placeholder that holds a quarantined address. */
function placeholder(address: string): ServiceRequest {
  return {
    key: QUARANTINE_KEY_PREFIX + address,
    families: [address.includes(':') ? 6 : 4],
    familyPolicy: 'SingleStack',
    requestedIPs: [address],
    sharingKey: '',
    backendKey: '',
    ports: [],
  };
}

/**
 * Holds `address` in the allocator: Services showing it that did not ask for it (`requested`
 * says what each asked for) are released and returned, to be decided again (they get another
 * address); a Service that asked for it keeps it (its speaker keeps it unannounced until the
 * conflict clears). Returns the released Service keys.
 */
export function holdQuarantined(allocator: Allocator, address: string, requested: (key: string) => readonly string[] | undefined): string[] {
  const displaced: string[] = [];
  for (const key of allocator.servicesOn(address)) {
    if (key.startsWith(QUARANTINE_KEY_PREFIX)) continue;
    if (requested(key)?.includes(address)) continue;
    allocator.release(key);
    displaced.push(key);
  }
  if (allocator.servicesOn(address).length === 0) allocator.reserve(placeholder(address), [address]);
  return displaced;
}

export function releaseQuarantined(allocator: Allocator, address: string): boolean {
  return allocator.release(QUARANTINE_KEY_PREFIX + address);
}
