// What to do with each version of the configuration ConfigMap, without the API: parse it, let the
// owner vet it (the controller refuses a configuration that would take live addresses away), keep
// the last good one in force when a new one is refused, and say so (stale flag, Warning Events on
// the ConfigMap, log). ConfigWatcher feeds it from an informer; tests feed it by hand.
import { ALLOW_ADDRESS_CHANGES } from '../config/crd/reload';
import { formatIssue, parseConfigText } from '../config/parse';
import type { Config } from '../config/types';
import type { Logger } from '../util/log';

/** ConfigMap annotation that lets a new configuration move Services whose address it drops. */
export { ALLOW_ADDRESS_CHANGES };

export interface ConfigMeta {
  /** `ironlb.io/allow-address-changes: "true"` on the ConfigMap (metallb.io objects: on an IPAddressPool). */
  readonly allowAddressChanges: boolean;
  /** Where the opt-in is set, for messages: "on the ConfigMap" when absent. */
  readonly optInWhere?: string;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly summary: string; readonly items: readonly string[] };

export interface ConfigState {
  config?: Config;
  meta: ConfigMeta;
  loaded: boolean;
  stale: boolean;
  /** Why the latest version was refused, while it is (ConfigurationState errorSummary). */
  error?: string;
}

export interface ConfigGateOptions {
  /** "namespace/name" of the ConfigMap, for messages. */
  where: string;
  log: Logger;
  onConfig: (config: Config, meta: ConfigMeta) => void;
  /** The current ConfigMap's annotations, valid or not: the opt-in is the operator's current word. */
  onMeta?: (meta: ConfigMeta) => void;
  onStaleChange?: (state: ConfigState) => void;
  /** A Warning Event on the ConfigMap. */
  warn?: (reason: string, message: string) => void;
  /** May refuse a valid configuration; asked again on recheck(). */
  vet?: (config: Config, meta: ConfigMeta, state: ConfigState) => Verdict;
}

/** Event messages stay under the API's comfortable size; longer lists are split over several Events. */
const MAX_EVENT_MESSAGE = 1000;

export function metaOf(annotations: Readonly<Record<string, string>> | undefined): ConfigMeta {
  return { allowAddressChanges: annotations?.[ALLOW_ADDRESS_CHANGES] === 'true' };
}

/** Splits "summary" + items into messages of at most `max` characters, numbered when more than one. */
export function chunkMessages(summary: string, items: readonly string[], max = MAX_EVENT_MESSAGE): string[] {
  const bodies: string[][] = [[]];
  let size = summary.length;
  for (const item of items) {
    const line = item.length > max / 2 ? `${item.slice(0, max / 2)}…` : item;
    if (size + line.length + 1 > max - 16 && bodies[bodies.length - 1].length > 0) {
      bodies.push([]);
      size = summary.length;
    }
    bodies[bodies.length - 1].push(line);
    size += line.length + 1;
  }
  return bodies.map((b, i) => [`${summary}${bodies.length > 1 ? ` (part ${i + 1} of ${bodies.length})` : ''}`, ...b].join('\n'));
}

export class ConfigGate {
  readonly state: ConfigState = { loaded: false, stale: false, meta: { allowAddressChanges: false } };
  /** The text (and meta) last applied. */
  private appliedKey?: string;
  /** The last refused version, so that a repeat is refused quietly. */
  private refusedKey?: string;
  /** A valid version refused by vet(), offered again by recheck(). */
  private candidate?: { key: string; config: Config; meta: ConfigMeta };

  constructor(private readonly opts: ConfigGateOptions) {}

  /** Which ConfigMap version is in force: "<allow-address-changes>|<config text>". */
  get applied(): string | undefined {
    return this.appliedKey;
  }

  /** True while a valid configuration waits because vet() refused it. */
  get waiting(): boolean {
    return this.candidate !== undefined;
  }

  /** The ConfigMap was added or changed. */
  offer(text: string | undefined, annotations: Readonly<Record<string, string>> | undefined): void {
    const meta = metaOf(annotations);
    const key = `${meta.allowAddressChanges}|${text ?? ''}`;
    this.candidate = undefined;
    this.opts.onMeta?.(meta);
    if (key === this.appliedKey) {
      this.restored();
      return;
    }
    if (text === undefined) {
      this.refuse(key, 'InvalidConfig', 'invalid configuration refused (1 error)', ['the ConfigMap has no "config" key']);
      return;
    }
    const result = parseConfigText(text);
    if (!result.ok) {
      const errors = result.errors.map(formatIssue);
      this.refuse(key, 'InvalidConfig', `invalid configuration refused (${errors.length} error${errors.length === 1 ? '' : 's'})`, errors);
      return;
    }
    this.candidate = { key, config: result.config, meta };
    this.recheck();
  }

  /**
   * A configuration already parsed and validated by the caller (the metallb.io objects, keyed by
   * their fingerprint): vetted and applied like a ConfigMap version.
   */
  offerConfig(key: string, config: Config, meta: ConfigMeta): void {
    this.candidate = undefined;
    this.opts.onMeta?.(meta);
    if (key === this.appliedKey) {
      this.restored();
      return;
    }
    this.candidate = { key, config, meta };
    this.recheck();
  }

  /** An invalid version the caller refused and reported itself: the last good one stays in force, stale. */
  refusedElsewhere(error: string): void {
    this.candidate = undefined;
    this.refusedKey = undefined;
    this.state.error = error;
    this.setStale(true);
  }

  /** The ConfigMap was deleted: far more often an accident than a wish to drop every address. */
  deleted(): void {
    this.opts.log.warn('configuration ConfigMap deleted; keeping the last good configuration', { configMap: this.opts.where });
    this.keepLastGood();
  }

  /** The configuration is gone (ConfigMap deleted, every IPAddressPool deleted): keep the last good one, stale if there is one. */
  keepLastGood(): void {
    this.candidate = undefined;
    this.setStale(this.state.loaded);
    this.appliedKey = undefined;
  }

  /** The last good configuration re-applied after a refused one: nothing to reload, no longer stale. */
  private restored(): void {
    this.refusedKey = undefined;
    this.state.error = undefined;
    this.setStale(false);
  }

  /** Offers a refused valid configuration again (what it would take away may be gone now). */
  recheck(): void {
    const c = this.candidate;
    if (!c) return;
    const verdict = this.opts.vet?.(c.config, c.meta, this.state) ?? { ok: true };
    if (!verdict.ok) {
      this.refuse(c.key, verdict.reason, verdict.summary, verdict.items);
      return;
    }
    this.candidate = undefined;
    this.appliedKey = c.key;
    this.refusedKey = undefined;
    this.state.config = c.config;
    this.state.meta = c.meta;
    this.state.loaded = true;
    this.state.error = undefined;
    this.setStale(false);
    this.opts.log.info('config reloaded', { source: this.opts.where, pools: c.config.pools.map((p) => p.name), peers: c.config.peers.length, allowAddressChanges: c.meta.allowAddressChanges });
    this.opts.onConfig(c.config, c.meta);
  }

  private refuse(key: string, reason: string, summary: string, items: readonly string[]): void {
    this.state.error = [summary, ...items].join('\n');
    this.setStale(true);
    if (key === this.refusedKey) return;
    this.refusedKey = key;
    const kept = this.state.loaded ? 'the last good configuration stays in force' : 'no configuration is loaded';
    this.opts.log.error(`configStale: ${summary}; ${kept}`, { configMap: this.opts.where, reason, errors: items, lastGoodLoaded: this.state.loaded });
    for (const message of chunkMessages(`${summary}; ${kept}:`, items)) this.opts.warn?.(reason, message);
  }

  private setStale(stale: boolean): void {
    if (this.state.stale === stale) return;
    this.state.stale = stale;
    this.opts.onStaleChange?.(this.state);
  }
}
