// Time as a narrow interface: the shells (controller, speaker, BGP sessions, membership) take a
// Clock so that tests drive their timers by hand (test/support/fake-clock.ts) instead of sleeping.
export type TimerHandle = { readonly __timer: unique symbol };

export interface Clock {
  /** Milliseconds on a monotonic scale (performance.now() for the system clock): never steps back. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (Date.now()): only for what is shown or stored. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t as unknown as TimerHandle;
  },
  clearTimeout: (handle) => {
    if (handle !== undefined) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};
