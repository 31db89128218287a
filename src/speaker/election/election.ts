// Who announces an address: computed independently and identically by every speaker, with no
// coordination (MetalLB's rule, reference §4). Candidates are ordered by sha256("node#ip"), so
// every Service sharing an address lands on the same node, and removing a node moves only the
// addresses it owned.
import { createHash } from 'node:crypto';
import { selectorMatches } from '../../config/selector';
import type { NodeSelector } from '../../config/types';

export const EXCLUDE_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface NodeFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
  /** Node condition NetworkUnavailable=True. */
  networkUnavailable: boolean;
}

export interface EndpointFacts {
  /** Some endpoint anywhere is ready or serving. */
  anyReady: boolean;
  /** Nodes hosting a ready or serving endpoint. */
  readyNodes: ReadonlySet<string>;
}

export interface ElectionInput {
  /** The first address of the Service's status: shared addresses hash the same. */
  ip: string;
  localPolicy: boolean;
  endpoints: EndpointFacts;
  nodes: ReadonlyMap<string, NodeFacts>;
  /** Nodes whose speaker is alive (membership). */
  liveSpeakers: ReadonlySet<string>;
  /** The pool's node selectors (ironlb addition); empty = every node. */
  poolNodeSelectors: readonly NodeSelector[];
  ignoreExcludeLabel?: boolean;
}

export type NotAnnouncedReason =
  | 'noReadyEndpoint'
  | 'noLiveSpeaker'
  | 'noEligibleNode'
  | 'noLocalEndpointOnEligibleNode';

export type ElectionResult =
  | { announcer: string; candidates: string[] }
  | {
      announcer?: undefined;
      reason: NotAnnouncedReason;
      detail: string;
      /** noEligibleNode: why each live speaker's node may not announce. */
      ineligible?: Array<{ node: string; why: string }>;
    };

export function nodeEligible(node: NodeFacts, selectors: readonly NodeSelector[], ignoreExcludeLabel = false): string | undefined {
  if (node.networkUnavailable) return 'NetworkUnavailable';
  if (!ignoreExcludeLabel && EXCLUDE_LABEL in node.labels) return `labelled ${EXCLUDE_LABEL}`;
  if (!selectorMatches(selectors, node.labels)) return "does not match the pool's node-selectors";
  return undefined;
}

export function hashOrder(nodes: Iterable<string>, ip: string): string[] {
  const keyed = [...nodes].map((n) => ({ n, h: createHash('sha256').update(`${n}#${ip}`).digest() }));
  keyed.sort((a, b) => Buffer.compare(a.h, b.h));
  return keyed.map((k) => k.n);
}

/**
 * Shortcuts a caller may give elect() that must not change its answer: the candidate order
 * (default hashOrder; ElectionOrders caches it per address) and each node's eligibility for the
 * input's pool (default nodeEligible; a pass can compute it once per pool instead of per Service).
 */
export interface ElectionShortcuts {
  order?: (candidates: readonly string[], ip: string) => string[];
  why?: (node: string) => string | undefined;
}

export function elect(input: ElectionInput, shortcuts: ElectionShortcuts = {}): ElectionResult {
  if (!input.endpoints.anyReady) {
    return { reason: 'noReadyEndpoint', detail: 'the Service has no ready endpoint, so no node announces it' };
  }
  const live = [...input.liveSpeakers];
  if (live.length === 0) return { reason: 'noLiveSpeaker', detail: 'no speaker is alive' };
  const why =
    shortcuts.why ??
    ((n: string): string | undefined => {
      const facts = input.nodes.get(n);
      return facts ? nodeEligible(facts, input.poolNodeSelectors, input.ignoreExcludeLabel) : 'no such Node';
    });
  const eligible = live.filter((n) => why(n) === undefined);
  if (eligible.length === 0) {
    return {
      reason: 'noEligibleNode',
      detail: `none of the ${live.length} live speakers' nodes may announce (excluded, NetworkUnavailable or not selected)`,
      ineligible: [...live].sort().map((node) => ({ node, why: why(node) as string })),
    };
  }
  const candidates = input.localPolicy ? eligible.filter((n) => input.endpoints.readyNodes.has(n)) : eligible;
  if (candidates.length === 0) {
    return { reason: 'noLocalEndpointOnEligibleNode', detail: 'externalTrafficPolicy is Local and no eligible node with a live speaker has a ready endpoint' };
  }
  const ordered = (shortcuts.order ?? hashOrder)(candidates, input.ip);
  return { announcer: ordered[0], candidates: ordered };
}
