// What `npm run bench:controller` prints: each round, and the medians the issues quote.
import type { PhaseCpu } from './api-bench';

/** One controller's run: time to serve all, CPU in that window, Events written, RSS, CPU in all. */
export interface ControllerRun {
  ms: number;
  window: PhaseCpu & { controller: number };
  events: number;
  rss: number;
  cpu: number;
  /** The completion watch missed the end and a list settled it: the time is late. */
  late: boolean;
}

/** One round: the like-for-like loop and the controller (and another build's) in the same minutes. */
export interface Round {
  bare: { ms: number; cpu: PhaseCpu; late: boolean };
  after: ControllerRun;
  before?: ControllerRun;
  /** The like-for-like loop while a process only watches Services (bench/watch-only.ts); its CPU in the window. */
  floor?: { ms: number; cpu: PhaseCpu; watcher: number; late: boolean };
}

export interface Report {
  N: number;
  server: string;
  conditions: boolean;
  /** The minimal merge patch on the raw client, and on client-node: once, before the rounds. */
  bareMs: number;
  bareCpu: PhaseCpu;
  cnBareMs: number;
  /** The rounds the medians are taken over. */
  results: Round[];
  /** Rounds left out: a completion watch missed the end, so a time is late. */
  late: Round[];
  beforeMain?: string;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const sec = (ms: number): string => (ms / 1000).toFixed(2);
const cpus = (c: PhaseCpu): string => `kube-apiserver ${c.servers[0].toFixed(2)} s, etcd ${c.servers[1].toFixed(2)} s`;

export function report(r: Report): string {
  const rate = (ms: number): string => ((r.N / ms) * 1000).toFixed(0);
  const ratios = r.results.map((x) => x.bare.ms / x.after.ms);
  const ctlMs = median(r.results.map((x) => x.after.ms));
  const rows = [...r.results.map((x) => ({ x, late: false })), ...r.late.map((x) => ({ x, late: true }))].map(({ x, late }, i) =>
    [
      `  round ${i + 1}${late ? ' (late, left out)' : ''}: like-for-like ${sec(x.bare.ms)} s, controller ${sec(x.after.ms)} s, ratio ${(x.bare.ms / x.after.ms).toFixed(2)}x; controller CPU in its window ${x.after.window.controller.toFixed(2)} s, peak RSS ${x.after.rss.toFixed(1)} MiB, ${x.after.events} Events meanwhile`,
      `    CPU in the like-for-like window ${cpus(x.bare.cpu)}, bench (writer + watch) ${x.bare.cpu.bench.toFixed(2)} s`,
      `    CPU in the controller window ${cpus(x.after.window)}, bench (watch) ${x.after.window.bench.toFixed(2)} s, controller ${x.after.window.controller.toFixed(2)} s`,
      ...(x.floor
        ? [
            `    floor: like-for-like with a watch-only process ${sec(x.floor.ms)} s, ratio ${(x.bare.ms / x.floor.ms).toFixed(2)}x; CPU in its window ${cpus(x.floor.cpu)}, bench (writer + watch) ${x.floor.cpu.bench.toFixed(2)} s, watch-only process ${x.floor.watcher.toFixed(2)} s`,
          ]
        : []),
      ...(x.before
        ? [
            `    before (${r.beforeMain}): ${sec(x.before.ms)} s, ratio ${(x.bare.ms / x.before.ms).toFixed(2)}x, after / before rate ${(x.before.ms / x.after.ms).toFixed(2)}x, CPU in its window ${x.before.window.controller.toFixed(2)} s, peak RSS ${x.before.rss.toFixed(1)} MiB`,
          ]
        : []),
    ].join('\n'),
  );
  const floors = r.results.filter((x) => x.floor);
  const floorRatios = floors.map((x) => x.bare.ms / (x.floor as NonNullable<Round['floor']>).ms);
  const toFloor = floors.map((x) => (x.floor as NonNullable<Round['floor']>).ms / x.after.ms);
  const beforeRatios = r.results.filter((x) => x.before).map((x) => x.bare.ms / (x.before as ControllerRun).ms);
  return [
    `bench:controller  N=${r.N} Services, write concurrency 32, ${r.results.length} round(s) counted, ${r.late.length} late, kube-apiserver ${r.server}`,
    ...rows,
    `  ratio (controller rate / bare rate, like for like), median of ${r.results.length}   ${median(ratios).toFixed(2)}x   (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}; issue 18: >= 0.9x at 10,000)`,
    `  like-for-like loop, median ${sec(median(r.results.map((x) => x.bare.ms)))} s${r.conditions ? ' (with the AddressAllocated condition)' : ' (no condition)'}; controller until all served, median ${sec(ctlMs)} s   ${rate(ctlMs)} Services/s`,
    ...(floors.length
      ? [
          `  floor (like-for-like loop / the same loop beside a watch-only process), median ${median(floorRatios).toFixed(2)}x   (rounds: ${floorRatios.map((x) => x.toFixed(2)).join(', ')}): the most a controller that watches Services can show here`,
          `  controller against the floor (the watched loop's time / the controller's), median ${median(toFloor).toFixed(2)}x   (rounds: ${toFloor.map((x) => x.toFixed(2)).join(', ')})`,
        ]
      : []),
    ...(beforeRatios.length ? [`  before (${r.beforeMain}): ratio median ${median(beforeRatios).toFixed(2)}x (rounds: ${beforeRatios.map((x) => x.toFixed(2)).join(', ')})`] : []),
    `  bare minimal merge patch, raw client  ${sec(r.bareMs)} s   ratio of the median controller to it ${(r.bareMs / ctlMs).toFixed(2)}x`,
    `  bare minimal merge patch, client-node ${sec(r.cnBareMs)} s   ratio of the median controller to it ${(r.cnBareMs / ctlMs).toFixed(2)}x`,
    `  CPU in the minimal raw window ${cpus(r.bareCpu)}, bench (client + watch) ${r.bareCpu.bench.toFixed(2)} s`,
    `  controller peak RSS, highest of the rounds ${Math.max(...r.results.map((x) => x.after.rss)).toFixed(1)} MiB; controller CPU time (start-up included), median ${median(r.results.map((x) => x.after.cpu)).toFixed(2)} s`,
    '',
  ].join('\n');
}
