// `--config-source auto|configmap|crds`: which configuration the controller and the speakers read.
// Pure; src/k8s/crd-config-source.ts gathers the facts from the API server.
import { fail, ok, type Outcome } from '../outcome';

export type ConfigSourceFlag = 'auto' | 'configmap' | 'crds';
export const CONFIG_SOURCE_FLAGS: readonly ConfigSourceFlag[] = ['auto', 'configmap', 'crds'];

export function parseConfigSourceFlag(value: string): Outcome<ConfigSourceFlag> {
  const flag = CONFIG_SOURCE_FLAGS.find((f) => f === value);
  return flag ? ok(flag) : fail(`unknown config source "${value}"; use ${CONFIG_SOURCE_FLAGS.join(', ')}`);
}

export interface SourceFacts {
  /** The metallb.io CRDs are served (IPAddressPool at least). */
  readonly crdsInstalled: boolean;
  /** IPAddressPools in the configuration namespace (0 when the CRDs are not installed). */
  readonly pools: number;
  /** The configuration ConfigMap exists. */
  readonly configMapPresent: boolean;
}

export interface SourceChoice {
  readonly source: 'configmap' | 'crds';
  /** Why, for the log line that says which source is in force. */
  readonly reason: string;
  /** The ConfigMap exists but is not read: the caller puts a Warning Event on it. */
  readonly configMapIgnored: boolean;
}

/**
 * auto: the metallb.io objects when their CRDs are installed and at least one IPAddressPool is in
 * the configuration namespace, else the ConfigMap. When both exist the objects win (the ConfigMap
 * is then reported as ignored). An explicit flag is obeyed as given.
 */
export function chooseConfigSource(flag: ConfigSourceFlag, facts: SourceFacts): SourceChoice {
  if (flag === 'configmap') return { source: 'configmap', reason: '--config-source=configmap', configMapIgnored: false };
  if (flag === 'crds') {
    const reason = facts.crdsInstalled ? '--config-source=crds' : '--config-source=crds (the metallb.io CRDs are not installed yet: waiting for them)';
    return { source: 'crds', reason, configMapIgnored: facts.configMapPresent };
  }
  if (!facts.crdsInstalled) return { source: 'configmap', reason: 'auto: the metallb.io CRDs are not installed', configMapIgnored: false };
  if (facts.pools === 0) return { source: 'configmap', reason: 'auto: no IPAddressPool in the configuration namespace', configMapIgnored: false };
  const both = facts.configMapPresent ? '; the ConfigMap is ignored while IPAddressPools exist' : '';
  return { source: 'crds', reason: `auto: an IPAddressPool exists in the configuration namespace${both}`, configMapIgnored: facts.configMapPresent };
}
