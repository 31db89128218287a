// Events and log lines for Services, said once per state: what would be said is remembered per
// Service and slot (e.g. "clear", "fight"), and a repeat of the same state stays silent, so that a
// resync or a retry does not flood the Service's Events.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../util/log';
import type { Decision } from './decide';
import type { EventSink } from './ports';
import { serviceKey } from './service-request';

export class QuietEvents {
  /** Last thing said per "namespace/name|slot". */
  private readonly said = new Map<string, string>();
  /**
   * Every slot name ever used (a handful: 'state', 'clear', 'fight', …), so that forgetting a
   * deleted Service deletes its few keys: a scan of every remembered key per delete made deleting
   * 10,000 Services cost ~17 s of the controller's event loop.
   */
  private readonly slots = new Set<string>();

  constructor(
    private readonly sink: EventSink,
    private readonly log: Logger,
  ) {}

  /** The decision's Events of one phase (before or after its status write). */
  emit(svc: k8s.V1Service, d: Decision, afterWrite: boolean): void {
    for (const e of d.events) if (e.afterWrite === afterWrite) this.say(svc, e.type, e.reason, e.message, e.slot);
  }

  /** Emits only when what would be said differs from the last thing said in this slot. */
  say(svc: k8s.V1Service, type: 'Normal' | 'Warning', reason: string, message: string, slot: string): void {
    const memo = `${serviceKey(svc)}|${slot}`;
    const text = `${type}|${reason}|${message}`;
    if (this.said.get(memo) === text) return;
    this.said.set(memo, text);
    this.slots.add(slot);
    if (type === 'Warning') this.log.warn(message, { service: serviceKey(svc), reason });
    else this.log.info(message, { service: serviceKey(svc), reason });
    this.sink.emit(svc, type, reason, message);
  }

  /** The next thing said in this slot is said even if it was said before. */
  forgetSlot(key: string, slot: string): void {
    this.said.delete(`${key}|${slot}`);
  }

  /** A deleted Service: forget everything said about it. */
  forget(key: string): void {
    for (const slot of this.slots) this.said.delete(`${key}|${slot}`);
  }
}
