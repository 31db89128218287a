// The data-path check of one node (issue 16.3): GET kube-proxy's /healthz (default
// http://127.0.0.1:10256/healthz) every `intervalMs`; 200 is healthy, anything else — another
// status, a refused or reset connection, no answer within the timeout (a wedged kube-proxy) — is
// a failure. HealthGate turns the results into "electable or not", damped; onChange reports it.
import * as http from 'node:http';
import type { Logger } from '../../util/log';
import { HealthGate, type HealthGateOptions } from './health-gate';

export interface HealthProbeOptions {
  readonly url: string;
  readonly intervalMs: number;
  /** Per check; below the interval so that checks never overlap. */
  readonly timeoutMs: number;
  readonly gate?: HealthGateOptions;
  readonly log: Logger;
  readonly onChange: (healthy: boolean) => void;
  readonly onCheck?: (ok: boolean) => void;
}

export class HealthProbe {
  private gate: HealthGate;
  private agent = new http.Agent({ keepAlive: false });
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastFailure = '';

  constructor(private readonly opts: HealthProbeOptions) {
    if (opts.timeoutMs >= opts.intervalMs) throw new Error('the data-path check timeout must be shorter than its interval');
    this.gate = new HealthGate(opts.gate);
  }

  get healthy(): boolean {
    return this.gate.healthy;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts checking; after a stop(), from a fresh gate (healthy until the checks say otherwise). */
  start(): void {
    if (this.timer) return;
    if (this.stopped) {
      this.stopped = false;
      this.agent = new http.Agent({ keepAlive: false });
      this.gate = new HealthGate(this.opts.gate);
    }
    this.timer = setInterval(() => void this.checkOnce(), this.opts.intervalMs);
    void this.checkOnce();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.agent.destroy();
    this.stopped = true;
  }

  /** One check: resolves with its result after applying it. */
  async checkOnce(): Promise<boolean> {
    const why = await this.get();
    const ok = why === undefined;
    this.opts.onCheck?.(ok);
    if (!ok) this.lastFailure = why;
    if (this.gate.observe(ok, performance.now())) {
      if (this.gate.healthy) this.opts.log.info('data path healthy again: electable', { url: this.opts.url, heldMs: this.gate.currentHoldMs });
      else this.opts.log.warn('data path check failing: asking the peers to elect others', { url: this.opts.url, error: this.lastFailure, nextHoldMs: this.gate.currentHoldMs });
      this.opts.onChange(this.gate.healthy);
    }
    return ok;
  }

  private get(): Promise<string | undefined> {
    return httpCheck(this.opts.url, this.agent, this.opts.timeoutMs);
  }
}

/** One health GET: undefined when the answer is 200, else why not (status, error, timeout). */
export function httpCheck(url: string, agent: http.Agent, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve(e.message));
  });
}
