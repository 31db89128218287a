// What a speaker publishes about itself on its Lease (annotation `ironlb.io/speaker-view`) so that
// `ironlb status`/`explain` decide with the inputs the speakers decide with, and how a reader of
// all the Leases tells which speakers act on their view (pure; no clock of the reader's own).
//
// A speaker's liveness is what its peers' membership says (heartbeats fenced by Leases,
// docs/failover.md), which a one-shot reader cannot observe. So every speaker publishes its own
// member view (the alive and layer-2-unready sets its elections use), its STARTING and NO_LAYER2
// flags and its --ignore-exclude-lb, rewritten at once whenever they change. A reader then runs the
// layer-2 election once per speaker, with that speaker's view, and a speaker announces what it
// wins in its own view — exactly what the speaker itself does.

export const SPEAKER_VIEW_ANNOTATION = 'ironlb.io/speaker-view';

export interface SpeakerView {
  /** STARTING: not past start-up, so it runs no election and announces nothing yet. */
  starting: boolean;
  /** NO_LAYER2: no usable layer-2 interface here now. */
  noLayer2: boolean;
  /** The speakers it counts alive: its elections' candidates. */
  alive: string[];
  /** Alive speakers it passes over for layer 2 (NO_LAYER2 ones; heartbeat membership only). */
  layer2Unready: string[];
  /** Alive speakers whose data path is down (DATAPATH_DOWN): passed over for pools with datapath-check.
   * Absent in views of speakers before it (read as none). */
  dataPathDown?: string[];
  /** Per Local Service (namespace/name): the nodes whose healthCheckNodePort check fails as this
   * speaker sees them (datapath/service-health.ts). Absent: none. */
  serviceHealthFailing?: Record<string, string[]>;
  /** It runs with --ignore-exclude-lb. */
  ignoreExcludeLabel: boolean;
}

export function encodeSpeakerView(v: SpeakerView): string {
  // Sorted, so that the text changes only when the view does (each change is a Lease write).
  return JSON.stringify({
    v: 1,
    starting: v.starting,
    noLayer2: v.noLayer2,
    alive: [...v.alive].sort(),
    layer2Unready: [...v.layer2Unready].sort(),
    ...(v.dataPathDown && v.dataPathDown.length > 0 ? { dataPathDown: [...v.dataPathDown].sort() } : {}),
    ...(failingEntries(v).length > 0 ? { serviceHealthFailing: Object.fromEntries(failingEntries(v)) } : {}),
    ignoreExcludeLabel: v.ignoreExcludeLabel,
  });
}

function failingEntries(v: SpeakerView): Array<[string, string[]]> {
  return Object.entries(v.serviceHealthFailing ?? {})
    .filter(([, nodes]) => nodes.length > 0)
    .map(([service, nodes]): [string, string[]] => [service, [...nodes].sort()])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The view in an annotation, or undefined when it is absent or not one (never throws). */
export function decodeSpeakerView(text: string | undefined): SpeakerView | undefined {
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const names = (x: unknown): string[] | undefined => (Array.isArray(x) && x.every((n) => typeof n === 'string') ? (x as string[]) : undefined);
  const alive = names(o.alive);
  const layer2Unready = names(o.layer2Unready);
  const dataPathDown = o.dataPathDown === undefined ? [] : names(o.dataPathDown);
  const failing = o.serviceHealthFailing === undefined ? {} : serviceNodes(o.serviceHealthFailing, names);
  if (o.v !== 1 || typeof o.starting !== 'boolean' || typeof o.noLayer2 !== 'boolean' || typeof o.ignoreExcludeLabel !== 'boolean' || !alive || !layer2Unready || !dataPathDown || !failing) return undefined;
  return {
    starting: o.starting,
    noLayer2: o.noLayer2,
    alive,
    layer2Unready,
    ...(dataPathDown.length > 0 ? { dataPathDown } : {}),
    ...(Object.keys(failing).length > 0 ? { serviceHealthFailing: failing } : {}),
    ignoreExcludeLabel: o.ignoreExcludeLabel,
  };
}

function serviceNodes(x: unknown, names: (x: unknown) => string[] | undefined): Record<string, string[]> | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const out: Record<string, string[]> = {};
  for (const [service, nodes] of Object.entries(x as Record<string, unknown>)) {
    const n = names(nodes);
    if (!n) return undefined;
    out[service] = n;
  }
  return out;
}

/** One speaker Lease as read from the API server. */
export interface PublishedSpeaker {
  node: string;
  /** spec.renewTime in ms (the speaker's own clock), if set. */
  renewTime?: number;
  durationSeconds: number;
  view?: SpeakerView;
}

export type SpeakerState = 'acting' | 'expired' | 'noView' | 'starting' | 'selfNotCounted' | 'notCounted';

export interface SpeakerJudgement {
  node: string;
  /** It runs elections with its view and announces what it wins. */
  acting: boolean;
  state: SpeakerState;
  /** Why, in words. */
  detail: string;
}

/**
 * Which speakers act on their published view:
 *  - its Lease is not expired: renewed within its duration of the newest renewal of any speaker
 *    Lease (the speakers' clocks against each other, never the reader's): a crashed speaker's
 *    Lease stays behind with the view it last had;
 *  - it publishes a view (older speakers do not), is past start-up (not STARTING) and counts
 *    itself alive (an isolated or not yet re-acknowledged speaker does not, and announces nothing);
 *  - some other such speaker counts it alive, or there is no other: a speaker that died a moment
 *    ago still shows a fresh Lease, but its peers have already dropped it (heartbeats: ~0.5 s).
 * Known limit: a two-node cluster whose other node just died leaves the survivor isolated until
 * the dead Lease expires, so the dead one is taken at its word meanwhile.
 */
export function judgeSpeakers(speakers: readonly PublishedSpeaker[]): SpeakerJudgement[] {
  const renewals = speakers.map((s) => s.renewTime).filter((t): t is number => t !== undefined);
  const newest = renewals.length > 0 ? Math.max(...renewals) : undefined;
  const first = speakers.map((s): SpeakerJudgement => {
    const no = (state: SpeakerState, detail: string): SpeakerJudgement => ({ node: s.node, acting: false, state, detail });
    if (s.renewTime === undefined || newest === undefined) return no('expired', 'its Lease was never renewed');
    const behind = newest - s.renewTime;
    if (behind > s.durationSeconds * 1000) return no('expired', `its Lease was last renewed ${Math.round(behind / 1000)} s before the newest speaker Lease (duration ${s.durationSeconds} s)`);
    if (!s.view) return no('noView', 'its Lease publishes no speaker view (an ironlb speaker older than this command?)');
    if (s.view.starting) return no('starting', 'STARTING: not past its start-up, it announces nothing yet');
    if (!s.view.alive.includes(s.node)) return no('selfNotCounted', 'it does not count itself alive (isolated from its peers, or not yet acknowledged by one): it announces nothing');
    return { node: s.node, acting: true, state: 'acting', detail: 'alive' };
  });
  const candidates = speakers.filter((_, i) => first[i].acting);
  return first.map((j) => {
    if (!j.acting) return j;
    const others = candidates.filter((c) => c.node !== j.node);
    if (others.length === 0 || others.some((c) => c.view?.alive.includes(j.node))) return j;
    return { node: j.node, acting: false, state: 'notCounted', detail: `none of the other speakers (${others.map((c) => c.node).join(', ')}) counts it alive` };
  });
}
