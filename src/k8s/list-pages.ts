// The informers' list (raw-informer.ts), in pages.
import { DEFAULT_API_TIMEOUT_MS, apiStatus, withDeadline } from './api-call';
import type { RestClient } from './rest';
import type { Logger } from '../util/log';

/** Objects per page of a list. */
export const LIST_PAGE_SIZE = 500;

interface ListPage<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

export interface ListInPages<T> {
  client: RestClient;
  path: string;
  query: Record<string, string | undefined>;
  stop: AbortSignal;
  log: Logger;
  /** Each listed object as it arrives, and what to keep of it (the informer trims it). */
  each: (obj: T) => T;
}

/**
 * The list in pages of LIST_PAGE_SIZE (`limit`/`continue`, one consistent snapshot), each object
 * handed to `each` as its page arrives: one response of 10,000 Services was the whole list as one
 * string (~10 MB with bench:controller's small Services), its chunks and every untrimmed parsed
 * object alive at once. A continue token that expired (410 after the first page) falls back to
 * one full list, as client-go's pager does.
 */
export async function listInPages<T>(o: ListInPages<T>): Promise<{ items: T[]; resourceVersion: string }> {
  const items: T[] = [];
  let resourceVersion = '';
  let token: string | undefined;
  do {
    let page: ListPage<T>;
    try {
      page = await listPage(o, true, token);
    } catch (e) {
      if (token === undefined || apiStatus(e) !== 410) throw e;
      o.log.debug('list continue token expired; listing in full', { path: o.path });
      items.length = 0;
      token = undefined;
      page = await listPage(o, false);
    }
    for (const obj of page.items ?? []) items.push(o.each(obj));
    resourceVersion = page.metadata?.resourceVersion ?? '';
    token = page.metadata?.continue || undefined;
  } while (token !== undefined);
  return { items, resourceVersion };
}

/** One page (`paged`: at most LIST_PAGE_SIZE objects), or the whole list. */
function listPage<T>(o: ListInPages<T>, paged: boolean, token?: string): Promise<ListPage<T>> {
  const query = { ...o.query, ...(paged && { limit: String(LIST_PAGE_SIZE) }), ...(token !== undefined && { continue: token }) };
  // As long as a full list of 10,000 Services may take, which is longer than one ordinary call.
  return withDeadline(DEFAULT_API_TIMEOUT_MS * 3, o.stop, (signal) => o.client.get<ListPage<T>>(o.path, { query, signal }));
}
