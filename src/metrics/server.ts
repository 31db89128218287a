// Serves /metrics (Prometheus text), /healthz (the process answers and, where the component says
// so, its vital parts work: the speaker's responder worker) and /readyz (caches synced, config
// loaded — whatever the component says readiness is).
import * as http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../util/log';

export interface HealthSource {
  ready(): { ok: boolean; reason?: string };
  /** Liveness beyond "the process answers" (absent: always ok). */
  live?(): { ok: boolean; reason?: string };
}

export interface MetricsServer {
  close(): Promise<void>;
  port: number;
}

/** `addr` is `host:port`, `:port` or a port number; port 0 picks a free one. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(addr.trim());
  if (!m) throw new Error(`invalid listen address "${addr}" (want host:port or :port)`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

export async function startMetricsServer(addr: string, registry: Registry, health: HealthSource, log: Logger): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(addr);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(body);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
      return;
    }
    if (url === '/healthz' || url === '/livez') {
      const r = health.live?.() ?? { ok: true };
      res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(r.ok ? 'ok' : `unhealthy: ${r.reason ?? 'unknown'}`);
      return;
    }
    if (url === '/readyz') {
      const r = health.ready();
      res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(r.ok ? 'ok' : `not ready: ${r.reason ?? 'unknown'}`);
      return;
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? a.port : port;
  log.info('metrics and health endpoints listening', { address: `${host}:${bound}` });
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
