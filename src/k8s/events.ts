// Writes core/v1 Events. Callers decide *when* (on change only); this only makes the write
// cheap for repeats by bumping the count of an identical recent Event instead of adding one.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { errorText } from './client';
import type { Logger } from '../util/log';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  kind: string;
  apiVersion?: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export function targetOf(obj: k8s.KubernetesObject, kind: string, apiVersion = 'v1'): EventTarget {
  return {
    kind,
    apiVersion,
    namespace: obj.metadata?.namespace,
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
  };
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

const REPEAT_WINDOW_MS = 10 * 60 * 1000;

export class EventRecorder {
  private readonly api: k8s.CoreV1Api;
  private readonly recent = new Map<string, Recent>();

  constructor(
    kc: k8s.KubeConfig,
    private readonly component: string,
    private readonly host: string | undefined,
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(k8s.CoreV1Api);
  }

  /** Fire and forget: an Event that cannot be written is logged, never fatal. */
  emit(target: EventTarget, type: EventType, reason: string, message: string): void {
    void this.write(target, type, reason, message).catch((e) =>
      this.log.warn('could not write event', { reason, object: `${target.namespace ?? ''}/${target.name}`, error: errorText(e) }),
    );
  }

  private async write(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = target.namespace ?? 'default';
    const key = `${target.uid ?? target.name}|${type}|${reason}|${message}`;
    const now = new Date();
    const prev = this.recent.get(key);
    if (prev && Date.now() - prev.at < REPEAT_WINDOW_MS) {
      prev.count++;
      prev.at = Date.now();
      try {
        await this.api.patchNamespacedEvent(
          { name: prev.name, namespace: prev.namespace, body: { count: prev.count, lastTimestamp: now } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        return;
      } catch {
        this.recent.delete(key); // expired or deleted: write a fresh one
      }
    }
    const name = `${target.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
    await this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name, namespace },
        involvedObject: {
          kind: target.kind,
          apiVersion: target.apiVersion,
          namespace: target.namespace,
          name: target.name,
          uid: target.uid,
          resourceVersion: target.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component, host: this.host },
        reportingComponent: this.component,
        reportingInstance: this.host ?? '',
      },
    });
    this.recent.set(key, { name, namespace, count: 1, at: Date.now() });
    if (this.recent.size > 5000) this.recent.clear();
  }
}
