// Watches the ironlb (or MetalLB) ConfigMap and feeds each version to a ConfigGate: a valid change
// is handed on at once; an invalid one (or one the owner's vet refuses) is refused loudly (Warning
// Events on the ConfigMap, stale metric, log line) and the last good configuration stays in force.
// Shared by the controller and the speaker.
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../config/types';
import { ConfigGate, type ConfigMeta, type ConfigState, type Verdict } from './config-gate';
import { EventRecorder } from './events';
import { Informer } from './informer';
import type { KubeLike } from './kube';
import type { Logger } from '../util/log';

export type { ConfigMeta, ConfigState, Verdict } from './config-gate';

export interface ConfigWatcherOptions {
  kc: KubeLike;
  namespace: string;
  name: string;
  log: Logger;
  events?: EventRecorder;
  onConfig: (config: Config, meta: ConfigMeta) => void;
  onMeta?: (meta: ConfigMeta) => void;
  onStaleChange?: (state: ConfigState) => void;
  /** May refuse a valid configuration (see ConfigGate); recheck() offers it again. */
  vet?: (config: Config, meta: ConfigMeta, state: ConfigState) => Verdict;
}

export const CONFIG_KEY = 'config';

export class ConfigWatcher {
  private readonly informer: Informer<k8s.V1ConfigMap>;
  private readonly gate: ConfigGate;
  private lastSeen?: k8s.V1ConfigMap;

  constructor(private readonly opts: ConfigWatcherOptions) {
    const fieldSelector = `metadata.name=${opts.name}`;
    this.informer = new Informer<k8s.V1ConfigMap>(opts.kc, `/api/v1/namespaces/${opts.namespace}/configmaps`, { fieldSelector, log: opts.log });
    this.gate = new ConfigGate({
      where: `${opts.namespace}/${opts.name}`,
      log: opts.log,
      onConfig: opts.onConfig,
      onMeta: opts.onMeta,
      onStaleChange: opts.onStaleChange,
      vet: opts.vet,
      warn: (reason, message) => {
        const cm = this.lastSeen;
        opts.events?.emit({ kind: 'ConfigMap', apiVersion: 'v1', namespace: opts.namespace, name: opts.name, uid: cm?.metadata?.uid }, 'Warning', reason, message);
      },
    });
    this.informer.on((cm, event) => this.handle(cm, event));
  }

  get state(): ConfigState {
    return this.gate.state;
  }

  get synced(): boolean {
    return this.informer.synced;
  }

  /** True while a valid configuration waits because vet() refused it. */
  get waiting(): boolean {
    return this.gate.waiting;
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

  /** Offers a configuration refused by vet() again. */
  recheck(): void {
    this.gate.recheck();
  }

  private handle(cm: k8s.V1ConfigMap, event: string): void {
    if (event === 'delete') {
      this.gate.deleted();
      return;
    }
    this.lastSeen = cm;
    this.gate.offer(cm.data?.[CONFIG_KEY], cm.metadata?.annotations);
  }
}
