// Once the speaker has started, drop its mapping of the node binary's pages that startup touched
// (native/src/file_pages.c). VmRSS counts every page of the ~100 MB executable the process ever
// touched: bootstrap, the first compile of each module, OpenSSL's initialisation. They are clean
// page cache the kernel could reclaim anyway, but while mapped they sit in VmRSS and in what
// `ps`/`top` show for each node. Pages still in use come back at their next touch as minor faults
// from the page cache (no disk read while the file is cached), with the same content. Done once,
// after the first sync settled: repeating it would only trade RSS for refaults.
import type { Logger } from '../util/log';
import type { ReleasedPages } from './native';

export interface StartupPagesOptions {
  /** After this long, once (10 s: the first sync and the first elections have run). */
  delayMs: number;
  release: () => ReleasedPages;
  log: Logger;
  /** Set to the resident bytes dropped. */
  released?: { set(bytes: number): void };
  setTimer?: (fn: () => void, ms: number) => { unref?(): unknown };
  clearTimer?: (t: unknown) => void;
}

export const STARTUP_PAGES_DELAY_MS = 10_000;

/** Schedules the one release; returns a cancel (for a stop before it ran). */
export function scheduleStartupPageRelease(opts: StartupPagesOptions): () => void {
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  let done = false;
  const timer = setTimer(() => {
    done = true;
    releaseNow(opts);
  }, opts.delayMs);
  timer.unref?.();
  return () => {
    if (!done) clearTimer(timer);
    done = true;
  };
}

function releaseNow(opts: StartupPagesOptions): void {
  let r: ReleasedPages;
  try {
    r = opts.release();
  } catch (e) {
    // Nothing was dropped; the speaker runs as before, with the larger VmRSS.
    opts.log.warn('could not release the node binary\'s startup pages', { error: e instanceof Error ? e.message : String(e) });
    return;
  }
  opts.released?.set(r.rssKiB * 1024);
  const fields = { mappings: r.mappings, mib: Math.round(r.rssKiB / 102.4) / 10, refused: r.failed };
  if (r.failed > 0) opts.log.warn('released the node binary\'s startup pages; madvise refused some mappings (left as they were)', fields);
  else opts.log.info('released the node binary\'s startup pages (pages in use come back from the page cache)', fields);
}
