// The attacker and the client-side oracles of the heartbeat adversity tests.
//
// - hbtool (hbtool.c, built here with gcc): floods or sends heartbeat-shaped UDP with any source
//   address (raw socket), or relays frames between two bridge ports as an on-path host would.
// - SeqProbe: the client probes a Service address every 10 ms with numbered UDP datagrams; each
//   node echoes "<node> <number>" back, so lost probes are counted exactly, not guessed from gaps.
// - metrics(): a speaker's Prometheus counters, scraped inside its node namespace.
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Host } from '../../helpers/netns';
import type { L2Lab, NodeHost } from '../../harness/l2-lab';
import { waitForLog, type IronlbProcess } from '../../harness/processes';

const run = promisify(execFile);
const SOURCE = path.join(__dirname, 'hbtool.c');

/** Compiles hbtool once per source version (cached in the temporary directory). */
export async function buildHbtool(): Promise<string> {
  const src = await fs.readFile(SOURCE);
  const bin = path.join(os.tmpdir(), `ironlb-hbtool-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (!existsSync(bin)) {
    const tmp = `${bin}.${process.pid}`;
    await run('gcc', ['-O2', '-Wall', '-o', tmp, SOURCE]);
    await fs.rename(tmp, bin);
  }
  return bin;
}

/** One datagram for hbtool: `seqOffset` is the payload offset of a u64 it increments per send (-1: none). */
export interface Datagram {
  src: string;
  dst: string;
  port: number;
  payload: Buffer;
  seqOffset: number;
}

export interface SendStats {
  sent: number;
  failed: number;
  seconds: number;
  rate: number;
}

async function listFile(datagrams: Datagram[]): Promise<string> {
  const file = path.join(os.tmpdir(), `ironlb-hb-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  await fs.writeFile(file, datagrams.map((d) => `${d.src} ${d.dst} ${d.port} ${d.seqOffset} ${d.payload.toString('hex')}`).join('\n') + '\n');
  return file;
}

export class Attacker {
  private constructor(
    private readonly l2: L2Lab,
    readonly host: Host,
    private readonly bin: string,
  ) {}

  /** A host on the LAN that is not a node: 198.51.100.66. */
  static async create(l2: L2Lab): Promise<Attacker> {
    const bin = await buildHbtool();
    const host = await l2.lab.addHost('atk', { ipv4: '198.51.100.66/24' });
    return new Attacker(l2, host, bin);
  }

  /** Sends the datagrams round robin for `seconds` at the highest rate this machine gives. */
  async flood(datagrams: Datagram[], seconds: number): Promise<SendStats> {
    const file = await listFile(datagrams);
    try {
      const r = await this.l2.lab.exec(this.host, ['timeout', '-s', 'TERM', String(seconds), this.bin, 'flood', file], { timeoutMs: (seconds + 20) * 1000, allowFailure: true });
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as SendStats;
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  /** Sends every datagram once. */
  async send(datagrams: Datagram[]): Promise<SendStats> {
    const file = await listFile(datagrams);
    try {
      const r = await this.l2.lab.exec(this.host, [this.bin, 'send', file], { timeoutMs: 10_000 });
      return JSON.parse(r.stdout.trim()) as SendStats;
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  /**
   * An on-path relay in the switch namespace: frames from `from` to `to` (captured on from's bridge
   * port) are re-addressed to `target` and sent out of target's bridge port.
   */
  async relay(from: NodeHost, to: NodeHost, target: NodeHost): Promise<{ stop: () => Promise<number> }> {
    const ports = await this.bridgePorts();
    const child = this.l2.lab.spawn(this.l2.lab.switchNs, [this.bin, 'relay', ports(from), ports(target), from.ipv4 ?? '', to.ipv4 ?? '', target.ipv4 ?? '', target.mac]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const started = Date.now();
    while (!out.includes('relaying')) {
      if (child.exitCode !== null || Date.now() - started > 5000) throw new Error(`relay did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return {
      stop: async () => {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
        return (JSON.parse(out.trim().split('\n').pop() ?? '{}') as { relayed?: number }).relayed ?? 0;
      },
    };
  }

  /** The bridge port (in the switch namespace) of each host: Lab names them p<k><host name>. */
  private async bridgePorts(): Promise<(h: Host) => string> {
    const links = JSON.parse((await this.l2.lab.ip(this.l2.lab.switchNs, ['-j', 'link', 'show', 'master', 'br0'])).stdout) as Array<{ ifname: string }>;
    return (h) => {
      const port = links.find((l) => new RegExp(`^p\\d+${h.name}$`).test(l.ifname));
      if (!port) throw new Error(`no bridge port for ${h.name}`);
      return port.ifname;
    };
  }
}

export const SEQ_ECHO_PORT = 9998;

/** A UDP echo on each node answering "<node> <probe number>". */
export function startSeqEcho(l2: L2Lab, node: NodeHost): ChildProcess {
  const echo = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(${JSON.stringify(node.nodeName)}+' '+m,r.port,r.address));s.bind(${SEQ_ECHO_PORT})`;
  return l2.lab.spawn(node, [process.execPath, '-e', echo]);
}

export interface SeqReply {
  seq: number;
  node: string;
  rttMs: number;
}

/** Numbered probes every `everyMs` from the client; every answer is matched to its probe. */
export class SeqProbe {
  readonly sentAt: number[] = [];
  readonly replies = new Map<number, SeqReply>();
  private readonly child: ChildProcess;
  private buf = '';

  constructor(l2: L2Lab, ip: string, everyMs = 10) {
    const script = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(m,r)=>process.stdout.write('R '+Date.now()+' '+m.toString()+'\\n'));s.bind(0,()=>setInterval(()=>{process.stdout.write('S '+Date.now()+' '+n+'\\n');s.send(String(n++),${SEQ_ECHO_PORT},${JSON.stringify(ip)},()=>{})},${everyMs}))`;
    this.child = l2.lab.spawn(l2.client, [process.execPath, '-e', script]);
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop() ?? '';
      for (const l of lines) {
        const [kind, t, a, b] = l.trim().split(' ');
        if (kind === 'S') this.sentAt[Number(a)] = Number(t);
        else if (kind === 'R' && b !== undefined) this.replies.set(Number(b), { seq: Number(b), node: a, rttMs: Number(t) - (this.sentAt[Number(b)] ?? Number(t)) });
      }
    });
  }

  /** Probes sent within [from, to] (wall clock of this machine). */
  sentBetween(from: number, to: number): number[] {
    const out: number[] = [];
    this.sentAt.forEach((t, seq) => {
      if (t >= from && t <= to) out.push(seq);
    });
    return out;
  }

  /** Outcome of the probes sent within [from, to]: lost ones, who answered, slowest answer. */
  summary(from: number, to: number): { sent: number; lost: number; nodes: string[]; maxRttMs: number } {
    const seqs = this.sentBetween(from, to);
    const answered = seqs.map((s) => this.replies.get(s)).filter((r): r is SeqReply => r !== undefined);
    return {
      sent: seqs.length,
      lost: seqs.length - answered.length,
      nodes: [...new Set(answered.map((r) => r.node))].sort(),
      maxRttMs: Math.max(0, ...answered.map((r) => r.rttMs)),
    };
  }

  /** The node that alone answered the last `windowMs`, if any. */
  stableOwner(windowMs = 500): string | undefined {
    const since = Date.now() - windowMs;
    const recent = [...this.replies.values()].filter((r) => (this.sentAt[r.seq] ?? 0) > since);
    const names = new Set(recent.map((r) => r.node));
    return recent.length > windowMs / 30 && names.size === 1 ? [...names][0] : undefined;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Every sample of a speaker's /metrics, keyed by the full series text (name{labels}). */
export async function metrics(l2: L2Lab, node: NodeHost): Promise<Map<string, number>> {
  const addr = (await waitForLog(node.speaker as IronlbProcess, 'metrics and health endpoints listening')).address as string;
  const r = await l2.lab.exec(node.ns, ['curl', '-s', '--max-time', '5', `http://${addr}/metrics`]);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of `name` (all labels) whose labels include `match`. */
export function total(m: Map<string, number>, name: string, match = ''): number {
  let sum = 0;
  for (const [series, v] of m) if ((series === name || series.startsWith(`${name}{`)) && series.includes(match)) sum += v;
  return sum;
}
