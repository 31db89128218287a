// Writes the status objects MetalLB's tooling reads, besides the per-Service ones
// (status-objects.ts): ConfigurationState (`controller`, `speaker-<node>`) and IPAddressPool
// status counts. What to write is decided in src/config/crd/status.ts; each write is skipped
// when it would change nothing, and a failed one is tried again at the next tick.
import type * as k8s from '@kubernetes/client-node';
import { canonical } from '../config/canonical';
import { configurationStateStatus, poolStatus, type ConfigurationStateStatus, type SourceState } from '../config/crd/status';
import type { PoolStats } from '../ipam/types';
import type { Logger } from '../util/log';
import { errorText, isNotFound } from './api-call';
import { rest, type KubeLike } from './kube';
import type { RestClient } from './rest';
import { GROUP } from './crd-config-source';

const VERSION = 'v1beta1';

export interface ConfigurationStateOptions {
  readonly kc: KubeLike;
  readonly namespace: string;
  /** `controller` or `speaker-<node>`, as MetalLB names them. */
  readonly name: string;
  /** metallb.io/component-type (and metallb.io/node-name for a speaker). */
  readonly labels: Readonly<Record<string, string>>;
  /** The source's state, or undefined while ConfigurationState is not to be written (ConfigMap source). */
  readonly state: () => SourceState | undefined;
  readonly log: Logger;
  /** Default 2000. */
  readonly intervalMs?: number;
}

export class ConfigurationStateWriter {
  private readonly api: RestClient;
  private timer?: NodeJS.Timeout;
  private last?: ConfigurationStateStatus;
  private busy = false;
  private warned = false;

  constructor(private readonly opts: ConfigurationStateOptions) {
    this.api = rest(opts.kc);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs ?? 2000);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    const state = this.opts.state();
    if (!state || this.busy) return;
    const status = configurationStateStatus(state, new Date().toISOString(), this.last);
    if (this.last && canonical(this.last) === canonical(status)) return;
    this.busy = true;
    const { namespace, name } = this.opts;
    const states = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/configurationstates`;
    const where = `${states}/${encodeURIComponent(name)}`;
    // The whole status is replaced (an empty errorSummary is left out rather than sent empty).
    const written = status.errorSummary === '' ? { result: status.result, conditions: status.conditions } : status;
    try {
      let current: k8s.KubernetesObject;
      try {
        current = await this.api.get<k8s.KubernetesObject>(where);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigurationState', metadata: { name, namespace, labels: { ...this.opts.labels } }, spec: {} };
        current = await this.api.create<k8s.KubernetesObject>(states, body);
      }
      await this.api.replace(`${where}/status`, { ...current, status: written });
      this.last = status;
      this.warned = false;
    } catch (e) {
      if (!this.warned) this.opts.log.warn('could not write the ConfigurationState; retrying', { name: `${namespace}/${name}`, error: errorText(e) });
      this.warned = true;
    } finally {
      this.busy = false;
    }
  }
}

/** IPAddressPool status (assigned/available per family), written by the leading controller. */
export class PoolStatusWriter {
  private readonly api: RestClient;
  private readonly written = new Map<string, string>();
  private busy = false;

  constructor(
    kc: KubeLike,
    private readonly namespace: string,
    private readonly log: Logger,
  ) {
    this.api = rest(kc);
  }

  /** Pools of a ConfigMap have no object: only the names of existing IPAddressPools are written. */
  async write(stats: readonly PoolStats[]): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const s of stats) {
        const status = poolStatus(s);
        const text = canonical(status);
        if (this.written.get(s.pool) === text) continue;
        try {
          await this.api.patch(`/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(this.namespace)}/ipaddresspools/${encodeURIComponent(s.pool)}/status`, { status });
          this.written.set(s.pool, text);
        } catch (e) {
          if (isNotFound(e)) this.written.set(s.pool, text);
          else this.log.debug('could not write IPAddressPool status', { pool: s.pool, error: errorText(e) });
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
