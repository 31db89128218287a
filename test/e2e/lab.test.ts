// `npm run lab` end to end, as a user runs it: the seed flow printed, with curl answered by a pod
// through kube-proxy, then nothing left behind; and `--keep` leaves a working lab (processes
// outlive the script) that `--down` removes entirely, kube-proxy and pods included.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../harness/processes';
import { pidAlive } from '../harness/kube-cluster';
import { eventually } from '../harness/kube';
import { lockRootLan, ROOT_LAN_WAIT_MS } from '../../scripts/lib/root-lan-lock';

// A lab runs in ~1-2 min here, but waits first for a lab that holds the host-wide lock (another
// run's e2e file on the same machine), at most lockRootLan's wait: each lab call gets both.
const LAB_RUN_MS = 240_000;
const LOCK_WAIT_MS = ROOT_LAN_WAIT_MS;
jest.setTimeout(LOCK_WAIT_MS + 2 * LAB_RUN_MS);

const run = promisify(execFile);
const STATE = path.join(REPO, '.lab', 'state.json');

async function npmLab(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('npm', ['run', '--silent', 'lab', '--', ...args], { cwd: REPO, timeout: LOCK_WAIT_MS + LAB_RUN_MS, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n !== '');
}

describe('npm run lab', () => {
  beforeAll(async () => {
    if (existsSync(STATE)) throw new Error(`${STATE} exists: a lab is up; run npm run lab -- --down first`);
    // Another lab running meanwhile (an e2e file of a concurrent run) is waited for by the lab
    // itself: see the last test.
  });

  afterAll(async () => {
    if (existsSync(STATE)) await npmLab(['--down']);
  });

  it("runs the seed's flow: EXTERNAL-IP, one node answering ARP, curl answered by a pod through kube-proxy; then tears everything down", async () => {
    const r = await npmLab([]);
    if (r.code !== 0) throw new Error(`npm run lab failed:\n${r.out}`);
    expect(r.out).toMatch(/nginx-metallb\s+LoadBalancer\s+\S+\s+198\.51\.100\.(9\d|100)\s+8090:\d+\/TCP/);
    expect(r.out).toMatch(/arping 198\.51\.100\.\d+: answered by [0-9a-f:]{17} = node[123] /);
    // MetalLB's documented behaviour on iptables-mode kube-proxy: no ICMP answer for the address.
    expect(r.out).toMatch(/ping -c 1 198\.51\.100\.\d+: 1 packets transmitted, 0 received/);
    // The pod's own answer, the node it runs on and the node whose kube-proxy sent it there.
    expect(r.out).toMatch(/\$ curl http:\/\/198\.51\.100\.\d+:8090\n\s+nginx-[012]\s+<- pod nginx-[012] \(198\.18\.[123]\.10 on node[123]\), reached through kube-proxy on node[123]\n/);
    expect(r.out).toMatch(/KUBE-SERVICES -d 198\.51\.100\.\d+\/32 .*--dport 8090/);
    expect(r.out).toContain('DNAT targets on every node: 198.18.1.10:80 198.18.2.10:80 198.18.3.10:80');
    expect(r.out).toMatch(/nginx-0\s+1\/1\s+Running\s+0\s+\S+\s+198\.18\.1\.10\s+node1/);
    expect(r.out).toContain('mapped into 198.51.100.90-198.51.100.100 inside the lab');
    expect(r.out).toMatch(/nodeAssigned Event: announcing from node "node[123]"/);
    expect(r.out).toMatch(/default\s+layer2\s+11\/1\/10/);
    for (let i = 1; i <= 10; i++) expect(r.out).toMatch(new RegExp(`\\[${i}/10\\] .*\\.\\.\\. ok \\(\\d+\\.\\d s\\)`));
    const ours = [...new Set([...r.out.matchAll(/netns (il[0-9a-f]+-\w+)/g)].map((m) => m[1]))];
    expect(ours.length).toBe(7); // node1-3, the client and the 3 pods are printed; the switch shares their prefix
    const prefix = ours[0].split('-')[0];
    expect(namespaces().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect(existsSync(path.join(REPO, '.lab'))).toBe(false);
  });

  it('--crds: the same flow from an IPAddressPool and an L2Advertisement; ServiceL2Status names the node arping sees, the pool status counts the address', async () => {
    const r = await npmLab(['--crds']);
    if (r.code !== 0) throw new Error(`npm run lab -- --crds failed:\n${r.out}`);
    const ip = /arping (198\.51\.100\.\d+): answered by [0-9a-f:]{17} = (node[123]) /.exec(r.out);
    expect(ip).not.toBeNull();
    const [, address, node] = ip ?? [];
    expect(address).toBe('198.51.100.90');
    expect(r.out).toMatch(/ipaddresspool\.metallb\.io\/default\s+true\s+false\s+\["198\.51\.100\.90-198\.51\.100\.100"\]/);
    expect(r.out).toContain('configuration: metallb.io objects in ironlb-system, 1 pool(s)');
    expect(r.out).toMatch(new RegExp(`ironlb-system\\s+l2-\\w+\\s+${node}\\s+nginx-metallb\\s+default\\n`));
    expect(r.out).toMatch(/status:\n\s+assignedIPv4: 1\n\s+assignedIPv6: 0\n\s+availableIPv4: 10\n/);
    expect(r.out).toMatch(/<- pod nginx-[012] \(198\.18\.[123]\.10 on node[123]\), reached through kube-proxy on node[123]\n/);
    expect(existsSync(path.join(REPO, '.lab'))).toBe(false);
  });

  it('--keep leaves a working lab whose processes outlive the script; --down removes every namespace and process', async () => {
    const kept = await npmLab(['--keep']);
    if (kept.code !== 0) throw new Error(`npm run lab -- --keep failed:\n${kept.out}`);
    const state = JSON.parse(readFileSync(STATE, 'utf8')) as {
      namespaces: string[];
      clientNamespace: string;
      kubeconfig: string;
      clusterDir: string;
      externalIP: string;
      processes: Array<{ name: string; pid: number }>;
    };
    expect(kept.out).toContain(`ip netns exec ${state.clientNamespace} bash`);
    expect(kept.out).toMatch(new RegExp(`kubectl --kubeconfig ${state.kubeconfig.replace(/[.]/g, '\\.')} get svc`));
    const cluster = JSON.parse(readFileSync(path.join(state.clusterDir, 'state.json'), 'utf8')) as { pids: { etcd: number; apiserver: number } };
    const pids = [...state.processes.map((p) => p.pid), cluster.pids.etcd, cluster.pids.apiserver];
    expect(state.processes.map((p) => p.name).sort()).toEqual([
      'controller',
      'kube-proxy-node1',
      'kube-proxy-node2',
      'kube-proxy-node3',
      'pod-default-nginx-0',
      'pod-default-nginx-1',
      'pod-default-nginx-2',
      'speaker-node1',
      'speaker-node2',
      'speaker-node3',
    ]);
    // The script has exited: everything still runs and the Service still answers.
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    for (const ns of state.namespaces) expect(namespaces()).toContain(ns);
    const curl = await run('ip', ['netns', 'exec', state.clientNamespace, 'curl', '-s', '--max-time', '5', `http://${state.externalIP}:8090/`]);
    expect(curl.stdout.trim()).toMatch(/^nginx-[012]$/);

    const down = await npmLab(['--down']);
    expect(down.code).toBe(0);
    expect(down.out).toContain('removed 8 network namespaces'); // client, node1-3, 3 pods, the switch
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    expect(namespaces().filter((n) => state.namespaces.includes(n))).toEqual([]);
    expect(existsSync(path.join(REPO, '.lab'))).toBe(false);
    const again = await npmLab(['--down']);
    expect(again.out).toContain('nothing to remove');
  });

  it('waits its turn behind a lab that is running (the lock held, 198.51.100.1 up) instead of failing', async () => {
    // What an e2e file's L2Lab holds while it runs: the host-wide lock and ROOT_V4 on a veth here.
    // (Seen failing on main: "198.51.100.1 is already on an interface here", every lab test of a
    // CI run next to another run's e2e files.)
    const held = await lockRootLan();
    const veth = `ilw${process.pid % 100000}`;
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      await run('ip', ['link', 'del', veth]).catch(() => undefined);
      await held.release();
    };
    try {
      await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]);
      await run('ip', ['addr', 'add', '198.51.100.1/32', 'dev', veth]);
      const child = spawn('npm', ['run', '--silent', 'lab'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
      const says = eventually('the lab to say it waits', async () => (/another lab is running \(pid \d+: .*\): the next step waits/.test(out) ? 'waiting' : undefined), 60_000, 100);
      const first = await Promise.race([says, exited.then((code) => `exited with ${code}`)]);
      if (first !== 'waiting') throw new Error(`npm run lab did not wait (${first}):\n${out}`);
      // Waiting, not failing, and not building: 3 s later it is still at step 2.
      await new Promise((r) => setTimeout(r, 3000));
      expect(child.exitCode).toBeNull();
      expect(out).not.toMatch(/\[2\/\d+\] building the LAN.*ok/);
      await release();
      const code = await exited;
      if (code !== 0) throw new Error(`npm run lab failed after waiting:\n${out}`);
      expect(out).toMatch(/nginx-metallb\s+LoadBalancer\s+\S+\s+198\.51\.100\.(9\d|100)\s+8090:\d+\/TCP/);
    } finally {
      await release();
    }
  });
});
