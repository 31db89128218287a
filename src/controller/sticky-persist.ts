// Sticky holds survive a change of leader: the leader keeps them in an annotation of its leader
// Lease (written with each renewal), and a replica that takes the Lease over restores them after
// rebuilding its allocator from Service status. Pure: the wire form and its validation. Times are
// wall-clock (the only clock two replicas share); a hold whose end has passed is dropped.
import type { ServiceRequest } from '../ipam/types';

export const HOLDS_ANNOTATION = 'ironlb.io/sticky-holds';
/** A Lease's annotations share 256 KiB with its other metadata: holds beyond this many are not carried over (the oldest are kept). */
export const MAX_PERSISTED_HOLDS = 1000;

export interface PersistedHold {
  /** The deleted Service's request (its sharing profile keeps shares valid). */
  readonly request: ServiceRequest;
  readonly ips: readonly string[];
  readonly pool: string;
  /** Wall-clock ms. */
  readonly sinceWall: number;
  readonly untilWall: number;
}

export function encodeHolds(holds: readonly PersistedHold[]): string {
  const kept = [...holds].sort((a, b) => a.sinceWall - b.sinceWall).slice(0, MAX_PERSISTED_HOLDS);
  return JSON.stringify({ v: 1, holds: kept });
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every(isString);

function validRequest(x: unknown): x is ServiceRequest {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    isString(r.key) &&
    r.key.includes('/') &&
    Array.isArray(r.families) &&
    r.families.every((f) => f === 4 || f === 6) &&
    isString(r.familyPolicy) &&
    isStrings(r.requestedIPs) &&
    isString(r.sharingKey) &&
    isString(r.backendKey) &&
    Array.isArray(r.ports)
  );
}

/** The holds in `text`, or [] when it is absent or not what encodeHolds writes (never throws). */
export function decodeHolds(text: string | undefined): PersistedHold[] {
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const o = parsed as { v?: unknown; holds?: unknown };
  if (o?.v !== 1 || !Array.isArray(o.holds)) return [];
  const out: PersistedHold[] = [];
  for (const h of o.holds.slice(0, MAX_PERSISTED_HOLDS) as unknown[]) {
    const x = h as Record<string, unknown>;
    if (typeof x !== 'object' || x === null || !validRequest(x.request) || !isStrings(x.ips) || x.ips.length === 0 || !isString(x.pool)) continue;
    if (typeof x.sinceWall !== 'number' || typeof x.untilWall !== 'number') continue;
    out.push({ request: x.request, ips: x.ips, pool: x.pool, sinceWall: x.sinceWall, untilWall: x.untilWall });
  }
  return out;
}
