// The speakers' Service condition, ironlb.io/Announced, for layer-2 Services: what one speaker
// should write from its election of the Service, if anything. Pure: the shell
// (src/k8s/announced-writer.ts) compares with what the Service shows and writes on change.
//
// Who writes: every speaker elects every Service alike (election.ts), so each knows on its own
// whether the condition is its to write, and no two speakers with the same view write it.
// - Elected: the announcer writes True (its node, the protocol, the interfaces, since when). When
//   ownership moves, the new owner writes; the old one writes nothing (it no longer owns), so it
//   cannot flap the condition back.
// - Nobody elected (no ready endpoint, no eligible node, ...): the first ready speaker by name
//   writes False with the election's reason. Every speaker computes the same first one.
// - A Service without an address that still shows True: the same first ready speaker writes False.
// Services of BGP pools are not covered (every eligible node announces them; see
// docs/configuration.md): the condition is left alone for them.
import type * as k8s from '@kubernetes/client-node';
import { ANNOUNCED, conditionOf, type ConditionWant } from '../k8s/service-conditions';
import type { NotAnnouncedReason } from './election/election';
import type { MemberView, ServiceElection } from './layer2/desired';

const SINCE = ' since ';

const REASONS: Readonly<Record<NotAnnouncedReason, string>> = {
  noReadyEndpoint: 'NoReadyEndpoint',
  noLiveSpeaker: 'NoLiveSpeaker',
  noEligibleNode: 'NoEligibleNode',
  noLocalEndpointOnEligibleNode: 'NoLocalEndpointOnEligibleNode',
};

export interface AnnouncedInput {
  /** The Service as the speaker's cache shows it. */
  readonly svc: k8s.V1Service;
  /** Its layer-2 election; undefined: it has none (no address, not layer 2, not handled). */
  readonly election: ServiceElection | undefined;
  readonly self: string;
  readonly members: MemberView;
  /** This node's usable layer-2 interfaces (the announcer answers on all of them when the pool names none). */
  readonly usableInterfaces: readonly string[];
  /** When this node became the announcer (ISO 8601), for the message. */
  readonly since: string;
}

/** The first ready speaker by name: the one that writes False. */
export function falseWriter(members: MemberView): string | undefined {
  return [...members.alive].filter((n) => !members.layer2Unready.has(n)).sort()[0];
}

/** What this speaker should write; undefined: nothing (not its to write, or nothing to say). */
export function announcedCondition(i: AnnouncedInput): ConditionWant | undefined {
  const gen = i.svc.metadata?.generation;
  const e = i.election;
  if (!e) {
    const c = conditionOf(i.svc, ANNOUNCED);
    const noAddress = (i.svc.status?.loadBalancer?.ingress ?? []).length === 0;
    if (c?.status !== 'True' || !noAddress || falseWriter(i.members) !== i.self) return undefined;
    return { type: ANNOUNCED, status: 'False', reason: 'NoAddress', message: 'the Service has no load-balancer address', observedGeneration: gen };
  }
  const r = e.result;
  if (r.announcer === undefined) {
    if (falseWriter(i.members) !== i.self) return undefined;
    return { type: ANNOUNCED, status: 'False', reason: REASONS[r.reason], message: r.detail, observedGeneration: gen };
  }
  if (r.announcer !== i.self) return undefined;
  const names = e.interfaces.length > 0 ? [...e.interfaces] : [...i.usableInterfaces].sort();
  const message = `node "${i.self}" announces ${e.ips.join(', ')} with protocol layer2 on ${names.join(', ') || 'no usable interface'}${SINCE}${i.since}`;
  return { type: ANNOUNCED, status: 'True', reason: 'Layer2', message, observedGeneration: gen };
}

/** The message without its "since" part: a speaker restart does not rewrite an unchanged condition. */
function stable(message: string | undefined): string | undefined {
  const at = message?.lastIndexOf(SINCE) ?? -1;
  return at >= 0 ? message?.slice(0, at) : message;
}

/** The Service shows `want` already (its "since" aside). */
export function announcedHolds(svc: k8s.V1Service, want: ConditionWant): boolean {
  const c = conditionOf(svc, want.type);
  return !!c && c.status === want.status && c.reason === want.reason && stable(c.message) === stable(want.message) && (c.observedGeneration ?? undefined) === (want.observedGeneration ?? undefined);
}

/** The same condition, compared as announcedHolds does (for the writer's own bookkeeping). */
export function announcedKey(want: ConditionWant): string {
  return JSON.stringify([want.status, want.reason, stable(want.message), want.observedGeneration ?? null]);
}
