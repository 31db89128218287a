// The API server harness's own promises: it can run inside a network namespace, `up` while up is
// harmless, and teardown leaves no process and no data behind.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { destroyCluster, isClusterUp, kubeBinDir, pidAlive, startCluster } from '../harness/kube-cluster';

jest.setTimeout(120_000);

describe('cluster harness', () => {
  const ns = `ilh${process.pid % 1000}${Math.random().toString(16).slice(2, 6)}-cp`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ironlb-harness-'));

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });

  afterAll(async () => {
    await destroyCluster(dir);
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it('runs etcd and kube-apiserver inside a network namespace and tears them down completely', async () => {
    const info = await startCluster({ dir, netns: ns });
    expect(await isClusterUp(dir)).toBeDefined();
    const out = execFileSync('ip', ['netns', 'exec', ns, path.join(kubeBinDir(), 'kubectl'), '--kubeconfig', info.kubeconfig, 'get', 'ns', '-o', 'name'], {
      encoding: 'utf8',
    });
    expect(out).toContain('namespace/default');
    // Outside the namespace nothing listens on its loopback.
    expect(() => execFileSync('curl', ['-s', '--max-time', '1', '-k', info.server + '/readyz'])).toThrow();
    await destroyCluster(dir);
    expect(pidAlive(info.pids.apiserver)).toBe(false);
    expect(pidAlive(info.pids.etcd)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
