// A REST client for the API server on plain node:https and JSON.parse. client-node 1.x runs every
// response through its ObjectSerializer (a typed copy of each object, field by field) and loads
// ~60 MiB of generated models and auth libraries; on the controller's status-write path that was
// most of the CPU besides TLS, and in the speaker most of the heap. Objects come back as the
// server sent them (timestamps are strings), typed by the caller.
import * as http from 'node:http';
import * as https from 'node:https';
import type { ApiEndpoint, TlsMaterial } from './kubeconfig';

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC_PATCH = 'application/strategic-merge-patch+json';
/** Sent with every request (kubectl's form: name/version (os/arch)). */
export const USER_AGENT = `ironlb/${process.env.npm_package_version ?? 'dev'} (${process.platform}/${process.arch})`;


import { DEFAULT_API_TIMEOUT_MS } from './api-call';

/** A failed API call: `code` is the HTTP status and `body` the response text (apiStatus, errorText read them). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    method: string,
    reqPath: string,
  ) {
    super(`${method} ${reqPath}: HTTP ${code}${statusMessage(body)}`);
    this.name = 'ApiError';
  }
}

function statusMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    return typeof m === 'string' ? `: ${m}` : '';
  } catch {
    return '';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Aborts the call; without it the call is aborted after the client's timeout. */
  signal?: AbortSignal;
}

export function withQuery(p: string, query: Query | undefined): string {
  if (!query) return p;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${p}${p.includes('?') ? '&' : '?'}${s}` : p;
}

function tlsKey(tls: TlsMaterial): string {
  return [tls.ca, tls.cert, tls.key].map((b) => (b ? b.toString('base64') : '')).join('|') + `|${String(tls.rejectUnauthorized)}|${tls.servername ?? ''}`;
}

export class RestClient {
  private readonly url: URL;
  private readonly secure: boolean;
  /** One keep-alive agent for the current TLS material (a rotated certificate gets a new one). */
  private agent?: { key: string; tls: TlsMaterial; agent: http.Agent };

  constructor(
    readonly endpoint: ApiEndpoint,
    readonly timeoutMs = DEFAULT_API_TIMEOUT_MS,
  ) {
    this.url = new URL(endpoint.server);
    this.secure = this.url.protocol === 'https:';
  }

  get server(): string {
    return this.endpoint.server;
  }

  async get<T>(p: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.json<T>('GET', p, opts);
  }

  /** GET, with 404 as undefined. */
  async find<T>(p: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<T | undefined> {
    try {
      return await this.json<T>('GET', p, opts);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  async create<T>(p: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.json<T>('POST', p, { ...opts, body });
  }

  async replace<T>(p: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.json<T>('PUT', p, { ...opts, body });
  }

  /** PATCH with a merge patch unless `contentType` says JSON or strategic-merge patch. */
  async patch<T>(p: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.json<T>('PATCH', p, { contentType: MERGE_PATCH, ...opts, body });
  }

  async delete<T = unknown>(p: string, opts: RequestOptions = {}): Promise<T> {
    return this.json<T>('DELETE', p, opts);
  }

  async json<T>(method: string, p: string, opts: RequestOptions): Promise<T> {
    const signal = opts.signal ?? AbortSignal.timeout(this.timeoutMs);
    const res = await this.send(method, p, { ...opts, signal });
    let text: string;
    try {
      text = await readBody(res);
    } catch (e) {
      throw signal.aborted ? abortError(signal) : e;
    }
    if ((res.statusCode ?? 0) >= 300) throw new ApiError(res.statusCode ?? 0, text, method, p);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Starts a streaming GET (a watch). The response is handed over once its headers arrived; a
   * status >= 300 is thrown as an ApiError. `signal` ends it; there is no client-side timeout.
   */
  async stream(p: string, query: Query, signal: AbortSignal): Promise<http.IncomingMessage> {
    const res = await this.send('GET', p, { query, signal });
    if ((res.statusCode ?? 0) >= 300) throw new ApiError(res.statusCode ?? 0, await readBody(res), 'GET', p);
    return res;
  }

  private async send(method: string, p: string, opts: RequestOptions & { signal: AbortSignal }): Promise<http.IncomingMessage> {
    const { tls, headers } = await this.endpoint.credentials();
    const signal = opts.signal;
    if (signal.aborted) throw abortError(signal);
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    // The API server names a writer without an explicit fieldManager after its User-Agent (up to
    // the first '/'): managedFields then say ironlb, not node-fetch or nothing.
    const reqHeaders: http.OutgoingHttpHeaders = { Accept: 'application/json', 'User-Agent': USER_AGENT, ...headers };
    if (payload) {
      reqHeaders['Content-Type'] = opts.contentType ?? 'application/json';
      reqHeaders['Content-Length'] = payload.length;
    }
    const options: https.RequestOptions = {
      method,
      protocol: this.url.protocol,
      hostname: this.url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.url.port || (this.secure ? 443 : 80),
      path: this.url.pathname.replace(/\/$/, '') + withQuery(p, opts.query),
      headers: reqHeaders,
      agent: this.agentFor(tls),
      signal,
    };
    return new Promise((resolve, reject) => {
      const req = (this.secure ? https : http).request(options, resolve);
      req.on('error', (e) => reject(signal.aborted ? abortError(signal) : e));
      req.end(payload);
    });
  }

  private agentFor(tls: TlsMaterial): http.Agent {
    // The same material object as last time needs no key: encoding the CA, certificate and key
    // for every request was ~3 % of the controller's CPU in a burst of status writes.
    if (this.agent?.tls === tls) return this.agent.agent;
    const key = tlsKey(tls);
    if (this.agent?.key !== key) {
      this.agent?.agent.destroy();
      const agent = this.secure ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
      this.agent = { key, tls, agent };
    } else this.agent = { ...this.agent, tls };
    return this.agent.agent;
  }

  /** Closes the idle keep-alive connections (tests, shutdown). */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(`request aborted: ${String(r)}`);
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}
