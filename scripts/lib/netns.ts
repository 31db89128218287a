// Test LANs built from network namespaces: one "switch" namespace holding a bridge, and hosts
// (one namespace each) whose eth0 is a veth plugged into that bridge.
//
//   const lab = await Lab.create();
//   const client = await lab.addHost('client', { ipv4: '198.51.100.10/24', ipv6: '2001:db8:100::10/64' });
//   const node = await lab.addHost('n1', { ipv4: '198.51.100.11/24', ipv6: '2001:db8:100::11/64' });
//   await lab.addServiceAddress(node, { ipv4: '198.51.100.90', ipv6: '2001:db8:100::90' });
//   await lab.exec(client, ['ping', '-c', '1', '198.51.100.11']);
//   await lab.destroy();
//
// Every run uses a unique name prefix (il<pid%1000><random>), interface names stay within 15
// characters, only documentation ranges are used (198.51.100.0/24, 2001:db8::/32), and all
// namespaces are removed by destroy(), and also on process exit/SIGINT/SIGTERM if a test forgot.
// IPv6 DAD is off on test links (no 1-2 s tentative delay); the bridge floods multicast (no MLD
// snooping), like a plain switch. Needs root and iproute2.
import { ChildProcess, execFile, execFileSync, spawn, SpawnOptions } from 'child_process';
import { randomBytes } from 'crypto';
import { appendFileSync } from 'fs';
import { stopChild } from './launcher';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Resolve with the non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
  input?: string;
}

export interface HostOptions {
  /** Address with prefix on eth0, e.g. 198.51.100.11/24. */
  ipv4?: string;
  /** Address with prefix on eth0, e.g. 2001:db8:100::11/64. */
  ipv6?: string;
  /** MAC of eth0; random (kernel-chosen) by default. */
  mac?: string;
}

export interface Host {
  name: string;
  /** Namespace name, for `ip netns exec`. */
  ns: string;
  ifname: string;
  ifindex: number;
  mac: string;
  /** Addresses without prefix length. */
  ipv4?: string;
  ipv6?: string;
  ipv6LinkLocal?: string;
}

export class LabCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly result: ExecResult,
  ) {
    super(`command failed (${result.code}): ${argv.join(' ')}\n${result.stderr || result.stdout}`);
  }
}

const live = new Set<Lab>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const handler = () => {
      for (const lab of live) lab.destroySync();
      process.off(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

function run(cmd: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, argv, { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const result = { stdout: String(stdout), stderr: String(stderr), code };
      if (err && !opts.allowFailure) reject(new LabCommandError([cmd, ...argv], result));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespace tests need root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch {
    return 'iproute2 (`ip netns`) is not available';
  }
  return undefined;
}

/** Whether a program is on PATH (inside the current namespace). */
export function haveProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function stripPrefix(cidr: string): string {
  return cidr.split('/')[0];
}

export class Lab {
  readonly switchNs: string;
  private readonly hosts: Host[] = [];
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;
  private portCount = 0;

  private constructor(readonly prefix: string) {
    this.switchNs = `${prefix}-sw`;
  }

  /** A new LAN: the switch namespace with bridge br0. */
  static async create(): Promise<Lab> {
    const reason = labUnavailableReason();
    if (reason) throw new Error(`Lab: ${reason}`);
    const prefix = `il${process.pid % 1000}${randomBytes(3).toString('hex').slice(0, 4)}`;
    const lab = new Lab(prefix);
    live.add(lab);
    installExitHandlers();
    try {
      await lab.addNamespace(lab.switchNs);
      await lab.ip(lab.switchNs, ['link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0', 'stp_state', '0']);
      await lab.sysctl(lab.switchNs, { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' });
      await lab.ip(lab.switchNs, ['link', 'set', 'br0', 'up']);
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  get allHosts(): readonly Host[] {
    return this.hosts;
  }

  /** Every namespace this lab made (hosts, routed hosts, the switch), in creation order. */
  get allNamespaces(): readonly string[] {
    return this.namespaces;
  }

  private async addNamespace(ns: string): Promise<void> {
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    // npm run test:repeat removes, after each run, exactly the namespaces its run registered here.
    const registry = process.env.IRONLB_NETNS_REGISTRY;
    if (registry) appendFileSync(registry, `${ns}\n`);
    await this.ip(ns, ['link', 'set', 'lo', 'up']);
  }

  /** `ip -n <ns> ...` */
  ip(ns: string, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return run('ip', ['-n', ns, ...argv], opts);
  }

  async sysctl(nsOrHost: string | Host, values: Record<string, string>): Promise<void> {
    const ns = typeof nsOrHost === 'string' ? nsOrHost : nsOrHost.ns;
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)]);
  }

  /** A host namespace with eth0 on the lab bridge. */
  async addHost(name: string, opts: HostOptions = {}): Promise<Host> {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`Lab: host name must be 1-8 of [a-z0-9]: ${name}`);
    if (this.hosts.some((h) => h.name === name)) throw new Error(`Lab: duplicate host ${name}`);
    const ns = `${this.prefix}-${name}`;
    await this.addNamespace(ns);
    // Before eth0 exists, so it inherits "no DAD" and "no router solicitations".
    await this.sysctl(ns, {
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv6.conf.default.accept_dad': '0',
      'net.ipv6.conf.default.dad_transmits': '0',
      'net.ipv6.conf.default.router_solicitations': '0',
      'net.ipv6.conf.default.accept_ra': '0',
    });
    const port = `p${++this.portCount}${name}`.slice(0, 15);
    const peer = ['peer', 'name', 'eth0', ...(opts.mac ? ['address', opts.mac] : []), 'netns', ns];
    await this.ip(this.switchNs, ['link', 'add', port, 'type', 'veth', ...peer]);
    await this.ip(this.switchNs, ['link', 'set', port, 'master', 'br0', 'up']);
    await this.ip(ns, ['link', 'set', 'eth0', 'up']);
    if (opts.ipv4) await this.ip(ns, ['addr', 'add', opts.ipv4, 'dev', 'eth0']);
    if (opts.ipv6) await this.ip(ns, ['-6', 'addr', 'add', opts.ipv6, 'dev', 'eth0', 'nodad']);
    const link = JSON.parse((await this.ip(ns, ['-j', 'link', 'show', 'eth0'])).stdout)[0] as { ifindex: number; address: string };
    const host: Host = {
      name,
      ns,
      ifname: 'eth0',
      ifindex: link.ifindex,
      mac: link.address.toLowerCase(),
      ipv4: opts.ipv4 ? stripPrefix(opts.ipv4) : undefined,
      ipv6: opts.ipv6 ? stripPrefix(opts.ipv6) : undefined,
      ipv6LinkLocal: await this.linkLocal(ns),
    };
    this.hosts.push(host);
    return host;
  }

  /**
   * A namespace behind `via` instead of on the bridge, as a pod sits behind its node: its eth0 is
   * a veth whose other end, `veth<name>` in `via`'s namespace, holds `gateway`/32; `via` routes
   * `ipv4`/32 to it and the new namespace routes everything through `gateway`. Forwarding on
   * `via` is the caller's business.
   */
  async addRoutedHost(name: string, via: Host, opts: { ipv4: string; gateway: string }): Promise<Host> {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`Lab: host name must be 1-8 of [a-z0-9]: ${name}`);
    const ns = `${this.prefix}-${name}`;
    if (this.namespaces.includes(ns)) throw new Error(`Lab: duplicate host ${name}`);
    const ip = stripPrefix(opts.ipv4);
    const hostSide = `veth${name}`;
    await this.addNamespace(ns);
    await this.ip(via.ns, ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await this.ip(via.ns, ['addr', 'add', `${opts.gateway}/32`, 'dev', hostSide]);
    await this.ip(via.ns, ['link', 'set', hostSide, 'up']);
    await this.ip(via.ns, ['route', 'add', `${ip}/32`, 'dev', hostSide]);
    await this.ip(ns, ['link', 'set', 'eth0', 'up']);
    await this.ip(ns, ['addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await this.ip(ns, ['route', 'add', opts.gateway, 'dev', 'eth0', 'scope', 'link']);
    await this.ip(ns, ['route', 'add', 'default', 'via', opts.gateway]);
    const link = JSON.parse((await this.ip(ns, ['-j', 'link', 'show', 'eth0'])).stdout)[0] as { ifindex: number; address: string };
    return { name, ns, ifname: 'eth0', ifindex: link.ifindex, mac: link.address.toLowerCase(), ipv4: ip };
  }

  private async linkLocal(ns: string): Promise<string | undefined> {
    for (let i = 0; i < 50; i++) {
      const out = JSON.parse((await this.ip(ns, ['-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'])).stdout) as Array<{
        addr_info: Array<{ local?: string; tentative?: boolean }>;
      }>;
      const a = out[0]?.addr_info.find((x) => x.local && !x.tentative);
      if (a) return a.local;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  /**
   * Puts service addresses on the host's lo (so the host accepts their traffic) and sets
   * arp_ignore=1 / arp_announce=2, so that the kernel never answers ARP for them (it also never
   * answers NS for an address on another interface). Only the responder makes them reachable.
   */
  async addServiceAddress(host: Host, addrs: { ipv4?: string; ipv6?: string }): Promise<void> {
    await this.sysctl(host, {
      'net.ipv4.conf.all.arp_ignore': '1',
      'net.ipv4.conf.all.arp_announce': '2',
      [`net.ipv4.conf.${host.ifname}.arp_ignore`]: '1',
      [`net.ipv4.conf.${host.ifname}.arp_announce`]: '2',
    });
    if (addrs.ipv4) await this.ip(host.ns, ['addr', 'add', `${stripPrefix(addrs.ipv4)}/32`, 'dev', 'lo']);
    if (addrs.ipv6) await this.ip(host.ns, ['-6', 'addr', 'add', `${stripPrefix(addrs.ipv6)}/128`, 'dev', 'lo', 'nodad']);
  }

  /** Runs argv inside the host's namespace; rejects on a non-zero exit unless allowFailure. */
  exec(hostOrNs: Host | string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const ns = typeof hostOrNs === 'string' ? hostOrNs : hostOrNs.ns;
    return run('ip', ['netns', 'exec', ns, ...argv], opts);
  }

  /** Starts a long-running process inside the namespace; it is killed by destroy(). */
  spawn(hostOrNs: Host | string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    const ns = typeof hostOrNs === 'string' ? hostOrNs : hostOrNs.ns;
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Neighbour entries of the host's eth0: `ip -j neigh show`. */
  async neighbours(host: Host, family: 4 | 6): Promise<Array<{ dst: string; lladdr?: string; state: string[] }>> {
    const out = await this.ip(host.ns, [family === 4 ? '-4' : '-6', '-j', 'neigh', 'show', 'dev', host.ifname]);
    return JSON.parse(out.stdout || '[]') as Array<{ dst: string; lladdr?: string; state: string[] }>;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.children].map((c) => stopChild(c, 2000)));
    for (const ns of [...this.namespaces].reverse()) {
      await run('ip', ['netns', 'del', ns], { allowFailure: true });
    }
    live.delete(this);
  }

  /**
   * Hands the namespaces over to someone else (`npm run lab -- --keep`): they are no longer
   * removed on process exit or by destroy(); whoever keeps them must remove them.
   */
  release(): void {
    this.destroyed = true;
    live.delete(this);
  }

  /** Synchronous teardown for exit handlers. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of [...this.namespaces].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
      } catch {
        // already gone
      }
    }
    live.delete(this);
  }
}

/** Arguments that make `node` run a .ts file (ts-node, transpile only). */
export function tsNodeArgs(): string[] {
  return ['-r', require.resolve('ts-node/register/transpile-only')];
}
