// Real BGP routers (BIRD 2, FRR bgpd+zebra, GoBGP) run by the test itself inside a lab namespace,
// each with its own config, control socket and pid file in a temporary directory; never as
// system services. Every router reports its table in one normalised shape.
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Lab, Host } from '../helpers/netns';
import { parseBird, parseGobgp } from './router-ribs';
import { stopChild as stopWithGrace } from '../../scripts/lib/launcher';

export { parseBird, parseGobgp } from './router-ribs';

/** Routers keep the 3 s grace to stop that they always had. */
const stopChild = (c: ChildProcess): Promise<void> => stopWithGrace(c, 3000);

export interface RouterNeighbor {
  address: string;
  asn: number;
  password?: string;
}

export interface RouterSpec {
  asn: number;
  routerId: string;
  localAddress: string;
  holdTime: number;
  neighbors: RouterNeighbor[];
  /** BIRD only: more configuration (e.g. an `include` of a static protocol with many routes). */
  birdExtraConfig?: string;
  /** BIRD only: the IPv4 export clause towards the neighbors (default `none`). */
  birdExportV4?: string;
  /** How long the router may take to start (a large config takes BIRD seconds to parse). */
  startTimeoutMs?: number;
}

export interface RibPath {
  nextHop: string;
  communities: string[];
  largeCommunities: string[];
  localPref?: number;
  asPath: number[];
}

export type Rib = Map<string, RibPath[]>;

export interface Router {
  readonly kind: 'bird' | 'frr' | 'gobgp';
  /** Prefix → paths, for one family. */
  rib(family: 4 | 6): Promise<Rib>;
  /** Neighbor addresses whose session is Established. */
  established(): Promise<string[]>;
  /** Installs routes into the namespace's kernel (so traffic can be forwarded). */
  readonly forwards: boolean;
  /** The router's own CLI (birdc / vtysh -c / gobgp), for anything else. */
  cli(cmd: string): Promise<string>;
  stop(): Promise<void>;
}

async function tmp(kind: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ironlb-${kind}-`));
  await fs.chmod(dir, 0o777);
  return dir;
}


/** Kills a daemonless process by its pid file (daemons that fork). */
async function killPidFile(file: string): Promise<void> {
  const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 30; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

// ------------------------------------------------------------------------------------------------
// BIRD 2

export async function startBird(lab: Lab, host: Host, spec: RouterSpec): Promise<Router> {
  const dir = await tmp('bird');
  const sock = path.join(dir, 'bird.ctl');
  const conf = path.join(dir, 'bird.conf');
  const neighbors = spec.neighbors
    .map(
      (n, i) => `protocol bgp n${i + 1} {
  local ${spec.localAddress} as ${spec.asn};
  neighbor ${n.address} as ${n.asn};
  ${n.password ? `password "${n.password}";` : ''}
  hold time ${spec.holdTime};
  keepalive time 1;
  passive on;
  ipv4 { import all; export ${spec.birdExportV4 ?? 'none'}; gateway direct; };
  ipv6 { import all; export none; gateway direct; };
}`,
    )
    .join('\n');
  await fs.writeFile(
    conf,
    `router id ${spec.routerId};
log stderr all;
protocol device { scan time 1; }
protocol direct { ipv4; ipv6; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; merge paths on; }
protocol kernel { ipv6 { export where source = RTS_BGP; }; merge paths on; }
${neighbors}
${spec.birdExtraConfig ?? ''}
`,
  );
  const child = lab.spawn(host, ['bird', '-f', '-c', conf, '-s', sock, '-P', path.join(dir, 'bird.pid')]);
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const birdc = async (cmd: string): Promise<string> => (await lab.exec(host, ['birdc', '-s', sock, ...cmd.split(' ')], { timeoutMs: 10_000 })).stdout;
  for (let i = 0; ; i++) {
    const r = await lab.exec(host, ['birdc', '-s', sock, 'show', 'status'], { allowFailure: true });
    if (r.code === 0 && r.stdout.includes('Daemon is up')) break;
    if (i > (spec.startTimeoutMs ?? 5000) / 100 || child.exitCode !== null) throw new Error(`bird did not start:\n${out}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    kind: 'bird',
    forwards: true,
    cli: birdc,
    rib: async (family) => parseBird(await birdc(`show route all table master${family}`)),
    established: async () => {
      const text = await birdc('show protocols');
      const up = new Set(text.split('\n').filter((l) => /^n\d+\s+BGP.*\bEstablished/.test(l)).map((l) => Number(/^n(\d+)/.exec(l)?.[1])));
      return spec.neighbors.filter((_, i) => up.has(i + 1)).map((n) => n.address);
    },
    stop: async () => {
      await stopChild(child);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------------
// FRR: zebra (so routes reach the kernel) + bgpd, private sockets

export async function startFrr(lab: Lab, host: Host, spec: RouterSpec): Promise<Router> {
  const dir = await tmp('frr');
  const zsock = path.join(dir, 'zserv.api');
  const ibgp = spec.neighbors.every((n) => n.asn === spec.asn);
  const nb = spec.neighbors;
  const conf = `frr defaults traditional
hostname rtr
router bgp ${spec.asn}
 bgp router-id ${spec.routerId}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp bestpath as-path multipath-relax
${nb.map((n) => ` neighbor ${n.address} remote-as ${n.asn}\n neighbor ${n.address} timers 1 ${spec.holdTime}\n neighbor ${n.address} passive\n${n.password ? ` neighbor ${n.address} password ${n.password}\n` : ''}`).join('')} address-family ipv4 unicast
  maximum-paths ${ibgp ? 'ibgp ' : ''}8
${nb.map((n) => `  neighbor ${n.address} activate\n`).join('')} exit-address-family
 address-family ipv6 unicast
  maximum-paths ${ibgp ? 'ibgp ' : ''}8
${nb.map((n) => `  neighbor ${n.address} activate\n`).join('')} exit-address-family
`;
  await fs.writeFile(path.join(dir, 'bgpd.conf'), conf);
  await fs.writeFile(path.join(dir, 'zebra.conf'), 'hostname rtr\n');
  await fs.writeFile(path.join(dir, 'vtysh.conf'), '');
  const common = ['--vty_socket', dir, '-u', 'frr', '-g', 'frr', '-z', zsock];
  const zebra = lab.spawn(host, ['/usr/lib/frr/zebra', '-f', path.join(dir, 'zebra.conf'), '-i', path.join(dir, 'zebra.pid'), ...common]);
  let out = '';
  zebra.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 50; i++) {
    if (await fs.stat(zsock).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const bgpd = lab.spawn(host, ['/usr/lib/frr/bgpd', '-f', path.join(dir, 'bgpd.conf'), '-i', path.join(dir, 'bgpd.pid'), '-p', '179', ...common]);
  bgpd.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const vtysh = async (cmd: string): Promise<string> => (await lab.exec(host, ['vtysh', '--vty_socket', dir, '-c', cmd], { timeoutMs: 10_000 })).stdout;
  for (let i = 0; ; i++) {
    const r = await lab.exec(host, ['vtysh', '--vty_socket', dir, '-c', 'show bgp summary json'], { allowFailure: true });
    if (r.code === 0 && r.stdout.trim().startsWith('{')) break;
    if (i > 80 || bgpd.exitCode !== null) throw new Error(`frr did not start:\n${out}\n${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    kind: 'frr',
    forwards: true,
    cli: vtysh,
    rib: async (family) => {
      const afi = family === 4 ? 'ipv4' : 'ipv6';
      const summary = JSON.parse((await vtysh(`show bgp ${afi} unicast json`)) || '{}') as { routes?: Record<string, unknown> };
      const rib: Rib = new Map();
      for (const prefix of Object.keys(summary.routes ?? {})) {
        const detail = JSON.parse(await vtysh(`show bgp ${afi} unicast ${prefix} json`)) as {
          paths?: Array<{
            nexthops?: Array<{ ip: string; scope?: string }>;
            community?: { string: string };
            largeCommunity?: { string: string };
            locPrf?: number;
            aspath?: { string: string };
          }>;
        };
        rib.set(
          prefix,
          (detail.paths ?? []).map((p) => ({
            nextHop: (p.nexthops ?? []).find((n) => n.scope !== 'link-local')?.ip ?? '',
            communities: p.community?.string.split(' ').filter(Boolean) ?? [],
            largeCommunities: p.largeCommunity?.string.split(' ').filter(Boolean) ?? [],
            localPref: p.locPrf,
            asPath: (p.aspath?.string ?? '').split(' ').filter((s) => /^\d+$/.test(s)).map(Number),
          })),
        );
      }
      return rib;
    },
    established: async () => {
      const s = JSON.parse(await vtysh('show bgp neighbors json')) as Record<string, { bgpState?: string }>;
      return Object.entries(s).filter(([, v]) => v.bgpState === 'Established').map(([k]) => k);
    },
    stop: async () => {
      await stopChild(bgpd);
      await stopChild(zebra);
      await killPidFile(path.join(dir, 'bgpd.pid'));
      await killPidFile(path.join(dir, 'zebra.pid'));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------------
// GoBGP

export async function startGobgp(lab: Lab, host: Host, spec: RouterSpec, apiPort = 50151): Promise<Router> {
  const dir = await tmp('gobgp');
  const conf = path.join(dir, 'gobgpd.toml');
  const toml = `[global.config]
  as = ${spec.asn}
  router-id = "${spec.routerId}"
  port = 179
  local-address-list = ["${spec.localAddress}"]
${spec.neighbors
  .map(
    (n) => `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.asn}
${n.password ? `    auth-password = "${n.password}"\n` : ''}  [neighbors.timers.config]
    hold-time = ${spec.holdTime}
    keepalive-interval = 1
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
  )
  .join('')}`;
  await fs.writeFile(conf, toml);
  const child = lab.spawn(host, ['gobgpd', '-f', conf, '--api-hosts', `127.0.0.1:${apiPort}`, '-l', 'info']);
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const gobgp = async (args: string[]): Promise<string> => (await lab.exec(host, ['gobgp', '-p', String(apiPort), ...args], { timeoutMs: 10_000 })).stdout;
  for (let i = 0; ; i++) {
    const r = await lab.exec(host, ['gobgp', '-p', String(apiPort), 'global'], { allowFailure: true });
    if (r.code === 0) break;
    if (i > 80 || child.exitCode !== null) throw new Error(`gobgpd did not start:\n${out}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return {
    kind: 'gobgp',
    forwards: false,
    cli: (cmd) => gobgp(cmd.split(' ')),
    rib: async (family) => parseGobgp(await gobgp(['global', 'rib', '-a', family === 4 ? 'ipv4' : 'ipv6', '-j'])),
    established: async () => {
      const list = JSON.parse(await gobgp(['neighbor', '-j'])) as Array<{ conf?: { neighbor_address?: string }; state?: { session_state?: number | string; neighbor_address?: string } }>;
      return list
        .filter((n) => n.state?.session_state === 6 || n.state?.session_state === 'established' || n.state?.session_state === 'ESTABLISHED')
        .map((n) => n.conf?.neighbor_address ?? n.state?.neighbor_address ?? '');
    },
    stop: async () => {
      await stopChild(child);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
