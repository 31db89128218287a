// What every API caller shares, raw client or client-node: a deadline on each call and the shape
// of a failed call (`.code` the HTTP status, `.body` the server's Status). Loads no client library.
import { systemClock, type Clock } from '../util/clock';

/** Every API call (raw or through makeApiClient) gives up after this long unless it says otherwise. */
export const DEFAULT_API_TIMEOUT_MS = 10_000;

/**
 * Runs `call` with a signal that aborts after `timeoutMs` or when `parent` aborts, whichever comes
 * first; the timer and the listener on `parent` are removed when the call settles.
 */
export async function withDeadline<T>(timeoutMs: number, parent: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>, clock: Clock = systemClock): Promise<T> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(parent?.reason);
  if (parent?.aborted) ac.abort(parent.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  const timer = clock.setTimeout(() => ac.abort(new Error(`API call timed out after ${timeoutMs} ms`)), Math.max(0, timeoutMs));
  try {
    return await call(ac.signal);
  } finally {
    clock.clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  }
}

/** HTTP status of a failed API call, or undefined for network-level failures. */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    const statusCode = (err as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number') return statusCode;
  }
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatus(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}

export function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (parsed.message) return parsed.message;
      } catch {
        /* not JSON */
      }
      return body.slice(0, 300);
    }
    if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
      return (body as { message: string }).message;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

