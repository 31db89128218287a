// Watches the ironlb (or MetalLB) ConfigMap. A valid change is handed on at once; an invalid one
// is refused loudly (Warning Event listing every field error, stale metric, log line) and the last
// good configuration stays in force. Shared by the controller and the speaker.
import * as k8s from '@kubernetes/client-node';
import { formatIssue, parseConfigText } from '../config/parse';
import type { Config } from '../config/types';
import { EventRecorder } from './events';
import { Informer } from './informer';
import type { Logger } from '../util/log';

export interface ConfigState {
  config?: Config;
  loaded: boolean;
  stale: boolean;
}

export interface ConfigWatcherOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  name: string;
  log: Logger;
  events?: EventRecorder;
  onConfig: (config: Config) => void;
  onStaleChange?: (state: ConfigState) => void;
}

export const CONFIG_KEY = 'config';

export class ConfigWatcher {
  private readonly informer: Informer<k8s.V1ConfigMap>;
  private lastText?: string;
  private lastInvalidText?: string;
  readonly state: ConfigState = { loaded: false, stale: false };

  constructor(private readonly opts: ConfigWatcherOptions) {
    const core = opts.kc.makeApiClient(k8s.CoreV1Api);
    const fieldSelector = `metadata.name=${opts.name}`;
    this.informer = new Informer<k8s.V1ConfigMap>(
      opts.kc,
      `/api/v1/namespaces/${opts.namespace}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace: opts.namespace, fieldSelector }),
      { fieldSelector, log: opts.log },
    );
    this.informer.on((cm, event) => this.handle(cm, event));
  }

  get synced(): boolean {
    return this.informer.synced;
  }

  async start(): Promise<void> {
    await this.informer.start();
    if (!this.informer.get(this.opts.name, this.opts.namespace)) {
      this.opts.log.warn('configuration ConfigMap not found; waiting for it', { configMap: `${this.opts.namespace}/${this.opts.name}` });
    }
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }

  private handle(cm: k8s.V1ConfigMap, event: string): void {
    const where = `${this.opts.namespace}/${this.opts.name}`;
    if (event === 'delete') {
      // Deleting the ConfigMap is far more often an accident (a re-apply gone wrong) than a wish to
      // drop every address; keep serving the last good configuration and say so.
      this.opts.log.warn('configuration ConfigMap deleted; keeping the last good configuration', { configMap: where });
      this.setStale(this.state.loaded);
      this.lastText = undefined;
      return;
    }
    const text = cm.data?.[CONFIG_KEY];
    if (text === this.lastText) {
      // The last good configuration re-applied after a refused one: nothing to reload, no longer stale.
      this.lastInvalidText = undefined;
      this.setStale(false);
      return;
    }
    if (text === undefined) {
      this.reject(cm, [`the ConfigMap has no "${CONFIG_KEY}" key`]);
      return;
    }
    const result = parseConfigText(text);
    if (!result.ok) {
      this.reject(cm, result.errors.map(formatIssue), text);
      return;
    }
    this.lastText = text;
    this.lastInvalidText = undefined;
    this.state.config = result.config;
    this.state.loaded = true;
    this.setStale(false);
    this.opts.log.info('config reloaded', {
      configMap: where,
      pools: result.config.pools.map((p) => p.name),
      peers: result.config.peers.length,
    });
    this.opts.onConfig(result.config);
  }

  private reject(cm: k8s.V1ConfigMap, errors: string[], text?: string): void {
    this.setStale(true);
    if (text !== undefined && text === this.lastInvalidText) return;
    this.lastInvalidText = text;
    const where = `${this.opts.namespace}/${this.opts.name}`;
    this.opts.log.error('configStale: invalid configuration refused; the last good configuration stays in force', {
      configMap: where,
      errors,
      lastGoodLoaded: this.state.loaded,
    });
    const message = `invalid configuration refused (${errors.length} error${errors.length === 1 ? '' : 's'}); ${this.state.loaded ? 'the last good configuration stays in force' : 'no configuration is loaded'}:\n${errors.join('\n')}`;
    this.opts.events?.emit(
      { kind: 'ConfigMap', apiVersion: 'v1', namespace: cm.metadata?.namespace, name: cm.metadata?.name ?? this.opts.name, uid: cm.metadata?.uid },
      'Warning',
      'InvalidConfig',
      message.slice(0, 1000),
    );
  }

  private setStale(stale: boolean): void {
    if (this.state.stale === stale) return;
    this.state.stale = stale;
    this.opts.onStaleChange?.(this.state);
  }
}
