// Keeps one node's metallb.io per-Service status objects (ServiceL2Status, ServiceBGPStatus) in
// step with what the speaker does, as MetalLB's speakers do: created (generateName, MetalLB's
// labels, then the status subresource), updated, and deleted as ownership moves. The plan is
// pure (src/speaker/status-objects.ts); this applies it, one pass at a time, retrying after errors.
// It starts watching on the first sync(), so a cluster without the CRDs (ConfigMap source) never
// sees a request for them.
import type * as k8s from '@kubernetes/client-node';
import { planStatusObjects, type StatusHave, type StatusWant } from '../speaker/status-objects';
import { canonical } from '../config/canonical';
import type { Logger } from '../util/log';
import { errorText, isNotFound } from './api-call';
import { rest, type KubeLike } from './kube';
import type { RestClient } from './rest';
import { GROUP } from './crd-config-source';
import { Informer } from './informer';

const VERSION = 'v1beta1';
/** After a failed pass, the next one comes this much later (or at the next sync). */
const RETRY_MS = 5000;
/**
 * A write of ours stands in for the watch's view this long at most: far longer than a watch
 * event takes, short enough that an object someone else deletes meanwhile is written again.
 */
const WRITTEN_TRUST_MS = 10_000;

type Obj = k8s.KubernetesObject & { status?: unknown };

/** Marks a name this process deleted until the watch drops it. */
const DELETED = Symbol('deleted');

export interface StatusObjectsOptions {
  readonly kc: KubeLike;
  readonly namespace: string;
  /** e.g. servicel2statuses */
  readonly plural: string;
  readonly kind: string;
  /** e.g. `l2-` */
  readonly generateName: string;
  readonly node: string;
  readonly log: Logger;
}

export class StatusObjects {
  private readonly api: RestClient;
  private readonly path: string;
  private informer?: Informer<Obj>;
  private want?: { objects: readonly StatusWant[]; alive: ReadonlySet<string> };
  private running = false;
  private again = false;
  private retry?: NodeJS.Timeout;
  private stopped = false;
  /** Objects written by this process that the watch has not shown yet (or not with that status), by name. */
  private readonly written = new Map<string, StatusHave & { readonly at: number }>();

  constructor(private readonly opts: StatusObjectsOptions) {
    this.api = rest(opts.kc);
    this.path = `/apis/${GROUP}/${VERSION}/namespaces/${opts.namespace}/${opts.plural}`;
  }

  /** What this node should have now; `alive`: the speakers counted alive (another node's leftovers are removed only when it is not). */
  sync(objects: readonly StatusWant[], alive: ReadonlySet<string>): void {
    if (this.stopped) return;
    this.want = { objects, alive };
    if (!this.informer) this.watch();
    void this.pass();
  }

  /** Graceful stop: this node's objects are deleted (the next announcer writes its own). */
  async stop(deleteOwn: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    if (deleteOwn && this.informer?.synced) {
      const own = this.have().filter((h) => h.labels['metallb.io/node'] === this.opts.node);
      await Promise.all(own.map((h) => this.remove(h.name).catch(() => undefined)));
    }
    await this.informer?.stop();
  }

  private watch(): void {
    this.informer = new Informer<Obj>(this.opts.kc, this.path, { log: this.opts.log });
    this.informer.on(() => undefined);
    void this.informer.start().then(() => this.pass());
  }

  /** The objects as the watch shows them, overlaid with this process's own writes it has not shown yet (no double create). */
  private have(): StatusHave[] {
    const seen = new Map<string, StatusHave>();
    for (const o of this.informer?.list(this.opts.namespace) ?? []) seen.set(o.metadata?.name ?? '', { name: o.metadata?.name ?? '', labels: o.metadata?.labels ?? {}, status: o.status });
    for (const [name, w] of this.written) {
      const s = seen.get(name);
      if (Date.now() - w.at > WRITTEN_TRUST_MS) this.written.delete(name);
      else if (w.status === DELETED) {
        if (s) seen.delete(name);
        else this.written.delete(name); // the watch has seen the delete
      } else if (s && canonical(s.status) === canonical(w.status)) this.written.delete(name);
      else seen.set(name, w);
    }
    return [...seen.values()];
  }

  private async pass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    const want = this.want;
    if (!want || !this.informer?.synced || this.stopped) return;
    this.running = true;
    try {
      const plan = planStatusObjects(want.objects, this.have(), this.opts.node, want.alive);
      for (const name of plan.delete) await this.remove(name);
      for (const u of plan.update) await this.writeStatus(u.name, u.status);
      for (const c of plan.create) await this.create(c);
    } catch (e) {
      this.opts.log.warn(`could not write ${this.opts.kind} objects; retrying`, { error: errorText(e) });
      clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.pass(), RETRY_MS);
      this.retry.unref?.();
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      await this.pass();
    }
  }

  private async create(w: StatusWant): Promise<void> {
    const { namespace, kind, generateName } = this.opts;
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { generateName, namespace, labels: { ...w.labels } }, spec: {} };
    const created = await this.api.create<Obj>(this.path, body);
    const name = created.metadata?.name ?? '';
    this.written.set(name, { name, labels: w.labels, status: {}, at: Date.now() });
    // With the status subresource, create ignores .status: it is written separately.
    await this.writeStatus(name, w.status, w.labels);
  }

  private async writeStatus(name: string, status: Readonly<Record<string, unknown>>, labels?: Readonly<Record<string, string>>): Promise<void> {
    const result = await this.api.patch<Obj>(`${this.path}/${encodeURIComponent(name)}/status`, { status });
    this.written.set(name, { name, labels: labels ?? result.metadata?.labels ?? {}, status: result.status ?? status, at: Date.now() });
  }

  private async remove(name: string): Promise<void> {
    try {
      await this.api.delete(`${this.path}/${encodeURIComponent(name)}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.written.set(name, { name, labels: {}, status: DELETED, at: Date.now() });
  }
}
