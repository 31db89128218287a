// Reads the configuration from MetalLB's metallb.io objects in the configuration namespace (and the
// kubernetes.io/basic-auth Secrets BGPPeers refer to), with the ConfigMap watcher's guarantees:
// a refused set never replaces the last good configuration, each offending object gets a Warning
// Event naming its fields, `state.stale` says so, and every object gone keeps the last good one.
// Also the `--config-source auto|configmap|crds` detector. Decisions live in src/config/crd.
import type * as k8s from '@kubernetes/client-node';
import { chooseConfigSource, type ConfigSourceFlag, type SourceChoice } from '../config/crd/source-choice';
import { allowsAddressChanges, ObjectConfigTracker, rejectionMessages, warningMessages, type ReloadDecision } from '../config/crd/reload';
import { describeRef, formatObjectIssue, type ObjectIssue } from '../config/crd/objects';
import type { NodeFacts } from '../config/crd/translate';
import type { Config } from '../config/types';
import { systemClock, type Clock, type TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { apiStatus } from './api-call';
import { ConfigGate, type ConfigMeta, type ConfigState, type Verdict } from './config-gate';
import { targetOf, type EventRecorder } from './events';
import { Informer } from './informer';
import { rest, type KubeLike } from './kube';

export const GROUP = 'metallb.io';
export const PASSWORD_SECRET_TYPE = 'kubernetes.io/basic-auth';

/** The kinds read, at the version each is read in (BGPPeer: the stored v1beta2; v1beta1 objects read the same). */
export const WATCHED = [
  { kind: 'IPAddressPool', plural: 'ipaddresspools', version: 'v1beta1' },
  { kind: 'L2Advertisement', plural: 'l2advertisements', version: 'v1beta1' },
  { kind: 'BGPAdvertisement', plural: 'bgpadvertisements', version: 'v1beta1' },
  { kind: 'BGPPeer', plural: 'bgppeers', version: 'v1beta2' },
  { kind: 'BFDProfile', plural: 'bfdprofiles', version: 'v1beta1' },
  { kind: 'Community', plural: 'communities', version: 'v1beta1' },
] as const;

/**
 * Changes are gathered for this long from the first one before the objects are evaluated, so that
 * one `kubectl apply` of several objects is judged whole (an L2Advertisement applied a moment
 * before its pool is not refused on the way); it never restarts, so a stream of status writes
 * cannot hold a change back.
 */
export const DEFAULT_BATCH_MS = 250;

export interface CrdConfigSourceOptions {
  readonly kc: KubeLike;
  /** The configuration namespace: objects are read (and must be) here. */
  readonly namespace: string;
  readonly log: Logger;
  readonly events?: EventRecorder;
  readonly onConfig: (config: Config, meta: ConfigMeta) => void;
  /** The opt-in into address changes as the objects say now, valid or not. */
  readonly onMeta?: (meta: ConfigMeta) => void;
  readonly onStaleChange?: (state: ConfigState) => void;
  /** May refuse a valid configuration, as for the ConfigMap (the controller: no renumbering); recheck() offers it again. */
  readonly vet?: (config: Config, meta: ConfigMeta, state: ConfigState) => Verdict;
  /** The cluster's nodes, if the caller watches them: finer LOCAL_PREF conflict checks. */
  readonly nodes?: () => readonly NodeFacts[] | undefined;
  readonly batchMs?: number;
  readonly clock?: Clock;
  /**
   * BGPPeer passwordSecret: 'resolve' (default) watches the kubernetes.io/basic-auth Secrets of the
   * namespace (RBAC: list/watch on Secrets there); 'skip' for a process that needs no passwords
   * (the controller); 'unreadable' refuses peers that name one, saying how to allow it.
   */
  readonly secrets?: 'resolve' | 'skip' | 'unreadable';
}

type Obj = k8s.KubernetesObject & Record<string, unknown>;

/** Where the opt-in into address changes lives for the objects, for messages. */
export const OBJECT_OPT_IN = 'on an IPAddressPool';

export class CrdConfigSource {
  private readonly informers: { kind: string; apiVersion: string; informer: Informer<Obj> }[] = [];
  private readonly tracker: ObjectConfigTracker;
  /** The same gate as the ConfigMap's: the owner's vet, last good kept, stale flag. */
  private readonly gate: ConfigGate;
  private readonly clock: Clock;
  /** The last set that translated without error, for a return to it after the vet refused it. */
  private lastValid?: { key: string; config: Config };
  private timer?: TimerHandle;
  private started = false;

  constructor(private readonly opts: CrdConfigSourceOptions) {
    this.clock = opts.clock ?? systemClock;
    this.tracker = new ObjectConfigTracker(opts.namespace, opts.nodes, opts.secrets ?? 'resolve');
    this.gate = new ConfigGate({
      where: `metallb.io objects in ${opts.namespace}`,
      log: opts.log,
      onConfig: opts.onConfig,
      onMeta: opts.onMeta,
      onStaleChange: opts.onStaleChange,
      vet: opts.vet,
      // A refusal by the vet concerns the set as a whole: it goes on every IPAddressPool.
      warn: (reason, message) => {
        for (const pool of this.objects().filter((o) => o.kind === 'IPAddressPool')) this.opts.events?.emit(targetOf(pool, 'IPAddressPool', String(pool.apiVersion)), 'Warning', reason, message);
      },
    });
    const ns = opts.namespace;
    for (const w of WATCHED) {
      const informer = new Informer<Obj>(opts.kc, `/apis/${GROUP}/${w.version}/namespaces/${ns}/${w.plural}`, { log: opts.log });
      this.informers.push({ kind: w.kind, apiVersion: `${GROUP}/${w.version}`, informer });
    }
    if ((opts.secrets ?? 'resolve') === 'resolve') {
      // Only the Secret type that can hold a peer password: no other Secret is cached.
      const fieldSelector = `type=${PASSWORD_SECRET_TYPE}`;
      const secrets = new Informer<Obj>(opts.kc, `/api/v1/namespaces/${ns}/secrets`, { log: opts.log, fieldSelector });
      this.informers.push({ kind: 'Secret', apiVersion: 'v1', informer: secrets });
    }
    for (const { informer } of this.informers) informer.on(() => this.schedule());
  }

  get state(): ConfigState {
    return this.gate.state;
  }

  get synced(): boolean {
    return this.informers.every((i) => i.informer.synced);
  }

  /** True while a valid configuration waits because vet() refused it. */
  get waiting(): boolean {
    return this.gate.waiting;
  }

  /** Offers a configuration refused by vet() again. */
  recheck(): void {
    this.gate.recheck();
  }

  /** Resolves once every kind has been listed (it keeps retrying while the CRDs are not installed), then evaluates. */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.informer.start()));
    this.started = true;
    this.evaluate();
  }

  async stop(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.started = false;
    await Promise.all(this.informers.map((i) => i.informer.stop()));
  }

  /** Every object read, with kind and apiVersion set (list items may lack them). */
  objects(): Obj[] {
    return this.informers.flatMap(({ kind, apiVersion, informer }) => informer.list(this.opts.namespace).map((o) => ({ ...o, apiVersion, kind })));
  }

  private schedule(): void {
    if (!this.started || this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.evaluate();
    }, this.opts.batchMs ?? DEFAULT_BATCH_MS);
  }

  private evaluate(): void {
    const objects = this.objects();
    const decision: ReloadDecision = this.tracker.decide(objects);
    const log = this.opts.log;
    const where = { namespace: this.opts.namespace, source: 'metallb.io objects' };
    const meta: ConfigMeta = { allowAddressChanges: allowsAddressChanges(objects), optInWhere: OBJECT_OPT_IN };
    switch (decision.action) {
      case 'unchanged':
        return;
      case 'restored':
        log.info('the last valid objects are back', where);
        if (this.lastValid) this.gate.offerConfig(this.lastValid.key, this.lastValid.config, meta);
        return;
      case 'no-pools':
        if (this.state.loaded) log.warn('no IPAddressPool left; keeping the last good configuration', where);
        else log.warn('no IPAddressPool in the configuration namespace; waiting for one', where);
        this.opts.onMeta?.(meta);
        this.gate.keepLastGood();
        return;
      case 'reject':
        this.report(objects, decision.warnings, 'warn');
        this.opts.onMeta?.(meta);
        this.gate.refusedElsewhere(decision.errors.map(formatObjectIssue).join('\n'));
        log.error('configStale: invalid configuration refused; the last good configuration stays in force', {
          ...where,
          errors: decision.errors.map(formatObjectIssue),
          lastGoodLoaded: this.state.loaded,
        });
        this.report(objects, decision.errors, 'error');
        return;
      case 'load':
        this.report(objects, decision.warnings, 'warn');
        this.lastValid = { key: decision.print, config: decision.config };
        this.gate.offerConfig(decision.print, decision.config, meta);
    }
  }

  /** A Warning Event on each object concerned (InvalidConfig for errors, UnsupportedConfig for warnings), and a log line. */
  private report(objects: readonly Obj[], issues: readonly ObjectIssue[], severity: 'error' | 'warn'): void {
    if (issues.length === 0) return;
    if (severity === 'warn') this.opts.log.warn('configuration accepted with warnings', { namespace: this.opts.namespace, warnings: issues.map(formatObjectIssue) });
    const messages = severity === 'error' ? rejectionMessages(issues, this.state.loaded) : warningMessages(issues);
    for (const [ref, message] of messages) {
      const object = objects.find((o) => describeRef({ kind: String(o.kind), namespace: o.metadata?.namespace, name: o.metadata?.name ?? '' }) === ref);
      if (!object) continue;
      this.opts.events?.emit(
        { kind: String(object.kind), apiVersion: String(object.apiVersion), namespace: object.metadata?.namespace, name: object.metadata?.name ?? '', uid: object.metadata?.uid },
        'Warning',
        severity === 'error' ? 'InvalidConfig' : 'UnsupportedConfig',
        message,
      );
    }
  }

}

/**
 * The facts `--config-source auto` decides on: are the metallb.io CRDs served, is there an
 * IPAddressPool in the namespace, is there a ConfigMap. API errors other than "not found" throw
 * (the caller retries: guessing the source on a flaky API could switch a cluster's configuration).
 */
export async function detectConfigSource(
  kc: KubeLike,
  opts: { readonly namespace: string; readonly configMapName: string; readonly flag: ConfigSourceFlag },
): Promise<SourceChoice> {
  const api = rest(kc);
  const ns = encodeURIComponent(opts.namespace);
  let crdsInstalled = true;
  let pools = 0;
  try {
    const list = await api.get<{ items?: unknown[] }>(`/apis/${GROUP}/v1beta1/namespaces/${ns}/ipaddresspools`, { query: { limit: 1 } });
    pools = list.items?.length ?? 0;
  } catch (e) {
    if (apiStatus(e) !== 404) throw e;
    crdsInstalled = false;
  }
  // A list by name, not a get: the processes' Roles allow list and watch on ConfigMaps only.
  const maps = await api.get<{ items?: unknown[] }>(`/api/v1/namespaces/${ns}/configmaps`, { query: { fieldSelector: `metadata.name=${opts.configMapName}` } });
  const configMapPresent = (maps.items?.length ?? 0) > 0;
  return chooseConfigSource(opts.flag, { crdsInstalled, pools, configMapPresent });
}
