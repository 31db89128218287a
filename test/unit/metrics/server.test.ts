// /healthz reflects the component's liveness (the speaker: its responder worker runs), /readyz
// its readiness. Served on a free port of 127.0.0.1.
import { Registry } from 'prom-client';
import { startMetricsServer, type HealthSource, type MetricsServer } from '../../../src/metrics/server';
import type { Logger } from '../../../src/util/log';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
}

describe('metrics server health endpoints', () => {
  let server: MetricsServer;
  let live: { ok: boolean; reason?: string } = { ok: true };
  const source: HealthSource = { ready: () => ({ ok: true }), live: () => live };

  beforeAll(async () => {
    server = await startMetricsServer('127.0.0.1:0', new Registry(), source, quiet);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('says ok while the component is live', async () => {
    expect(await get(server.port, '/healthz')).toEqual({ status: 200, body: 'ok' });
  });

  it('fails /healthz (and /livez) with the reason while it is not', async () => {
    live = { ok: false, reason: 'responder worker made no progress for 512 ms' };
    expect(await get(server.port, '/healthz')).toEqual({ status: 503, body: 'unhealthy: responder worker made no progress for 512 ms' });
    expect((await get(server.port, '/livez')).status).toBe(503);
    expect((await get(server.port, '/readyz')).status).toBe(200);
    live = { ok: true };
    expect((await get(server.port, '/healthz')).status).toBe(200);
  });

  it('treats a component without a liveness check as live', async () => {
    const s = await startMetricsServer('127.0.0.1:0', new Registry(), { ready: () => ({ ok: false, reason: 'starting' }) }, quiet);
    try {
      expect((await get(s.port, '/healthz')).status).toBe(200);
      expect(await get(s.port, '/readyz')).toEqual({ status: 503, body: 'not ready: starting' });
    } finally {
      await s.close();
    }
  });
});
