// When a renewal of ours proves a silent peer's Lease expired (lease-membership.ts): the proof
// renewal is made at that moment, not at our next regular renewal. Pure.

/** A proof renewal starts this long after the due time, so that it lands after it. */
export const PROOF_SLACK_MS = 20;

/**
 * When a renewal of ours would prove a silent peer dead (the earliest such time), if that comes
 * before our next regular renewal; undefined when no peer is due before it (or all are proved
 * dead already). Pure: `peers` are what we saw of the other speakers' Leases, on our clock.
 */
export function proofDueAt(peers: readonly { observedAt: number; durationMs: number }[], apiUpSince: number, lastOwnRenew: number, renewMs: number): number | undefined {
  let due: number | undefined;
  for (const p of peers) {
    const at = Math.max(p.observedAt, apiUpSince) + p.durationMs + 1;
    if (at <= lastOwnRenew || at >= lastOwnRenew + renewMs) continue; // proved already, or the regular renewal comes first
    if (due === undefined || at < due) due = at;
  }
  return due;
}
