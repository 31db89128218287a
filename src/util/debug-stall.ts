// Test hook: with IRONLB_DEBUG_STALL_MS=N in the environment, SIGUSR2 makes the main thread
// busy-wait N ms (bench/failover-soak.ts). It stalls the main loop only, as a long GC or a burst
// of work does; the other threads (ARP/NDP responder worker, heartbeat pump) carry on.
// SIGSTOP would stop every thread at once, which is a host stall, not a main-loop stall.
// Without the variable the signal keeps its default action (the process ends): nothing in a
// normal deployment can stall a speaker through this.
import type { Logger } from './log';

export function installDebugStall(log: Logger, env: NodeJS.ProcessEnv = process.env): void {
  const ms = Number(env.IRONLB_DEBUG_STALL_MS ?? 0);
  if (!(ms > 0)) return;
  log.warn('debug: SIGUSR2 stalls the main loop', { ms });
  process.on('SIGUSR2', () => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // Busy on purpose: the stall under test.
    }
    log.info('debug: main loop stalled', { ms });
  });
}
