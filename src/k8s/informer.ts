// A list+watch cache over client-node's ListWatch that restarts itself after errors
// (client-node stops on any non-410 error) and tells when its first list has landed.
import * as k8s from '@kubernetes/client-node';
import { Backoff, sleep } from '../util/backoff';
import type { Logger } from '../util/log';

export type InformerEvent = 'add' | 'update' | 'delete';
export type Handler<T> = (obj: T, event: InformerEvent) => void;

export interface InformerOptions<T> {
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Cuts each listed or watched object down, in place, to the fields its readers use, before the
   * handlers see it: the cache keeps whatever the object is after this (src/k8s/trim.ts).
   */
  trim?: (obj: T) => void;
  log: Logger;
}

export class Informer<T extends k8s.KubernetesObject> {
  private readonly lw: k8s.ListWatch<T>;
  private readonly handlers: Handler<T>[] = [];
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  private stopped = false;
  private restarting = false;
  private syncedFlag = false;
  private errors = 0;
  private healthyFlag = false;

  constructor(
    kc: k8s.KubeConfig,
    readonly path: string,
    listFn: () => Promise<k8s.KubernetesListObject<T>>,
    private readonly opts: InformerOptions<T>,
  ) {
    this.lw = new k8s.ListWatch<T>(path, new k8s.Watch(kc), listFn, false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('add', (o) => this.dispatch(this.trimmed(o), 'add'));
    this.lw.on('update', (o) => this.dispatch(this.trimmed(o), 'update'));
    this.lw.on('delete', (o) => this.dispatch(o, 'delete'));
    this.lw.on('error', (err) => {
      this.errors++;
      this.healthyFlag = false;
      void this.restart(err);
    });
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  /** Synced and the watch running: false from a list/watch error until a restart gets through. */
  get healthy(): boolean {
    return this.healthyFlag;
  }

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  /** Resolves once the first list succeeded (retrying with backoff until then or until stop()). */
  async start(): Promise<void> {
    this.stopped = false;
    while (!this.stopped) {
      const before = this.errors;
      await this.lw.start();
      if (this.lw.latestResourceVersion() !== '' && this.errors === before) {
        this.syncedFlag = true;
        this.healthyFlag = true;
        this.backoff.reset();
        return;
      }
      await sleep(this.backoff.next());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.lw.stop();
  }

  private trimmed(obj: T): T {
    if (this.opts.trim) {
      try {
        this.opts.trim(obj);
      } catch (e) {
        this.opts.log.error('informer trim failed', { path: this.path, error: e });
      }
    }
    return obj;
  }

  private dispatch(obj: T, event: InformerEvent): void {
    for (const h of this.handlers) {
      try {
        h(obj, event);
      } catch (e) {
        this.opts.log.error('informer handler failed', { path: this.path, error: e });
      }
    }
  }

  private async restart(err: unknown): Promise<void> {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    const delay = this.backoff.next();
    this.opts.log.warn('watch failed, restarting', { path: this.path, error: err instanceof Error ? err.message : String(err), retryInMs: delay });
    await sleep(delay);
    this.restarting = false;
    if (this.stopped) return;
    const before = this.errors;
    await this.lw.start();
    if (this.errors === before) {
      this.healthyFlag = true;
      this.backoff.reset();
    }
  }
}
