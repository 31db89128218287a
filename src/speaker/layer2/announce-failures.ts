// When this node is elected for a Service but cannot announce it (pure; the time an argument):
// which of its addresses no usable interface can carry, the announceFailed text, and when it may
// be said. A link cut leaves us elected until the isolation rule withdraws us, which is no news
// for the Service's Events: a failure is reported only once it lasted the grace period, and once
// per reason. AnnouncementReport (announcement-report.ts) logs, emits and re-checks from these.
import type { ResponderInterfaceConfig } from './responder-messages';

/** The addresses of `ips` no usable interface can carry: none of the pool's interfaces (any, when it names none) is up here with ARP (IPv4) or NDP (IPv6). */
export function stuckAddresses(ips: readonly string[], poolInterfaces: readonly string[], usable: readonly ResponderInterfaceConfig[]): string[] {
  return ips.filter((ip) => !usable.some((i) => (poolInterfaces.length === 0 || poolInterfaces.includes(i.name)) && (ip.includes(':') ? i.ndp : i.arp)));
}

/** MetalLB's announceFailed, with where we looked and what we have. */
export function announceFailedReason(node: string, stuck: readonly string[], poolInterfaces: readonly string[], usable: readonly ResponderInterfaceConfig[]): string {
  const where = poolInterfaces.length > 0 ? `the pool's interfaces (${poolInterfaces.join(', ')})` : 'any interface';
  const names = usable.map((i) => i.name).join(', ') || 'none';
  return `node "${node}" was elected for ${stuck.join(', ')} but cannot announce it on ${where}: usable layer-2 interfaces here: ${names}`;
}

/** What to do about a failure now: report it, look again in `ms`, or nothing (said already). */
export type FailureAction = { act: 'report' } | { act: 'wait'; ms: number } | { act: 'none' };

interface Failure {
  reason: string;
  since: number;
  reported: boolean;
}

export class AnnounceFailures {
  private readonly failed = new Map<string, Failure>();

  constructor(private readonly graceMs: number) {}

  /** Service `key` is announceable (or not ours) again; true when its failure had been reported. */
  resolved(key: string): boolean {
    const prev = this.failed.get(key);
    this.failed.delete(key);
    return prev?.reported === true;
  }

  /** Service `key` cannot be announced for `reason` at `now`. A new reason is reported anew, but
   * the grace period runs from the first failure: the Service has been unannounced since then. */
  failing(key: string, reason: string, now: number): FailureAction {
    const prev = this.failed.get(key);
    const entry = prev && prev.reason === reason ? prev : { reason, since: prev?.since ?? now, reported: false };
    this.failed.set(key, entry);
    if (entry.reported) return { act: 'none' };
    if (now - entry.since < this.graceMs) return { act: 'wait', ms: entry.since + this.graceMs - now };
    entry.reported = true;
    return { act: 'report' };
  }

  /** The Service is gone, or no longer layer 2. */
  forget(key: string): void {
    this.failed.delete(key);
  }
}
