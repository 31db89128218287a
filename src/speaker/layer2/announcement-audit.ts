// Announcement audit (issue 16.2), the shell around the pure decisions (docs/announcement-audit.md).
//  Auditor: for each address a peer announces where this node is next in the election order, the
//  responder sends a conflict-free probe (AuditJudge says when) and reports the MACs that claimed
//  the address within replyWaitMs. A verdict: metric, log, Warning Event `AnnouncementAuditFailed`
//  on the Services showing the address, and the verdict in our heartbeats to the owner.
//  Owner: the verdicts addressed to it (AuditStanding) make it re-announce and, if that does not
//  help, withdraw as not layer-2 ready (NO_LAYER2: every speaker's election passes it over).
import type * as k8s from '@kubernetes/client-node';
import { type EventRecorder, targetOf } from '../../k8s/events';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import { macKey, macText } from '../../protocol/conflict-frames';
import type { Logger } from '../../util/log';
import type { Membership } from '../membership/membership';
import { AuditJudge, DEFAULT_AUDIT_TIMING, type AuditChange, type AuditTarget, type AuditTiming } from './audit-judge';
import { AuditStanding, DEFAULT_AUDIT_STANDING, type AuditStandingOptions, type StandingAction } from './audit-standing';
import type { ServiceElection } from './desired';

/** What the audit needs of the responder. */
export interface AuditResponder {
  auditProbe(address: string, interfaces?: string[]): Promise<void>;
  auditRead(address: string): Promise<string[]>;
  announce(addresses?: string[]): Promise<void>;
}

export interface AnnouncementAuditOptions {
  nodeName: string;
  log: Logger;
  metrics: SpeakerMetrics;
  events: EventRecorder;
  timing?: Partial<AuditTiming>;
  standing?: AuditStandingOptions;
  /** Each node's published interface MACs (its Lease). */
  macsOf(node: string): readonly string[];
  /** Every speaker's MACs. */
  allMacs(): readonly string[];
  /** Called when this node's standing (layer-2 readiness as the audit sees it) changed. */
  onStandingChange(): void;
}

/** Owner side: accusations are looked at again this often (an accuser that dies stops accusing). */
const STANDING_RECHECK_MS = 1000;

export class AnnouncementAudit {
  private readonly judge: AuditJudge;
  private readonly timing: AuditTiming;
  private readonly standing: AuditStanding;
  /** Per Service: its election, while a peer announces it and this node audits it. */
  private readonly audited = new Map<string, ServiceElection>();
  private timer?: NodeJS.Timeout;
  private standingTimer?: NodeJS.Timeout;
  private recheck?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly opts: AnnouncementAuditOptions,
    private readonly membership: Membership,
    private readonly responder: () => AuditResponder | undefined,
  ) {
    this.timing = { ...DEFAULT_AUDIT_TIMING, ...opts.timing };
    this.judge = new AuditJudge(this.timing);
    this.standing = new AuditStanding(opts.standing ?? DEFAULT_AUDIT_STANDING);
  }

  start(): void {
    this.membership.onAuditChange?.(() => this.observeStanding());
    this.recheck = setInterval(() => this.observeStanding(), STANDING_RECHECK_MS);
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.timer, this.standingTimer]) if (t) clearTimeout(t);
    if (this.recheck) clearInterval(this.recheck);
  }

  /** False while the audit withdrew this node (NO_LAYER2). */
  get ready(): boolean {
    return this.standing.ready;
  }

  /** After an election pass: the Services re-elected and those gone. */
  update(elected: readonly ServiceElection[], removed: readonly string[]): void {
    for (const key of removed) this.audited.delete(key);
    for (const e of elected) {
      const r = e.result;
      const auditor = r.announcer !== undefined && r.announcer !== this.opts.nodeName && !e.fallback && r.candidates[1] === this.opts.nodeName;
      if (auditor) this.audited.set(e.service, e);
      else this.audited.delete(e.service);
    }
    this.retarget();
  }

  /** Some speaker's MACs changed. */
  retarget(): void {
    const targets: AuditTarget[] = [];
    for (const e of this.audited.values()) {
      const owner = e.result.announcer;
      if (owner === undefined) continue;
      const ownerMacs = this.opts.macsOf(owner).map((m) => macKey(m)).filter((m): m is string => m !== undefined);
      if (ownerMacs.length === 0) continue; // an owner that publishes no MACs cannot be judged
      for (const address of e.ips) targets.push({ address, owner, ownerMacs });
    }
    this.judge.setTargets(targets, performance.now());
    this.publishVerdicts();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.judge.nextDueAt();
    if (at === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const address of this.judge.due(performance.now())) void this.probe(address);
      this.schedule();
    }, Math.max(0, at - performance.now()));
  }

  private async probe(address: string): Promise<void> {
    const r = this.responder();
    let heard: string[] = [];
    try {
      if (!r) throw new Error('no responder');
      await r.auditProbe(address, this.interfacesOf(address));
      await new Promise((done) => setTimeout(done, this.timing.replyWaitMs));
      heard = await r.auditRead(address);
    } catch (e) {
      // Our own responder is being replaced: no round at all (judging silence would be unfair).
      this.opts.log.debug('audit probe not sent', { address, error: (e as Error).message });
      this.judge.skip(address, performance.now());
      return this.schedule();
    }
    if (this.stopped) return;
    const ours = new Set(this.opts.allMacs().map((m) => macKey(m)).filter((m): m is string => m !== undefined));
    const change = this.judge.result(address, heard, ours, performance.now());
    if (change) this.report(change, heard);
    this.schedule();
  }

  private report(c: AuditChange, heard: readonly string[]): void {
    const m = this.opts.metrics;
    m.auditProbes.inc({ outcome: c.outcome });
    if (c.verdict === c.previous) return;
    m.auditFailingAddresses.set(this.judge.failing());
    this.publishVerdicts();
    const services = this.servicesOn(c.address);
    if (!c.verdict) {
      this.opts.log.info('announcementAuditPassed', { address: c.address, owner: c.owner, auditor: this.opts.nodeName });
      return;
    }
    m.auditVerdicts.inc({ outcome: c.verdict });
    const macs = heard.map(macText).join(', ') || 'none';
    const what =
      c.verdict === 'extraMac'
        ? `answers from node "${c.owner}" and from another speaker as well (MACs ${macs}): asked the owner to re-announce`
        : `no answer from node "${c.owner}" (MACs heard: ${macs}): asked it to re-announce, and to withdraw from layer 2 if that does not help`;
    this.opts.log.warn('announcementAuditFailed', { address: c.address, owner: c.owner, auditor: this.opts.nodeName, verdict: c.verdict, heard: heard.map(macText) });
    for (const svc of services) this.opts.events.emit(targetOf(svc, 'Service'), 'Warning', 'AnnouncementAuditFailed', `audit of ${c.address} by node "${this.opts.nodeName}": ${what}`);
  }

  private publishVerdicts(): void {
    const a = this.judge.accused();
    this.membership.setAuditVerdicts?.(a.silent, a.contested);
  }

  /** Owner side: the peers' accusations now. */
  private observeStanding(): void {
    if (this.stopped) return;
    const a = this.membership.auditAccusers?.();
    const accusers = { silent: [...(a?.silent ?? [])], contested: [...(a?.contested ?? [])] };
    this.act(this.standing.observe({ silent: accusers.silent.length > 0, contested: accusers.contested.length > 0 }, performance.now()), accusers);
  }

  private act(actions: readonly StandingAction[], accusers?: { silent: string[]; contested: string[] }): void {
    const m = this.opts.metrics;
    for (const action of actions) {
      if (action === 'reannounce') {
        m.auditReannounces.inc();
        this.opts.log.warn('announcement audit failed here: re-announcing', { node: this.opts.nodeName, ...accusers });
        void this.responder()?.announce().catch((e: Error) => this.opts.log.error('could not re-announce', { error: e.message }));
      } else if (action === 'withdraw') {
        m.auditWithdrawn.set(1);
        this.opts.log.error('announcement audit still failing after re-announcing: withdrawing from layer 2 (NO_LAYER2)', { node: this.opts.nodeName, holdMs: this.standing.currentHoldMs, ...accusers });
        this.opts.onStandingChange();
      } else {
        m.auditWithdrawn.set(0);
        this.opts.log.info('no announcement audit failing for the hold: electable for layer 2 again', { node: this.opts.nodeName, heldMs: this.standing.currentHoldMs });
        this.opts.onStandingChange();
      }
    }
    if (this.standingTimer) clearTimeout(this.standingTimer);
    this.standingTimer = undefined;
    const at = this.standing.nextDueAt();
    if (at !== Infinity && !this.stopped) {
      this.standingTimer = setTimeout(() => this.act(this.standing.tick(performance.now())), Math.max(0, at - performance.now()));
    }
  }

  private interfacesOf(address: string): string[] | undefined {
    for (const e of this.audited.values()) if (e.ips.includes(address)) return e.interfaces.length > 0 ? [...e.interfaces] : undefined;
    return undefined;
  }

  private servicesOn(address: string): k8s.KubernetesObject[] {
    return [...this.audited.values()].filter((e) => e.ips.includes(address)).map((e) => e.object);
  }
}
