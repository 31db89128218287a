// The configuration the operator commands replay decisions with: the one the controller and the
// speakers read, chosen by the same `--config-source` rule (detectConfigSource: the metallb.io
// objects when their CRDs are served and an IPAddressPool exists, else the ConfigMap) and turned
// into a Config by the same pure functions (parseConfigText; translateObjects as the controller
// calls it, without BGP passwords).
import * as k8s from '@kubernetes/client-node';
import { allowsAddressChanges } from '../config/crd/reload';
import type { ConfigSourceFlag } from '../config/crd/source-choice';
import { formatObjectIssue, translateObjects } from '../config/crd/translate';
import { formatIssue, parseConfigText } from '../config/parse';
import type { Config } from '../config/types';
import { apiStatus, errorText } from '../k8s/client';
import { metaOf } from '../k8s/config-gate';
import { CONFIG_KEY } from '../k8s/config-watcher';
import { GROUP, WATCHED, detectConfigSource } from '../k8s/crd-config-source';

export interface LiveConfig {
  readonly source: 'configmap' | 'crds';
  /** `ConfigMap ironlb-system/config` or `metallb.io objects in ironlb-system`. */
  readonly where: string;
  /** The ConfigMap exists / at least one IPAddressPool exists; config is set only when it is also valid. */
  readonly found: boolean;
  readonly config?: Config;
  readonly errors: string[];
  /** The opt-in into address changes (ConfigMap annotation, or an IPAddressPool's). */
  readonly allowAddressChanges: boolean;
  /** Why this source (auto's reasoning, or the flag). */
  readonly reason: string;
}

export interface LiveConfigOptions {
  readonly configNamespace: string;
  readonly configName: string;
  readonly flag?: ConfigSourceFlag;
}

export async function loadLiveConfig(kc: k8s.KubeConfig, opts: LiveConfigOptions): Promise<LiveConfig> {
  const choice = await detectConfigSource(kc, { namespace: opts.configNamespace, configMapName: opts.configName, flag: opts.flag ?? 'auto' });
  return choice.source === 'crds' ? fromObjects(kc, opts.configNamespace, choice.reason) : fromConfigMap(kc, opts, choice.reason);
}

async function fromConfigMap(kc: k8s.KubeConfig, opts: LiveConfigOptions, reason: string): Promise<LiveConfig> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const where = `ConfigMap ${opts.configNamespace}/${opts.configName}`;
  const cm = await core.readNamespacedConfigMap({ name: opts.configName, namespace: opts.configNamespace }).catch((e) => {
    if (apiStatus(e) === 404) return undefined;
    throw new Error(`reading ${where}: ${errorText(e)}`);
  });
  const allowAddressChanges = metaOf(cm?.metadata?.annotations).allowAddressChanges;
  if (!cm) return { source: 'configmap', where, found: false, errors: [], allowAddressChanges, reason };
  const text = cm.data?.[CONFIG_KEY];
  if (text === undefined) return { source: 'configmap', where, found: true, errors: [`the ConfigMap has no "${CONFIG_KEY}" key`], allowAddressChanges, reason };
  const parsed = parseConfigText(text);
  return parsed.ok
    ? { source: 'configmap', where, found: true, config: parsed.config, errors: [], allowAddressChanges, reason }
    : { source: 'configmap', where, found: true, errors: parsed.errors.map(formatIssue), allowAddressChanges, reason };
}

async function fromObjects(kc: k8s.KubeConfig, namespace: string, reason: string): Promise<LiveConfig> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const where = `metallb.io objects in ${namespace}`;
  const lists = await Promise.all(
    WATCHED.map(async (w) => {
      const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: w.version, namespace, plural: w.plural }).catch((e) => {
        // A kind whose CRD is missing holds no objects (the controller's informer keeps waiting for it).
        if (apiStatus(e) === 404) return { items: [] };
        throw new Error(`listing ${w.plural}.${GROUP} in ${namespace}: ${errorText(e)}`);
      })) as { items?: Array<Record<string, unknown>> };
      // List items may lack kind and apiVersion: set them as the controller's source does.
      return (list.items ?? []).map((o) => ({ ...o, kind: w.kind, apiVersion: `${GROUP}/${w.version}` }));
    }),
  );
  const objects = lists.flat();
  const allowAddressChanges = allowsAddressChanges(objects);
  if (!objects.some((o) => o.kind === 'IPAddressPool')) return { source: 'crds', where, found: false, errors: [], allowAddressChanges, reason };
  const result = translateObjects(objects, { namespace, secrets: 'skip' });
  return result.ok
    ? { source: 'crds', where, found: true, config: result.config, errors: [], allowAddressChanges, reason }
    : { source: 'crds', where, found: true, errors: result.errors.map(formatObjectIssue), allowAddressChanges, reason };
}
