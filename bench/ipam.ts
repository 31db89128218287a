// IPAM benchmark (npm run bench:ipam): allocation and restore costs at 100k services, next to a
// naive linear-scan allocator (MetalLB's strategy) measured in the same run on a smaller N.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { pool } from '../test/helpers/pools';
import type { AddressPool } from '../src/config/types';
import { cidrToRange, formatValue, parseCIDR } from '../src/ipam/address';
import { confusesBuggyFirmware } from '../src/ipam/address-numbering';
import { Allocator } from '../src/ipam/allocator';
import type { ServiceRequest } from '../src/ipam/types';

const N = 100_000;
const BASELINE_N = 5_000;
const TARGET_MS = 1000;
/** Each workload runs this many times on fresh state; the best run is reported (the box is shared). */
const RUNS = 3;
/** Live services kept by the churn workloads: fill to this, then release one per allocation. */
const CHURN_LIVE = 50_000;


/** `n` single-stack services of one family, built before timing starts. */
function requests(n: number, family: 4 | 6): ServiceRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `bench/svc-${i}`,
    families: [family],
    familyPolicy: 'SingleStack' as const,
    requestedIPs: [],
    sharingKey: '',
    backendKey: '',
    ports: [{ protocol: 'TCP', port: 80 }],
  }));
}

function allocatorOn(p: AddressPool): Allocator {
  const alloc = new Allocator();
  alloc.setPools([p]);
  return alloc;
}

/** Deterministic xorshift32, so every run measures the same workload. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

// The npm script cannot pass --expose-gc, so it is switched on here: every measurement then
// starts from a collected heap instead of paying for the previous workload's garbage.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Wall time, and CPU time of the whole process (GC threads included) in milliseconds. */
interface Sample {
  readonly wall: number;
  readonly cpu: number;
}

function time(run: () => void): Sample {
  collectGarbage();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  run();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark workload failed: ${what}`);
}

/** `n` allocations; past CHURN_LIVE live services each one follows the release of a random live one. */
function allocateWithChurn(cidr: string, family: 4 | 6, avoidBuggy: boolean, n: number): Sample {
  const alloc = allocatorOn(pool('bench', [cidr], { avoidBuggyIPs: avoidBuggy }));
  const reqs = requests(n, family);
  const random = rng(7);
  const live: string[] = [];
  return time(() => {
    for (const req of reqs) {
      if (live.length >= CHURN_LIVE) {
        const i = Math.floor(random() * live.length);
        alloc.release(live[i]);
        live[i] = live[live.length - 1];
        live.pop();
      }
      must(alloc.allocate(req).ok, `allocate ${req.key}`);
      live.push(req.key);
    }
  });
}

/** `n` restores of distinct pseudo-random addresses, which leaves the free space in `n` fragments. */
function restoreScattered(cidr: string, family: 4 | 6, n: number): Sample {
  const p = pool('bench', [cidr], { avoidBuggyIPs: family === 4 });
  const { start, end } = p.addresses[0].range;
  const random = rng(11);
  const word = (): bigint => BigInt(Math.floor(random() * 2 ** 32));
  const chosen = new Set<string>();
  while (chosen.size < n) {
    const value = start + (((word() << 32n) | word()) % (end - start + 1n));
    if (!confusesBuggyFirmware(family, value)) chosen.add(formatValue(family, value));
  }
  const ips = [...chosen];
  const reqs = requests(n, family);
  const alloc = allocatorOn(p);
  return time(() => {
    reqs.forEach((req, i) => must(alloc.assign(req, [ips[i]]).ok, `restore ${ips[i]}`));
  });
}

/** MetalLB's way: walk the pool from its first address until one is not in use. */
function linearScanFill(cidr: string, n: number): Sample {
  const { start, end } = cidrToRange(parseCIDR(cidr));
  const used = new Set<bigint>();
  return time(() => {
    for (let i = 0; i < n; i++) {
      let ip = start;
      while (ip <= end && used.has(ip)) ip++;
      must(ip <= end, 'linear scan');
      used.add(ip);
    }
  });
}

/** `n` services allocated, then timed: `allocate` again for each, as every controller resync does. */
function resync(cidr: string, family: 4 | 6, n: number): Sample {
  const alloc = allocatorOn(pool('bench', [cidr]));
  const reqs = requests(n, family);
  allocateAll(alloc, reqs);
  return time(() => allocateAll(alloc, reqs));
}

function fill(cidr: string, n: number): Sample {
  const alloc = allocatorOn(pool('bench', [cidr]));
  const reqs = requests(n, 4);
  return time(() => allocateAll(alloc, reqs));
}

function allocateAll(alloc: Allocator, reqs: readonly ServiceRequest[]): void {
  for (const r of reqs) must(alloc.allocate(r).ok, `allocate ${r.key}`);
}

function bestOf(runs: number, measure: () => Sample): Sample {
  const samples = Array.from({ length: runs }, measure);
  return { wall: Math.min(...samples.map((x) => x.wall)), cpu: Math.min(...samples.map((x) => x.cpu)) };
}

function main(): void {
  // Warm-up so that the JIT has compiled the hot paths before anything is timed.
  allocateWithChurn('10.0.0.0/16', 4, true, 20_000);
  restoreScattered('2001:db8::/64', 6, 5_000);

  const rows: [string, number, () => Sample][] = [
    [`allocate, IPv4 /16 avoid-buggy-ips, churn after ${CHURN_LIVE / 1000}k live`, N, () => allocateWithChurn('10.0.0.0/16', 4, true, N)],
    [`allocate, IPv6 /64, churn after ${CHURN_LIVE / 1000}k live`, N, () => allocateWithChurn('2001:db8::/64', 6, false, N)],
    ['restore, scattered addresses in an IPv6 /64', N, () => restoreScattered('2001:db8::/64', 6, N)],
    ['restore, scattered addresses in an IPv4 /14 avoid-buggy-ips', N, () => restoreScattered('10.0.0.0/14', 4, N)],
    ['allocate again (resync), IPv6 /64', N, () => resync('2001:db8::/64', 6, N)],
    ['allocate, IPv4 /16 fill (ironlb)', BASELINE_N, () => fill('10.0.0.0/16', BASELINE_N)],
    ['allocate, IPv4 /16 fill (baseline: linear scan)', BASELINE_N, () => linearScanFill('10.0.0.0/16', BASELINE_N)],
  ];

  const header = ['workload', 'N', 'wall ms', 'cpu ms', 'µs/op (wall)', `< ${TARGET_MS} ms`];
  const verdict = ({ wall, cpu }: Sample): string => (wall < TARGET_MS ? 'yes' : cpu < TARGET_MS ? 'cpu only' : 'NO');
  const lines = rows.map(([name, n, measure]) => {
    const best = bestOf(RUNS, measure);
    return [name, n.toLocaleString('en-US'), best.wall.toFixed(1), best.cpu.toFixed(1), ((best.wall * 1000) / n).toFixed(2), verdict(best)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`ironlb IPAM benchmark, node ${process.version}, best of ${RUNS} runs each`);
  console.log('(cpu = CPU time of the process, GC included; on a shared machine wall time also counts waiting for a CPU)');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  console.log(
    `The baseline is only the scan (no bookkeeping); it costs O(N) per allocation, so its total grows with N², and it is measured at N = ${BASELINE_N.toLocaleString('en-US')} only.`,
  );
}

main();
