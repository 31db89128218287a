// The FSM's timers on an injected Clock. Restarting a timer moves its deadline rather than
// replacing the clock timer: the hold timer restarts on every message received (a full table is
// hundreds of thousands of UPDATEs), and a new clock timer per message would cost more than the
// message. A timer that fires before its moved deadline sets itself again for the rest.
import type { Clock, TimerHandle } from '../../util/clock';
import type { TimerName } from './fsm';

interface Slot {
  handle?: TimerHandle;
  /** When the FSM wants the timer to expire. */
  due: number;
  /** When the clock timer behind it fires (<= due). */
  firesAt: number;
}

export class SessionTimers {
  private readonly slots = new Map<TimerName, Slot>();

  constructor(
    private readonly clock: Clock,
    private readonly expired: (timer: TimerName) => void,
  ) {}

  /** (Re)starts `timer` to expire `ms` from now; ms <= 0 stops it. */
  arm(timer: TimerName, ms: number): void {
    const slot = this.slot(timer);
    if (ms <= 0) {
      this.cancel(slot);
      return;
    }
    slot.due = this.clock.now() + ms;
    if (slot.handle !== undefined && slot.firesAt <= slot.due) return;
    this.cancel(slot);
    this.set(timer, slot, ms);
  }

  isArmed(timer: TimerName): boolean {
    return this.slots.get(timer)?.handle !== undefined;
  }

  stopAll(): void {
    for (const slot of this.slots.values()) this.cancel(slot);
  }

  private slot(timer: TimerName): Slot {
    let slot = this.slots.get(timer);
    if (!slot) this.slots.set(timer, (slot = { due: 0, firesAt: 0 }));
    return slot;
  }

  private set(timer: TimerName, slot: Slot, ms: number): void {
    slot.firesAt = this.clock.now() + ms;
    slot.handle = this.clock.setTimeout(() => this.fire(timer, slot), ms);
  }

  private fire(timer: TimerName, slot: Slot): void {
    slot.handle = undefined;
    const left = slot.due - this.clock.now();
    if (left > 0) this.set(timer, slot, left);
    else this.expired(timer);
  }

  private cancel(slot: Slot): void {
    this.clock.clearTimeout(slot.handle);
    slot.handle = undefined;
  }
}
