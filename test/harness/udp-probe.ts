// Client-visible liveness of a Service address: each node runs a UDP echo that answers with its
// name; the client sends a probe every few milliseconds and logs who answered when. Used by the
// failover e2e test and by `npm run bench:failover`.
import type { ChildProcess } from 'node:child_process';
import type { L2Lab, NodeHost } from './l2-lab';

export const ECHO_PORT = 9999;

export interface Reply {
  t: number;
  node: string;
  /** The probe's sequence number, echoed back. */
  seq: number;
}

/** A UDP echo on `port` answering every datagram with the node's name and the datagram. */
export function startEcho(l2: L2Lab, node: NodeHost, port = ECHO_PORT): ChildProcess {
  const echo = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(${JSON.stringify(node.nodeName)}+' '+m.toString(),r.port,r.address));s.bind(${port})`;
  return l2.lab.spawn(node, [process.execPath, '-e', echo]);
}

export class Probe {
  readonly replies: Reply[] = [];
  private buf = '';
  private readonly child: ChildProcess;

  /** Starts probing `ip` from the lab's client every `everyMs`. */
  constructor(l2: L2Lab, ip: string, everyMs = 10, port = ECHO_PORT) {
    const script = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(m)=>process.stdout.write(Date.now()+' '+m.toString()+'\\n'));s.bind(0,()=>setInterval(()=>s.send(String(n++),${port},${JSON.stringify(ip)},()=>{}),${everyMs}))`;
    this.child = l2.lab.spawn(l2.client, [process.execPath, '-e', script]);
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split('\n');
      this.buf = lines.pop() ?? '';
      for (const l of lines) {
        const [t, node, seq] = l.trim().split(' ');
        if (node) this.replies.push({ t: Number(t), node, seq: Number(seq) });
      }
    });
  }

  /** First reply after `since` from a node other than `old`. */
  firstOther(since: number, old: string): Reply | undefined {
    return this.replies.find((r) => r.t >= since && r.node !== old);
  }

  /** First reply after `since`, from any node. */
  firstAfter(since: number): Reply | undefined {
    return this.replies.find((r) => r.t >= since);
  }

  /** First reply after `since` from `node`. */
  firstFrom(since: number, node: string): Reply | undefined {
    return this.replies.find((r) => r.t >= since && r.node === node);
  }

  /**
   * The probes sent between the first and the last one answered within [from, to] (by their
   * sequence numbers), and those of them never answered: a lost probe is a missing number.
   */
  losses(from: number, to: number): { sent: number; lost: number[] } {
    const seqs = new Set(this.replies.filter((r) => r.t >= from && r.t <= to && Number.isFinite(r.seq)).map((r) => r.seq));
    if (seqs.size === 0) return { sent: 0, lost: [] };
    const lo = Math.min(...seqs);
    const hi = Math.max(...seqs);
    const answered = new Set(this.replies.map((r) => r.seq)); // an answer may come in just outside the window
    const lost: number[] = [];
    for (let n = lo; n <= hi; n++) if (!answered.has(n)) lost.push(n);
    return { sent: hi - lo + 1, lost };
  }

  /** Longest silence between consecutive replies within [from, to]. */
  longestGap(from: number, to: number): number {
    const ts = this.replies.filter((r) => r.t >= from && r.t <= to).map((r) => r.t);
    let gap = 0;
    for (let i = 1; i < ts.length; i++) gap = Math.max(gap, ts[i] - ts[i - 1]);
    return gap;
  }

  /** The node that alone answered the last `windowMs`, if any. */
  stableOwner(windowMs = 300): string | undefined {
    const now = Date.now();
    const recent = this.replies.filter((r) => r.t > now - windowMs);
    const names = new Set(recent.map((r) => r.node));
    return recent.length > windowMs / 30 && names.size === 1 ? [...names][0] : undefined;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
