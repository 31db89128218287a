// The speaker Lease annotation that lists the addresses a speaker found in use by another host
// and holds back: `ironlb.io/address-conflicts: {"192.168.1.90":"52:54:00:12:34:56"}`. Written by
// the speaker (conflict-reporter.ts), read by the controller's quarantine. Pure.

export const ADDRESS_CONFLICTS_ANNOTATION = 'ironlb.io/address-conflicts';

export function encodeConflicts(held: ReadonlyMap<string, string>): string {
  return JSON.stringify(Object.fromEntries([...held].sort(([a], [b]) => a.localeCompare(b))));
}

/** address → MAC; anything malformed is ignored (an old or foreign writer must not break the controller). */
export function decodeConflicts(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!text) return out;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return out;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, mac] of Object.entries(v as Record<string, unknown>)) if (typeof mac === 'string') out.set(k, mac);
  return out;
}
