// Polling helpers shared by the lab script and the test harness.

/**
 * Polls `fn` until it returns a value other than undefined, null or false, or fails with `what`
 * after `timeoutMs`. (`false` counts as "not yet": a predicate such as `xs.some(...)` passed here
 * would otherwise end the wait at once, and the test would go on before the thing happened.)
 */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
