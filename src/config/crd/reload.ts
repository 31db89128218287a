// What to do when the metallb.io objects change: the pure half of src/k8s/crd-config-source.ts.
// The same guarantees as the ConfigMap watcher: an invalid set never replaces the last good
// configuration; the same objects are not evaluated (or reported) twice; all objects gone keeps
// the last good configuration, as a deleted ConfigMap does.
import { canonical } from '../canonical';
import type { Config } from '../types';
import { formatObjectIssue, type ObjectIssue } from './objects';
import { issuesByObject, translateObjects, type NodeFacts, type TranslateOptions } from './translate';

export type ReloadDecision =
  /** Nothing that matters changed (a status update, a resync). */
  | { readonly action: 'unchanged' }
  /** The last good objects are back after a refused change: nothing to reload, no longer stale. */
  | { readonly action: 'restored' }
  /** A valid configuration: apply it. */
  | { readonly action: 'load'; readonly config: Config; readonly warnings: readonly ObjectIssue[]; readonly print: string }
  /** Refused: keep the last good configuration; report the errors on their objects. */
  | { readonly action: 'reject'; readonly errors: readonly ObjectIssue[]; readonly warnings: readonly ObjectIssue[] }
  /** No IPAddressPool left: keep the last good configuration (more often an accident than a wish to drop every address). */
  | { readonly action: 'no-pools' };

/**
 * Annotation that lets a new configuration move Services whose address it drops: on the ConfigMap,
 * or (metallb.io objects) on any IPAddressPool of the configuration namespace.
 */
export const ALLOW_ADDRESS_CHANGES = 'ironlb.io/allow-address-changes';

const kindOf = (o: unknown): unknown => (typeof o === 'object' && o !== null ? (o as { kind?: unknown }).kind : undefined);

/** Whether some IPAddressPool carries the opt-in into address changes. */
export function allowsAddressChanges(objects: readonly unknown[]): boolean {
  return objects.some((o) => kindOf(o) === 'IPAddressPool' && annotationsOf(o)[ALLOW_ADDRESS_CHANGES] === 'true');
}

function annotationsOf(o: unknown): Record<string, unknown> {
  const m = typeof o === 'object' && o !== null ? (o as { metadata?: unknown }).metadata : undefined;
  const a = typeof m === 'object' && m !== null ? (m as { annotations?: unknown }).annotations : undefined;
  return typeof a === 'object' && a !== null ? (a as Record<string, unknown>) : {};
}

/** What decides the configuration: specs, names, labels, the opt-in annotation, Secret data; not status, resourceVersion, managedFields. */
export function fingerprint(objects: readonly unknown[]): string {
  const parts = objects.map((o) => {
    if (typeof o !== 'object' || o === null) return canonical(o);
    const { apiVersion, kind, metadata, spec, type, data, stringData } = o as Record<string, unknown>;
    const m = (typeof metadata === 'object' && metadata !== null ? metadata : {}) as Record<string, unknown>;
    const allow = annotationsOf(o)[ALLOW_ADDRESS_CHANGES];
    return canonical({ apiVersion, kind, name: m.name, namespace: m.namespace, labels: m.labels, allow, spec, type, data, stringData });
  });
  return canonical(parts.sort());
}

export class ObjectConfigTracker {
  private last?: string;
  private lastGood?: string;

  constructor(
    private readonly namespace: string,
    private readonly nodes?: () => readonly NodeFacts[] | undefined,
    private readonly secrets: TranslateOptions['secrets'] = 'resolve',
  ) {}

  decide(objects: readonly unknown[]): ReloadDecision {
    const print = fingerprint(objects);
    if (print === this.last) return { action: 'unchanged' };
    this.last = print;
    if (print === this.lastGood) return { action: 'restored' };
    if (!objects.some((o) => kindOf(o) === 'IPAddressPool')) return { action: 'no-pools' };
    const result = translateObjects(objects, { namespace: this.namespace, nodes: this.nodes?.(), secrets: this.secrets });
    if (!result.ok) return { action: 'reject', errors: result.errors, warnings: result.warnings };
    this.lastGood = print;
    return { action: 'load', config: result.config, warnings: result.warnings, print };
  }

  /** Forget what was seen, so that the next decide() evaluates (and reports) the objects again. */
  reset(): void {
    this.last = undefined;
    this.lastGood = undefined;
  }
}

const EVENT_MESSAGE_MAX = 1000;

/** One Warning Event message per object that has errors; `''` holds issues that belong to no object. */
export function rejectionMessages(errors: readonly ObjectIssue[], lastGoodLoaded: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const kept = lastGoodLoaded ? 'the last good configuration stays in force' : 'no configuration is loaded';
  for (const [object, issues] of issuesByObject(errors)) {
    const lines = issues.map((i) => (object === '' ? formatObjectIssue(i) : [i.path, i.message].filter((p) => p !== '').join(': ')));
    const head = `invalid configuration refused (${issues.length} error${issues.length === 1 ? '' : 's'} in this object${errors.length > issues.length ? `, ${errors.length} in all` : ''}); ${kept}:`;
    out.set(object, `${head}\n${lines.join('\n')}`.slice(0, EVENT_MESSAGE_MAX));
  }
  return out;
}

/** One Warning Event message per object with fields ironlb does not honour. */
export function warningMessages(warnings: readonly ObjectIssue[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [object, issues] of issuesByObject(warnings)) {
    if (object === '') continue;
    const lines = issues.map((i) => [i.path, i.message].filter((p) => p !== '').join(': '));
    out.set(object, `accepted with ${issues.length} warning${issues.length === 1 ? '' : 's'}:\n${lines.join('\n')}`.slice(0, EVENT_MESSAGE_MAX));
  }
  return out;
}
