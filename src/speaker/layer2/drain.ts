// Planned exits of a node from layer-2 announcing (docs/maintenance.md). Pure.
//
// - `ironlb.io/drain: "true"` (Node label): the node is passed over by new elections while another
//   candidate exists, and hands the addresses it announces over make-before-break (handover.ts).
//   When every eligible candidate is draining, one of them still announces (drainFallback) and
//   says so: draining must not take a Service off the network.
// - `node.kubernetes.io/exclude-from-external-load-balancers` (any value, MetalLB's rule): the node
//   may not announce at all, even alone; it also hands its addresses over make-before-break.
// A cordon (`spec.unschedulable`) alone moves nothing, as in MetalLB.
import { EXCLUDE_LABEL, type NodeFacts } from '../election/election';

export const DRAIN_LABEL = 'ironlb.io/drain';

export interface PlannedExit {
  /** Labelled ironlb.io/drain=true. */
  draining: boolean;
  /** Labelled exclude-from-external-load-balancers (and the speaker honours it). */
  excluded: boolean;
  /** Either: the node hands over what it announces. */
  leaving: boolean;
}

export function plannedExit(node: NodeFacts, ignoreExcludeLabel = false): PlannedExit {
  const draining = node.labels[DRAIN_LABEL] === 'true';
  const excluded = !ignoreExcludeLabel && EXCLUDE_LABEL in node.labels;
  return { draining, excluded, leaving: draining || excluded };
}

/** `base` (a node's reason not to be eligible, if any), with draining nodes made ineligible too. */
export function drainWhy(nodes: ReadonlyMap<string, NodeFacts>, base: (node: string) => string | undefined): (node: string) => string | undefined {
  return (n) => {
    const why = base(n);
    if (why !== undefined) return why;
    const facts = nodes.get(n);
    return facts && plannedExit(facts).draining ? `labelled ${DRAIN_LABEL}=true (draining)` : undefined;
  };
}
