// Self-fencing: a speaker cut off from the API server while its peers still reach it withdraws just
// before its own Lease runs out in their view, instead of just after they took its addresses over.
//
// Without it the cut-off speaker learnt that it was dropped only from its peers' heartbeats (their
// ACK stops once they prove its Lease expired, lease-membership.ts), one heartbeat interval after
// the new owner had already announced: two nodes answered ARP/NDP for those addresses meanwhile.
// A speaker cannot tell on its own whether it alone lost the API server or everybody did (then
// nobody can prove anybody dead, and fail-static says keep announcing). Its peers tell it: the
// API_OK heartbeat flag says "my own Lease renewals go through and my Lease watch is up", which is
// what proving a peer dead takes. So a speaker withdraws when its last renewal that went through
// started a Lease duration ago, less a margin, and a peer it hears has said API_OK within the last
// fifth of a renewal interval (one slow renewal of the peer's own does not flap the fence); it
// stops once no heard peer says so any more (an outage of the API server for everybody) or its own
// renewal goes through. Pure: the caller passes the clock (monotonic milliseconds) and what it knows.

export interface FenceTimers {
  renewMs: number;
  leaseDurationMs: number;
  heartbeatIntervalMs: number;
}

/** API_OK stays set this long after the renewal interval without a renewal going through; and
 * a peer's API_OK counts for this long after its last heartbeat that said it. */
export function apiOkSlackMs(renewMs: number): number {
  return renewMs / 5;
}

/** How long before its Lease runs out a cut-off speaker withdraws: two heartbeat intervals. */
export function fenceMarginMs(t: FenceTimers): number {
  return 2 * t.heartbeatIntervalMs;
}

/**
 * Whether the fence is safe with these timers. In an outage of the API server for everybody that
 * starts at X, a peer's API_OK ends by X + renew + slack (its last renewal went through at X at the
 * latest), reaches us within a few milliseconds (a change is sent at once) and counts for one more
 * slack; our own last renewal that went through started at X - renew - its latency at the
 * earliest, so we would fence at X + duration - renew - latency - margin at the earliest. The
 * fence must come after the flag's end, with three heartbeat intervals for the latencies:
 * 2 renew + 2 slack + margin + 3 intervals < duration. The defaults (2 s, 6 s, 100 ms) leave
 * 0.7 s; the lab's (1 s, 3 s) 0.1 s. Timers closer together: no fence (the behaviour before it),
 * said at start-up.
 */
export function fenceApplies(t: FenceTimers): boolean {
  return 2 * t.renewMs + 2 * apiOkSlackMs(t.renewMs) + fenceMarginMs(t) + 3 * t.heartbeatIntervalMs < t.leaseDurationMs;
}

export interface ApiOkInput {
  now: number;
  /** Our Lease watch is up. */
  watching: boolean;
  /** When our last renewal that went through completed (undefined: none yet). */
  lastRenewedAt?: number;
  renewMs: number;
  /** How long the API server has worked for us without a gap (lease-membership.ts, apiUpSince). */
  apiUpForMs: number;
  /** The Lease duration less the fence margin. */
  needUpForMs: number;
}

/**
 * The API_OK flag of our heartbeats: we could prove a silent peer dead within the fence margin.
 * Right after an outage of the API server nobody's silence counts for a Lease duration (the
 * liveness rule), so the flag waits for that too: otherwise the first speaker to renew after an
 * outage for everybody said API_OK while the others' first renewals were still on their way, and
 * they fenced for those milliseconds (seen in CI: a withdrawal and a re-announcement 11 ms apart).
 */
export function apiOk(i: ApiOkInput): boolean {
  if (!i.watching || i.lastRenewedAt === undefined || i.apiUpForMs < i.needUpForMs) return false;
  return i.now - i.lastRenewedAt <= i.renewMs + apiOkSlackMs(i.renewMs);
}

export interface FenceInput {
  now: number;
  timers: FenceTimers;
  /** When our last renewal that went through was started (undefined: none yet). The server wrote
   * it after that, and peers saw it after the server wrote it, so their clock for our Lease
   * started no earlier. */
  lastRenewStartedAt?: number;
  /** When a heard peer's heartbeat last said API_OK (undefined: never). */
  apiOkHeardAt?: number;
}

/** We withdraw: we are cut off from the API server, and peers reaching it will soon drop us. */
export function selfFenced(i: FenceInput): boolean {
  if (!fenceApplies(i.timers) || i.lastRenewStartedAt === undefined || i.apiOkHeardAt === undefined) return false;
  if (i.now - i.apiOkHeardAt > apiOkSlackMs(i.timers.renewMs)) return false;
  return i.now >= i.lastRenewStartedAt + i.timers.leaseDurationMs - fenceMarginMs(i.timers);
}
