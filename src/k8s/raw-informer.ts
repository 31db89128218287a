// A list+watch cache on the raw client (rest.ts), with the public surface of informer.ts: it
// lists, then streams the watch line by line, re-watches from the last resourceVersion when the
// server ends a watch, relists on 410 Gone, and retries every other failure with backoff (a
// failed informer must not stay dead: the speaker and controller have no other view of the
// cluster). Objects are the server's JSON, trimmed before they are cached; a writer may hand in its
// own write's answer (adopt), whose watch line is then skipped unparsed.
import { DEFAULT_API_TIMEOUT_MS, apiStatus, withDeadline } from './api-call';
import { ApiError } from './rest';
import { rest, type KubeLike } from './kube';
import type { RestClient } from './rest';
import { Backoff, sleep } from '../util/backoff';
import { DEFAULT_WATCH_STALL, WatchStall, type WatchStallOptions } from './watch-stall';
import { LineSplitter } from './line-splitter';
import { watchLineHead } from './watch-line-head';
import { listInPages } from './list-pages';

export { LineSplitter } from './line-splitter';
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

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
}
export interface KubeObject {
  metadata?: ObjectMeta;
}

export interface RawInformerOptions<T> extends InformerOptions<T> {
  /** Server-side watch timeout; client-go picks 5-10 minutes at random so watches do not renew in step. */
  watchTimeoutSeconds?: number;
  /** When a watch silent after a burst is restarted (watch-stall.ts); DEFAULT_WATCH_STALL unless given. */
  watchStall?: WatchStallOptions;
}

/** The reason a watch was ended by us: silent after a burst (watch-stall.ts), or restartWatch(). */
class WatchStalled extends Error {}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; message?: string };
}

export class RawInformer<T extends KubeObject> {
  private readonly client: RestClient;
  /** Aborts the watch in progress (restartWatch, the stall check). */
  private currentWatch?: AbortController;
  private readonly handlers: Handler<T>[] = [];
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  private objects = new Map<string, Map<string, T>>();
  private resourceVersion = '';
  private stopper = new AbortController();
  private running = false;
  private syncedFlag = false;
  private healthyFlag = false;

  constructor(
    kc: KubeLike,
    readonly path: string,
    private readonly opts: RawInformerOptions<T>,
  ) {
    this.client = rest(kc);
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  /** Synced and the watch running: false from a list/watch error until a retry gets through. */
  get healthy(): boolean {
    return this.healthyFlag;
  }

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): readonly T[] {
    if (namespace) return [...(this.objects.get(namespace)?.values() ?? [])];
    const out: T[] = [];
    for (const ns of this.objects.values()) out.push(...ns.values());
    return out;
  }

  /** Resolves once the first list succeeded (retrying with backoff until then or until stop()). */
  async start(): Promise<void> {
    if (this.running) return; // already started, not stopped since
    this.running = true;
    this.stopper = new AbortController(); // a loop of an earlier start() ends on its own signal
    const stop = this.stopper.signal;
    while (!stop.aborted) {
      try {
        await this.relist(stop);
        this.syncedFlag = true;
        break;
      } catch (e) {
        if (stop.aborted) break;
        this.failed(e);
        await sleep(this.backoff.next(), stop);
      }
    }
    if (!stop.aborted) void this.run(stop);
  }

  async stop(): Promise<void> {
    this.stopper.abort(new Error('informer stopped'));
    this.running = false;
    this.healthyFlag = false;
    return Promise.resolve();
  }

  private async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      try {
        if (!this.resourceVersion) await this.relist(stop);
        await this.watch(stop);
        this.opts.log.debug('watch ended by the server; watching again', { path: this.path, resourceVersion: this.resourceVersion });
      } catch (e) {
        if (stop.aborted) return;
        if (e instanceof WatchStalled) {
          this.opts.log.info(`${e.message}: watching again`, { path: this.path, resourceVersion: this.resourceVersion });
          continue;
        }
        if (apiStatus(e) === 410) {
          this.opts.log.debug('watch resourceVersion too old; relisting', { path: this.path, resourceVersion: this.resourceVersion });
          this.resourceVersion = ''; // too old: relist at once, as client-go does
          continue;
        }
        this.failed(e);
        await sleep(this.backoff.next(), stop);
      }
    }
  }

  private failed(e: unknown): void {
    this.healthyFlag = false;
    this.opts.log.warn('list/watch failed, retrying', { path: this.path, error: e instanceof Error ? e.message : String(e) });
  }

  private query(): Record<string, string | undefined> {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private async relist(stop: AbortSignal): Promise<void> {
    const { items, resourceVersion } = await this.listAll(stop);
    const fresh = new Set<string>();
    for (const o of items) fresh.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
    for (const [ns, byName] of this.objects) {
      for (const [name, old] of byName) {
        if (fresh.has(`${ns}/${name}`)) continue;
        byName.delete(name);
        this.dispatch(old, 'delete');
      }
      if (byName.size === 0) this.objects.delete(ns);
    }
    for (const o of items) this.upsert(o, true);
    this.resourceVersion = resourceVersion;
    this.healthyFlag = true;
    this.backoff.reset();
  }

  private listAll(stop: AbortSignal): Promise<{ items: T[]; resourceVersion: string }> {
    return listInPages<T>({ client: this.client, path: this.path, query: this.query(), stop, log: this.opts.log, each: (o) => this.listed(o) });
  }

  /** A listed object as the cache would keep it: the cached one if unchanged, else trimmed. */
  private listed(obj: T): T {
    const found = this.objects.get(obj.metadata?.namespace ?? '')?.get(obj.metadata?.name ?? '');
    if (found && found.metadata?.resourceVersion !== undefined && found.metadata.resourceVersion === obj.metadata?.resourceVersion) return found;
    this.trim(obj);
    return obj;
  }

  private async watch(stop: AbortSignal): Promise<void> {
    const seconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const stalled = new AbortController();
    this.currentWatch = stalled;
    const stall = new WatchStall(this.opts.watchStall ?? DEFAULT_WATCH_STALL);
    let stallTimer: NodeJS.Timeout | undefined;
    const checkStall = (): void => {
      stallTimer = undefined;
      const next = stall.check(performance.now());
      if (next === 'restart') stalled.abort(new WatchStalled('watch silent after a burst of events (the API server may have dropped it)'));
      else if (next !== undefined) stallTimer = setTimeout(checkStall, next);
    };
    try {
      // A black-holed connection sends nothing and never ends: give up a little after the server would have.
      await withDeadline(seconds * 1000 + DEFAULT_API_TIMEOUT_MS, AbortSignal.any([stop, stalled.signal]), async (signal) => {
        const query = { ...this.query(), watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(seconds), resourceVersion: this.resourceVersion };
        const res = await this.client.stream(this.path, query, signal);
        this.healthyFlag = true;
        this.backoff.reset();
        const lines = new LineSplitter();
        await new Promise<void>((resolve, reject) => {
          let settled = false;
          const fail = (e: unknown): void => {
            if (settled) return;
            settled = true; // before destroy(), whose own 'error'/'aborted' must not replace this reason
            reject(e instanceof Error ? e : new Error(String(e)));
            res.destroy();
          };
          const onLine = (line: string): void => {
            try {
              if (!this.knownVersion(line)) this.event(JSON.parse(line) as WatchEvent<T>);
            } catch (e) {
              fail(e);
              return;
            }
            stall.event(performance.now());
            if (stallTimer === undefined) checkStall();
          };
          res.on('data', (chunk: Buffer) => lines.push(chunk, onLine));
          res.on('end', () => {
            lines.end(onLine);
            if (!settled) resolve();
            settled = true;
          });
          res.on('error', (e) => fail(signal.aborted ? signal.reason : e));
          res.on('aborted', () => fail(signal.aborted ? signal.reason : new Error('watch connection reset')));
          // A connection reset may show only as 'close': a watch that ends without 'end' failed.
          res.on('close', () => fail(signal.aborted ? signal.reason : new Error('watch connection closed')));
        });
      });
    } finally {
      clearTimeout(stallTimer);
      if (this.currentWatch === stalled) this.currentWatch = undefined;
    }
  }

  /**
   * Ends the current watch and watches again from the last resourceVersion (nothing is lost: the
   * server replays from there, or answers 410 and we relist). For a caller that knows the watch
   * is stale although its connection looks healthy (LeaseMembership: our own write never showed).
   */
  restartWatch(reason: string): void {
    this.currentWatch?.abort(new WatchStalled(reason));
  }

  /**
   * Our own write's answer (the object as the server stored it) in place of the cached version the
   * write was made on, `basedOn`: only that version, so nothing newer is ever replaced (a write
   * guarded by resourceVersion succeeds only on it, and its answer is its direct successor). The
   * handlers are not called: the writer has dealt with its own write. The watch's copy of the same
   * version then arrives as an unchanged one and is skipped without being parsed (knownVersion).
   * Returns whether it was taken.
   */
  adopt(obj: T, basedOn: string | undefined): boolean {
    const byName = this.objects.get(obj.metadata?.namespace ?? '');
    const name = obj.metadata?.name ?? '';
    const found = byName?.get(name);
    if (!byName || !found || basedOn === undefined || found.metadata?.resourceVersion !== basedOn || !obj.metadata?.resourceVersion) return false;
    this.trim(obj);
    byName.set(name, obj);
    return true;
  }

  /**
   * An ADDED or MODIFIED line of a version the cache already holds (the watch's echo of an adopted
   * write, a replay) changes nothing (upsert would return unchanged): only its resourceVersion is
   * taken, and the line is not parsed. Read off the line's start (watchLineHead); anything it
   * cannot read there is parsed in full.
   */
  private knownVersion(line: string): boolean {
    const head = watchLineHead(line);
    if (!head) return false;
    const found = this.objects.get(head.namespace)?.get(head.name);
    if (found?.metadata?.resourceVersion !== head.resourceVersion) return false;
    this.resourceVersion = head.resourceVersion;
    return true;
  }

  private event(ev: WatchEvent<T>): void {
    const obj = ev.object;
    if (ev.type === 'ERROR') throw new ApiError(obj.code ?? 500, JSON.stringify(obj), 'WATCH', this.path);
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.upsert(obj);
    else if (ev.type === 'DELETED') {
      const byName = this.objects.get(obj.metadata?.namespace ?? '');
      if (byName?.delete(obj.metadata?.name ?? '')) {
        if (byName.size === 0) this.objects.delete(obj.metadata?.namespace ?? '');
        this.dispatch(obj, 'delete');
      }
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
  }

  /** `trimmed`: the object was already trimmed (listed()). */
  private upsert(obj: T, trimmed = false): void {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let byName = this.objects.get(ns);
    if (!byName) this.objects.set(ns, (byName = new Map()));
    const found = byName.get(name);
    if (found && found.metadata?.resourceVersion !== undefined && found.metadata.resourceVersion === obj.metadata?.resourceVersion) return;
    if (!trimmed) this.trim(obj);
    byName.set(name, obj);
    this.dispatch(obj, found ? 'update' : 'add');
  }

  private trim(obj: T): void {
    if (!this.opts.trim) return;
    try {
      this.opts.trim(obj);
    } catch (e) {
      this.opts.log.error('informer trim failed', { path: this.path, error: e });
    }
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
}
