// Child-process entry points that run inside a lab namespace (`ip netns exec NS node ...`), and
// the parent-side clients that start them.
//
//   responder mode: runs the real L2 Responder (main thread + worker) on the namespace's eligible
//     interfaces; controlled by JSON lines on stdin, answers with JSON lines on stdout.
//   probe mode: sends crafted frames from a packet socket and reports the frames that came back
//     (ARP replies or Neighbor Advertisements) within a time window.
//
// Parent side: `ResponderHost.start(lab, host)` and `probe(lab, host, {...})`.
import { ChildProcess } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import type { Host, Lab } from './netns';
import { tsNodeArgs } from './netns';

// ---------------------------------------------------------------------------------------------
// parent side

export interface ResponderHostOptions {
  /** Interface-name patterns to exclude (regex text); default [] (test NICs are veths). */
  exclude?: string[];
  include?: string[];
  timing?: Record<string, number>;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class ResponderHost {
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private stderr = '';
  interfaces: Array<{ name: string; ifindex: number; mac: string }> = [];

  private constructor(private readonly child: ChildProcess) {}

  static async start(lab: Lab, host: Host, opts: ResponderHostOptions = {}): Promise<ResponderHost> {
    const child = lab.spawn(host, [process.execPath, ...tsNodeArgs(), __filename, 'responder', JSON.stringify({ exclude: [], ...opts })], {
      cwd: path.resolve(__dirname, '..', '..'),
    });
    const h = new ResponderHost(child);
    child.stderr!.on('data', (d: Buffer) => {
      h.stderr += d.toString();
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`responder host did not start: ${h.stderr}`)), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`responder host exited (${code}): ${h.stderr}`));
      });
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        let m: { event?: string; interfaces?: ResponderHost['interfaces'] } & Partial<Reply>;
        try {
          m = JSON.parse(line);
        } catch {
          return;
        }
        if (m.event === 'ready') {
          clearTimeout(timer);
          h.interfaces = m.interfaces ?? [];
          resolve();
        } else if (typeof m.id === 'number') {
          const p = h.pending.get(m.id);
          h.pending.delete(m.id);
          p?.(m as Reply);
        }
      });
    });
    await ready;
    return h;
  }

  async command<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`, (err) => err && reject(err));
    });
    if (!reply.ok) throw new Error(`responder host: ${cmd}: ${reply.error}`);
    return reply.result as T;
  }

  setAddresses(addresses: Array<string | { address: string; interfaces?: string[] }>): Promise<void> {
    return this.command('setAddresses', { addresses });
  }

  announce(addresses?: string[]): Promise<void> {
    return this.command('announce', addresses ? { addresses } : {});
  }

  setTiming(timing: Record<string, number>): Promise<void> {
    return this.command('setTiming', { timing });
  }

  /** Replaces the responder's interfaces; 'scan' re-lists the namespace's eligible ones. */
  setInterfaces(interfaces: 'scan' | Array<{ name: string; ifindex: number; mac: string }>): Promise<void> {
    return this.command('setInterfaces', { interfaces });
  }

  stats<T = unknown>(): Promise<T> {
    return this.command<T>('stats');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      await Promise.race([this.command('stop'), exited]);
    } catch {
      // exiting
    }
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

export interface ProbeOptions {
  /** Frames to send (hex). */
  frames: string[];
  /** Which replies to collect: ARP replies or Neighbor Advertisements. */
  expect: 'arpReply' | 'neighborAdvertisement';
  /** How long to listen after the last send. */
  waitMs?: number;
  ifname?: string;
}

export interface ProbeResult {
  /** Frames received (hex) with their packet type, outgoing copies excluded. */
  received: Array<{ hex: string; pkttype: number }>;
}

/** Runs probe mode inside the host's namespace. */
export async function probe(lab: Lab, host: Host, opts: ProbeOptions): Promise<ProbeResult> {
  const r = await lab.exec(host, [process.execPath, ...tsNodeArgs(), __filename, 'probe', JSON.stringify({ ifname: host.ifname, ...opts })], {
    timeoutMs: 60_000,
  });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ProbeResult;
}

// ---------------------------------------------------------------------------------------------
// child side

async function responderMain(opts: ResponderHostOptions): Promise<void> {
  const { listInterfaces, eligibleInterfaces, parseExcludePatterns, supportsArp, supportsNdp } = await import('../../src/net/interfaces');
  const { Responder } = await import('../../src/speaker/layer2/responder');
  const scan = () =>
    eligibleInterfaces(listInterfaces(), { exclude: parseExcludePatterns(opts.exclude ?? []), include: opts.include }).map((i) => ({
      name: i.name,
      ifindex: i.ifindex,
      mac: i.mac,
      arp: supportsArp(i),
      ndp: supportsNdp(i),
    }));
  const interfaces = scan();
  // IRONLB_RESPONDER_THREAD (as for the speaker's --responder-thread) picks the answering thread.
  const thread = process.env.IRONLB_RESPONDER_THREAD === 'worker' || process.env.IRONLB_RESPONDER_THREAD === 'native' ? process.env.IRONLB_RESPONDER_THREAD : undefined;
  const responder = await Responder.start({ interfaces, timing: opts.timing, thread });
  const out = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
  let stallTimer: NodeJS.Timeout | undefined;
  const busy = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // stall the main event loop on purpose
    }
  };
  out({ event: 'ready', interfaces });
  const rl = readline.createInterface({ input: process.stdin });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (stallTimer) clearInterval(stallTimer);
    await responder.stop();
  };
  rl.on('line', (line) => {
    void (async () => {
      let m: { id: number; cmd: string; [k: string]: unknown };
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      try {
        let result: unknown;
        switch (m.cmd) {
          case 'setAddresses':
            await responder.setAddresses(m.addresses as string[]);
            break;
          case 'announce':
            await responder.announce(m.addresses as string[] | undefined);
            break;
          case 'setTiming':
            await responder.setTiming(m.timing as Record<string, number>);
            break;
          case 'stats':
            result = await responder.getStats();
            break;
          case 'setInterfaces':
            // 'scan': the eligible interfaces as of now; otherwise the list given
            await responder.setInterfaces(m.interfaces === 'scan' ? scan() : (m.interfaces as ReturnType<typeof scan>));
            break;
          case 'stall':
            busy(Number(m.ms));
            break;
          case 'stallLoop': {
            // busy-loop the main thread for stallMs every everyMs (0 stops it)
            if (stallTimer) clearInterval(stallTimer);
            stallTimer = undefined;
            const stallMs = Number(m.stallMs);
            const everyMs = Number(m.everyMs);
            if (stallMs > 0 && everyMs > 0) stallTimer = setInterval(() => busy(stallMs), everyMs);
            break;
          }
          case 'stop':
            await stop();
            break;
          default:
            throw new Error(`unknown command ${m.cmd}`);
        }
        out({ id: m.id, ok: true, result });
        if (m.cmd === 'stop') process.exit(0);
      } catch (e) {
        out({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
  rl.on('close', () => void stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
}

async function probeMain(opts: ProbeOptions & { ifname: string }): Promise<void> {
  const { loadNative, ETH_P_ARP, ETH_P_IPV6, PacketType } = await import('../../src/net/native');
  const { arpReplyFilter, neighborAdvertisementFilter } = await import('../../src/net/bpf');
  const { listInterfaces } = await import('../../src/net/interfaces');
  const native = loadNative();
  const iface = listInterfaces().find((i) => i.name === opts.ifname);
  if (!iface) throw new Error(`no interface ${opts.ifname}`);
  const fd =
    opts.expect === 'arpReply'
      ? native.openPacketSocket(iface.ifindex, ETH_P_ARP, arpReplyFilter())
      : native.openPacketSocket(iface.ifindex, ETH_P_IPV6, neighborAdvertisementFilter());
  const received: ProbeResult['received'] = [];
  const buf = Buffer.alloc(4096);
  const meta = new Int32Array(3);
  const drain = () => {
    for (;;) {
      const n = native.recv(fd, buf, meta);
      if (n < 0) return;
      if (meta[0] !== PacketType.Outgoing) received.push({ hex: buf.subarray(0, n).toString('hex'), pkttype: meta[0] });
    }
  };
  for (const hex of opts.frames) {
    const f = Buffer.from(hex, 'hex');
    if (native.send(fd, f, f.length) !== f.length) throw new Error('probe: send failed');
  }
  const end = Date.now() + (opts.waitMs ?? 500);
  for (let now = Date.now(); now < end; now = Date.now()) {
    native.pollReadable([fd], end - now);
    drain();
  }
  native.close(fd);
  process.stdout.write(`${JSON.stringify({ received })}\n`);
}

if (require.main === module) {
  const [mode, json] = process.argv.slice(2);
  const opts = JSON.parse(json ?? '{}');
  const main = mode === 'responder' ? responderMain(opts) : mode === 'probe' ? probeMain(opts) : Promise.reject(new Error(`unknown mode ${mode}`));
  main.catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
