// `--config-source auto|configmap|crds` for the controller and the speaker: decides (with the
// detector in crd-config-source.ts and the pure choice in src/config/crd/source-choice.ts) whether
// the configuration comes from the ConfigMap (ConfigWatcher) or from the metallb.io objects
// (CrdConfigSource), logs which one is in force and why, and puts a Warning Event on a ConfigMap
// that is present but not read. Both sources go through the same ConfigGate, so the owner's vet
// (the controller refuses a configuration that would renumber live Services), the last good
// configuration and the stale flag work alike.
//
// Under `auto` the choice is looked at again every `recheckMs`: an IPAddressPool created (or the
// last one deleted) later switches every process within that period, so that a controller and
// speakers started at different times do not stay on different sources.
import type { ConfigSourceFlag, SourceChoice } from '../config/crd/source-choice';
import type { Config } from '../config/types';
import { Backoff } from '../util/backoff';
import { systemClock, type Clock, type TimerHandle } from '../util/clock';
import { errorText } from './api-call';
import type { ConfigMeta, ConfigState } from './config-gate';
import { ConfigWatcher } from './config-watcher';
import { CrdConfigSource, detectConfigSource, type CrdConfigSourceOptions } from './crd-config-source';

export const DEFAULT_SOURCE_RECHECK_MS = 30_000;

export interface ConfigSource {
  readonly state: ConfigState;
  readonly synced: boolean;
  readonly waiting: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  recheck(): void;
}

/** The ConfigMap's name and the flag, plus what both sources take (CrdConfigSourceOptions). */
export interface SelectedConfigSourceOptions
  extends Pick<CrdConfigSourceOptions, 'kc' | 'namespace' | 'log' | 'events' | 'onConfig' | 'onMeta' | 'onStaleChange' | 'vet' | 'secrets'> {
  /** Name of the ConfigMap. */
  readonly name: string;
  readonly flag: ConfigSourceFlag;
  /** Under auto: how often the choice is looked at again. */
  readonly recheckMs?: number;
  /** Tests: a detector other than the API server's. */
  readonly detect?: () => Promise<SourceChoice>;
  readonly clock?: Clock;
}

const NOT_STARTED: ConfigState = { loaded: false, stale: false, meta: { allowAddressChanges: false } };

export class SelectedConfigSource implements ConfigSource {
  private inner?: { readonly kind: SourceChoice['source']; readonly source: ConfigSource };
  private readonly clock: Clock;
  private timer?: TimerHandle;
  private stopped = false;
  /** A configuration was loaded by some source (readiness survives a switch). */
  private everLoaded = false;
  private warnedKey = '';

  constructor(private readonly opts: SelectedConfigSourceOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Which source is in force; undefined before start() decided. */
  get source(): SourceChoice['source'] | undefined {
    return this.inner?.kind;
  }

  get state(): ConfigState {
    const s = this.inner?.source.state ?? NOT_STARTED;
    return this.everLoaded && !s.loaded ? { ...s, loaded: true } : s;
  }

  get synced(): boolean {
    return this.inner?.source.synced ?? false;
  }

  get waiting(): boolean {
    return this.inner?.source.waiting ?? false;
  }

  recheck(): void {
    this.inner?.source.recheck();
  }

  /** Decides (retrying while the API server does not answer), then starts the chosen source. */
  async start(): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    for (;;) {
      try {
        await this.apply(await this.detect());
        break;
      } catch (e) {
        if (this.stopped) return;
        const delay = backoff.next();
        this.opts.log.warn('could not decide the configuration source; retrying', { error: errorText(e), retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (this.opts.flag === 'auto') this.scheduleRecheck();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.inner?.source.stop();
  }

  private detect(): Promise<SourceChoice> {
    return this.opts.detect?.() ?? detectConfigSource(this.opts.kc, { namespace: this.opts.namespace, configMapName: this.opts.name, flag: this.opts.flag });
  }

  private scheduleRecheck(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.detect()
        .then((choice) => this.apply(choice))
        .catch((e) => this.opts.log.warn('could not look at the configuration source again', { error: errorText(e) }))
        .finally(() => this.scheduleRecheck());
    }, this.opts.recheckMs ?? DEFAULT_SOURCE_RECHECK_MS);
  }

  /** Starts the chosen source if it is not the one running (the old one stops once the new one has synced). */
  private async apply(choice: SourceChoice): Promise<void> {
    this.warnIgnored(choice);
    if (this.stopped || this.inner?.kind === choice.source) return;
    const previous = this.inner;
    this.opts.log.info(previous ? 'configuration source changed' : 'configuration source', {
      source: choice.source === 'crds' ? 'metallb.io objects' : 'ConfigMap',
      namespace: this.opts.namespace,
      ...(choice.source === 'configmap' && { configMap: this.opts.name }),
      reason: choice.reason,
      ...(previous && { was: previous.kind }),
    });
    const source = this.create(choice.source);
    await source.start();
    if (this.stopped) {
      await source.stop();
      return;
    }
    this.inner = { kind: choice.source, source };
    if (previous) await previous.source.stop();
  }

  private create(kind: SourceChoice['source']): ConfigSource {
    const o = this.opts;
    const onConfig = (config: Config, meta: ConfigMeta): void => {
      this.everLoaded = true;
      o.onConfig(config, meta);
    };
    const common = { kc: o.kc, namespace: o.namespace, log: o.log, events: o.events, onConfig, onMeta: o.onMeta, onStaleChange: o.onStaleChange, vet: o.vet };
    return kind === 'crds' ? new CrdConfigSource({ ...common, secrets: o.secrets }) : new ConfigWatcher({ ...common, name: o.name });
  }

  /** Both present: the objects win, and the ConfigMap says so (once per decision). */
  private warnIgnored(choice: SourceChoice): void {
    const key = choice.configMapIgnored ? choice.reason : '';
    if (key === this.warnedKey) return;
    this.warnedKey = key;
    if (!choice.configMapIgnored) return;
    const message = `this ConfigMap is not read: the configuration comes from the metallb.io objects in ${this.opts.namespace} (${choice.reason}); delete it, or run with --config-source=configmap`;
    this.opts.log.warn('the configuration ConfigMap is ignored', { configMap: `${this.opts.namespace}/${this.opts.name}`, reason: choice.reason });
    this.opts.events?.emit({ kind: 'ConfigMap', apiVersion: 'v1', namespace: this.opts.namespace, name: this.opts.name }, 'Warning', 'ConfigIgnored', message);
  }
}
