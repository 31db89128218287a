// The per-Service checks of service-health.ts, run: every `intervalMs` this node GETs the
// healthCheckNodePort of each (Service, node) its plan names, all at once, feeds the answers to
// the ServiceHealthTable and reports the Services whose failing nodes changed. A round still
// waiting for answers when the next is due is not overlapped: the timeout is below the interval.
import * as http from 'node:http';
import type { Logger } from '../../util/log';
import type { HealthGateOptions } from './health-gate';
import { httpCheck } from './health-probe';
import { ServiceHealthTable, type ServiceHealthTarget } from './service-health';

export interface ServiceProbeOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly gate?: HealthGateOptions;
  /** What to check this round (planServiceChecks over the current elections). */
  readonly plan: () => ServiceHealthTarget[];
  /** Services whose failing nodes changed: their elections must be run again. */
  readonly onChange: (services: readonly string[]) => void;
  readonly onCheck?: (ok: boolean) => void;
  readonly log: Logger;
  /** One check: undefined when healthy, else why not. Default: an HTTP GET expecting 200. */
  readonly check?: (url: string) => Promise<string | undefined>;
  readonly now?: () => number;
}

export class ServiceHealthProber {
  readonly table: ServiceHealthTable;
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** Bumped by stop(): answers of a round begun before it are dropped. */
  private generation = 0;
  // Keep-alive: kube-proxy's health server keeps the connection, so a round costs no handshakes.
  private agent = new http.Agent({ keepAlive: true });
  private readonly check: (url: string) => Promise<string | undefined>;
  private readonly now: () => number;

  constructor(private readonly opts: ServiceProbeOptions) {
    if (opts.timeoutMs >= opts.intervalMs) throw new Error('the data-path check timeout must be shorter than its interval');
    this.table = new ServiceHealthTable(opts.gate);
    this.check = opts.check ?? ((url) => httpCheck(url, this.agent, opts.timeoutMs));
    this.now = opts.now ?? (() => performance.now());
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.round(), this.opts.intervalMs);
  }

  /** Stops checking; every node counts as passing again (nothing is gated by stale answers). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.generation++;
    this.agent.destroy();
    this.agent = new http.Agent({ keepAlive: true });
    const changed = this.table.retain([]);
    if (changed.length > 0) this.opts.onChange(changed);
  }

  /** One round of checks; resolves when its answers are applied. */
  async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const generation = this.generation;
    try {
      const targets = this.opts.plan();
      const changed = new Set(this.table.retain(targets));
      const answers = await Promise.all(targets.map(async (t) => ({ t, why: await this.check(t.url) })));
      if (generation !== this.generation) return;
      const now = this.now();
      for (const { t, why } of answers) {
        this.opts.onCheck?.(why === undefined);
        if (!this.table.observe(t.service, t.node, why === undefined, now)) continue;
        changed.add(t.service);
        if (why === undefined) this.opts.log.info("a node's health check of a Local Service passes again: electable for it", { service: t.service, node: t.node });
        else this.opts.log.warn("a node's health check of a Local Service fails: passed over for it", { service: t.service, node: t.node, url: t.url, error: why });
      }
      if (changed.size > 0) this.opts.onChange([...changed]);
    } finally {
      this.busy = false;
    }
  }
}
