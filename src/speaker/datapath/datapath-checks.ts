// The speaker's data-path checks (issue 16.3), started and stopped with the configuration:
// - node-wide: kube-proxy's /healthz (health-probe.ts). Under --datapath-check=kube-proxy a failing
//   node withdraws from every layer-2 election (as NO_LAYER2); otherwise, while any pool has
//   `datapath-check`, it says DATAPATH_DOWN and those pools' elections pass it over.
// - per Local Service of a gated pool: the healthCheckNodePort of this node and of the nodes
//   ranked before it (service-health.ts); a failing node is passed over for that Service only.
import type { Config } from '../../config/types';
import type { SpeakerMetrics } from '../../metrics/speaker-metrics';
import type { Logger } from '../../util/log';
import { hashOrder } from '../election/election';
import { HealthProbe } from './health-probe';
import { planServiceChecks, type ServiceCheckCandidate } from './service-health';
import { ServiceHealthProber } from './service-probe';

export interface DataPathChecksOptions {
  readonly url: string;
  readonly intervalMs: number;
  /** --datapath-check=kube-proxy: every layer-2 pool is gated. */
  readonly nodeWide: boolean;
  readonly nodeName: string;
  readonly log: Logger;
  readonly metrics: SpeakerMetrics;
  /** This node's data path changed standing (publish DATAPATH_DOWN, or re-check NO_LAYER2). */
  readonly onNodeHealth: (healthy: boolean) => void;
  /** The current layer-2 elections, and what the plan needs about Services and Nodes. */
  readonly elections: () => Iterable<ServiceCheckCandidate>;
  readonly endpointNodes: (service: string) => ReadonlySet<string>;
  readonly nodeAddress: (node: string) => string | undefined;
  /** A Service's failing nodes changed: re-elect it. */
  readonly onServiceHealth: (service: string) => void;
}

export class DataPathChecks {
  private readonly node: HealthProbe;
  private readonly services: ServiceHealthProber;

  constructor(private readonly opts: DataPathChecksOptions) {
    const m = opts.metrics;
    // Most of the interval: a check never overlaps the next one.
    const timeoutMs = Math.max(1, Math.floor(opts.intervalMs * 0.8));
    this.node = new HealthProbe({
      url: opts.url,
      intervalMs: opts.intervalMs,
      timeoutMs,
      log: opts.log,
      onCheck: (ok) => m.dataPathChecks.inc({ result: ok ? 'ok' : 'failed' }),
      onChange: (healthy) => {
        m.dataPathHealthy.set(healthy ? 1 : 0);
        opts.onNodeHealth(healthy);
      },
    });
    this.services = new ServiceHealthProber({
      intervalMs: opts.intervalMs,
      timeoutMs,
      log: opts.log,
      plan: () =>
        planServiceChecks({
          self: opts.nodeName,
          elections: opts.elections(),
          endpointNodes: opts.endpointNodes,
          nodeAddress: opts.nodeAddress,
          order: hashOrder,
          allPools: opts.nodeWide,
        }),
      onCheck: (ok) => m.serviceHealthChecks.inc({ result: ok ? 'ok' : 'failed' }),
      onChange: (services) => {
        m.serviceHealthFailing.set([...this.services.table.allFailing().values()].reduce((n, s) => n + s.size, 0));
        for (const s of services) opts.onServiceHealth(s);
      },
    });
    m.dataPathHealthy.set(1);
    m.serviceHealthFailing.set(0);
  }

  /** The node-wide check's standing (healthy until checks say otherwise). */
  get nodeHealthy(): boolean {
    return this.node.healthy;
  }

  /** Nodes whose check of this Local Service fails, as this node sees them. */
  failing(service: string): ReadonlySet<string> {
    return this.services.table.failing(service);
  }

  /** Every Service with a failing node, and those nodes (published in the speaker's view). */
  failingByService(): Record<string, string[]> {
    return Object.fromEntries([...this.services.table.allFailing()].map(([service, nodes]) => [service, [...nodes]]));
  }

  /** Start-up: --datapath-check=kube-proxy checks from the first moment, whatever the config. */
  start(): void {
    if (this.opts.nodeWide) {
      this.node.start();
      this.services.start();
    }
  }

  /** Runs the checks while --datapath-check or any pool's `datapath-check` asks for them. */
  configChanged(config: Config): void {
    if (this.opts.nodeWide) return;
    if (config.pools.some((p) => p.dataPathCheck !== undefined)) {
      if (!this.node.running) this.opts.log.info("a pool has datapath-check: checking this node's data path", { url: this.opts.url });
      this.node.start();
      this.services.start();
    } else if (this.node.running) {
      this.opts.log.info('no pool has datapath-check any more: data-path check stopped');
      this.stop();
      this.opts.metrics.dataPathHealthy.set(1);
      this.opts.onNodeHealth(true);
    }
  }

  stop(): void {
    this.node.stop();
    this.services.stop();
  }
}
