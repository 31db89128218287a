// A watch the real kube-apiserver drops mid-burst (src/k8s/watch-stall.ts): v1.20 force-closes a
// watcher that cannot keep up ("Forcing watcher close due to unresponsiveness") and leaves the
// HTTP response open and silent. Reproduced here: this process's thread, where the informer
// reads, is blocked while another process creates 1,500 Services with 2 KiB annotations, and 5 s
// longer (ConfigMaps of 32 KiB did not reproduce it: the server absorbed them). Afterwards the
// informer must catch up with every one of them and with one created later; with a6f0bc5's
// informer it sat on the silent watch (seen failing: 30 s without the missing Services).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadKube } from '../../src/k8s/kube';
import { RawInformer, type KubeObject } from '../../src/k8s/raw-informer';
import type { RestClient } from '../../src/k8s/rest';
import { DEFAULT_WATCH_STALL } from '../../src/k8s/watch-stall';
import { createLogger } from '../../src/util/log';
import { createNamespace, eventually, testKubeConfig, uniqueName } from '../harness/kube';

const N = 1500;
const forcedCloses = (): number => {
  const log = path.join(process.env.IRONLB_TEST_CLUSTER_DIR ?? '', 'apiserver.log');
  return existsSync(log) ? (readFileSync(log, 'utf8').match(/Forcing watcher close/g) ?? []).length : -1;
};

/**
 * Blocks this thread (the event loop: no socket is read) until `file` exists, at most `maxMs`, and
 * `afterMs` longer: the API server dispatches the events some time after the creates returned.
 */
function blockUntil(file: string, maxMs: number, afterMs: number): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + maxMs;
  while (!existsSync(file) && Date.now() < end) Atomics.wait(cell, 0, 0, 50);
  Atomics.wait(cell, 0, 0, afterMs);
}

describe('raw informer when the API server drops its watch in a burst', () => {
  let client: RestClient;
  let ns: string;
  const lines: string[] = [];
  beforeAll(async () => {
    client = loadKube(process.env.IRONLB_TEST_KUBECONFIG ?? '', () => {
      throw new Error('client-node fallback not expected');
    });
    ns = await createNamespace(testKubeConfig(), 'stall');
  });
  afterAll(() => client.close());

  test('catches up with every object after the silent drop, and with later ones', async () => {
    const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const informer = new RawInformer<KubeObject>(client, `/api/v1/namespaces/${ns}/services`, { log, watchTimeoutSeconds: 600 });
    await informer.start();
    try {
      await dropAndCatchUp(informer);
    } finally {
      await informer.stop();
    }
  }, 180_000);

  async function dropAndCatchUp(informer: RawInformer<KubeObject>): Promise<void> {
    const closesBefore = forcedCloses();
    const done = path.join(os.tmpdir(), `${uniqueName('ironlb-stall')}.done`);
    // The creates run in another process: this one's thread is blocked meanwhile.
    const creator = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-e', CREATE_SCRIPT, process.env.IRONLB_TEST_KUBECONFIG ?? '', ns, String(N), done],
      { cwd: path.join(__dirname, '..', '..'), stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const exited = new Promise<number | null>((r) => creator.on('exit', r));
    await new Promise((r) => setTimeout(r, 100)); // the child is spawned before the thread blocks
    blockUntil(done, 120_000, 5000);
    expect(await exited).toBe(0);
    // The scenario needs the server to have dropped the watch; if it did not, say so instead of passing.
    expect(forcedCloses()).toBeGreaterThan(closesBefore);
    await client.create(`/api/v1/namespaces/${ns}/services`, { metadata: { name: 'after' }, spec: { ports: [{ port: 80 }] } });
    // Bound: the stall rule's quiet time, a relist of 1,500 Services (410: the window moved on), and
    // the watch after it; 30 s leaves room on a loaded machine, against the 5-10 min hang before.
    await eventually('the informer to hold every Service', async () => (informer.list().length === N + 1 && informer.get('after', ns) ? true : undefined), DEFAULT_WATCH_STALL.quietMs + 25_000, 100);
    expect(lines.some((l) => l.includes('watch silent after a burst'))).toBe(true);
  }
});

// Creates N ClusterIP Services with a 2 KiB annotation, 16 at a time, then writes the `done` file.
const CREATE_SCRIPT = `
const [file, ns, n, done] = process.argv.slice(1);
const { loadKube } = require('./src/k8s/kube');
const c = loadKube(file, () => { throw new Error('no fallback'); });
let next = 0;
const pad = 'x'.repeat(2048);
Promise.all(Array.from({ length: 16 }, async () => {
  while (next < Number(n)) { const i = next++; await c.create('/api/v1/namespaces/' + ns + '/services', { metadata: { name: 's' + i, annotations: { pad } }, spec: { ports: [{ port: 80 }] } }); }
})).then(() => { require('fs').writeFileSync(done, ''); c.close(); }, (e) => { console.error(e); require('fs').writeFileSync(done, ''); process.exit(1); });
`;
