// The layer-2 responder without a Worker: the addon's answer thread (native/src/answer_thread.c)
// polls the packet sockets and answers ARP requests and neighbour solicitations from a copy of the
// owned table, so a busy or stalled main event loop never delays an answer; everything else the
// worker did runs here, on the main thread, in the same ResponderEngine: the sockets, their
// filters and memberships, the conflict guard and the audits (shown every frame the thread
// forwards), gratuitous bursts, probes and the stats (on a timer instead of the poll loop).
// It has the surface of ResponderThread (ResponderHost), so Responder supervises it the same way:
// acknowledged commands, liveness beats (the thread's loop passes), exit, abandon.
import { EventEmitter } from 'events';
import { ANSWER_SLOT, type AnswerHandle } from '../../net/answer-thread-types';
import { loadNative, type IronlbNative } from '../../net/native';
import { nativePacketIo } from '../../net/packet-io';
import { addCounters, zeroCounters } from './responder-counters';
import { ResponderEngine } from './responder-engine';
import type { FromWorker, ResponderCounters, ResponderStats, ToWorker } from './responder-messages';
import type { Command, ResponderHost, ThreadEvents } from './responder-thread';
import { AnswerKeepalive, answerKeepaliveMs, type AnswerWindow } from './answer-window';

/** Frames queued for the main thread; a flood beyond the forward rate is dropped before it. */
const FORWARD_CAPACITY = 256;
/** Frames per second the conflict guard and the audits get to see, and in a burst. */
const FORWARD_RATE = 2000;
const FORWARD_BURST = 500;
/** Frames taken per ansTake call. */
const TAKE_BATCH = 32;

/**
 * How long ending the thread may block the main thread: its loop returns within one poll (100 ms);
 * one that does not (a wedge) is left fenced and detached rather than wait for it.
 */
const STOP_WAIT_MS = 150;

/** The exit code of a thread whose loop ended by itself (a fault): as a worker's process.exit(70). */
const EXITED_BY_FAULT = 70;

export class NativeResponderHost extends EventEmitter<ThreadEvents> implements ResponderHost {
  private readonly native: IronlbNative;
  private readonly engine: ResponderEngine;
  private readonly handle: AnswerHandle;
  private readonly wakeFd: number;
  private exitedWith?: number;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private socketsDirty = true;
  private nextId = 1;
  private ack?: Extract<FromWorker, { type: 'ack' }>;
  private readonly rx = Buffer.alloc(ANSWER_SLOT * TAKE_BATCH);
  private readonly meta = new Float64Array(4 * TAKE_BATCH);
  private keepalive?: NodeJS.Timeout;

  /**
   * `window`: the thread answers only `windowMs` after this main loop last ran, and after a stall
   * past it only once the loop has run `resumeMs` again (answer-window.ts); undefined: always.
   */
  private constructor(private readonly testFaults: boolean, window?: AnswerWindow) {
    super();
    this.native = loadNative();
    // The engine's socket set wants a wake fd for a poll loop it does not run here.
    this.wakeFd = this.native.createEventFd();
    this.handle = this.native.ansStart(() => this.onEvent(), {
      capacity: FORWARD_CAPACITY,
      forwardRate: FORWARD_RATE,
      forwardBurst: FORWARD_BURST,
      replyRate: 0,
      replyBurst: 0,
    });
    this.engine = new ResponderEngine(nativePacketIo(), this.wakeFd, {
      post: (m) => this.onPost(m),
      now: () => performance.now(),
      wallNow: () => Date.now(),
      fdOpened: () => (this.socketsDirty = true),
      fdClosing: () => (this.socketsDirty = true),
      ownedChanged: (owned) => this.native.ansOwned(this.handle, owned),
    });
    if (window !== undefined) {
      const keepalive = new AnswerKeepalive({ ...window, extend: (ms) => this.native.ansAnswerFor(this.handle, ms) }, performance.now());
      this.keepalive = setInterval(() => keepalive.tick(performance.now()), answerKeepaliveMs(window.windowMs));
      this.keepalive.unref();
    }
  }

  /** Starts the thread (at once: nothing to load). */
  static async start(opts: { testFaults: boolean; answerWindow?: AnswerWindow }): Promise<NativeResponderHost> {
    const host = new NativeResponderHost(opts.testFaults, opts.answerWindow);
    host.afterEngine();
    return host;
  }

  get exited(): boolean {
    return this.exitedWith !== undefined;
  }

  beats(): number {
    return this.exited ? 0 : this.native.ansBeats(this.handle);
  }

  /** Applies one command on this thread and resolves with its acknowledgement. */
  async request(msg: Command): Promise<{ stats?: ResponderStats; macs?: string[] }> {
    if (this.exited) throw new Error('responder answer thread has exited');
    const id = this.nextId++;
    if (msg.type === 'fault') {
      if (!this.testFaults) throw new Error('fault injection is off');
      // A crash of native code would take the process with it; the thread's end is what a
      // supervisor can see, so 'crash' ends the loop as 'exit' does.
      this.native.ansFault(this.handle, msg.fault === 'wedge' ? 'wedge' : 'exit');
      return {};
    }
    if (msg.type === 'configure') this.native.ansLimit(this.handle, msg.limit.ratePerSecond, msg.limit.burst);
    this.ack = undefined;
    this.engine.command({ ...msg, id } as ToWorker);
    const ack = this.ack as Extract<FromWorker, { type: 'ack' }> | undefined;
    this.ack = undefined;
    if (msg.type === 'stop') this.end(0);
    else this.afterEngine();
    if (!ack || ack.id !== id) throw new Error('responder: command not acknowledged');
    if (ack.error) throw new Error(ack.error);
    return { stats: ack.stats, macs: ack.macs };
  }

  /** Gives the thread up: it never sends again, and it is stopped. */
  async abandon(): Promise<void> {
    if (this.exited) return;
    this.native.ansFence(this.handle);
    this.end(1);
  }

  /** Ends the thread now: it has nothing to finish (the engine's stop already ran here). */
  async exitWithin(_timeoutMs: number): Promise<void> {
    if (!this.exited) this.end(0);
  }

  // ---- the thread's events ----------------------------------------------------------------

  private onEvent(): void {
    if (this.exited) return;
    const ev = this.native.ansEvents(this.handle);
    if (ev.frames) this.takeFrames();
    if (ev.monitor) {
      this.engine.monitorReadable();
      this.native.ansMonitorRearm(this.handle);
    }
    if (ev.exited) return this.end(EXITED_BY_FAULT);
    this.afterEngine();
  }

  private takeFrames(): void {
    for (;;) {
      const n = this.native.ansTake(this.handle, this.rx, this.meta);
      // Arrival times are on CLOCK_MONOTONIC (process.hrtime's clock); the engine's on performance.now().
      const [perfNow, monoNow] = [performance.now(), Number(process.hrtime.bigint()) / 1e6];
      for (let i = 0; i < n; i++) {
        const frame = this.rx.subarray(i * ANSWER_SLOT, (i + 1) * ANSWER_SLOT);
        const arrived = perfNow - Math.max(0, monoNow - this.meta[4 * i + 3]);
        this.engine.inspect(frame, this.meta[4 * i], this.meta[4 * i + 2] === 0 ? 'arp' : 'ndp', arrived);
      }
      if (n < TAKE_BATCH) return;
    }
  }

  /** After anything ran in the engine: the thread gets changed sockets, the timer the next due time. */
  private afterEngine(): void {
    if (this.exited) return;
    if (this.socketsDirty) {
      this.socketsDirty = false;
      const sockets = this.engine.socketSet.packetSockets().map((s) => ({ fd: s.fd, ifindex: s.view.ifindex, mac: s.view.mac, kind: s.kind === 'arp' ? (0 as const) : (1 as const) }));
      this.native.ansSockets(this.handle, sockets, this.engine.socketSet.monitorFd);
    }
    const due = this.engine.nextDueAt;
    if (due === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = due;
    if (!Number.isFinite(due)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.engine.tick(performance.now());
      this.afterEngine();
    }, Math.max(0, due - performance.now()));
    this.timer.unref();
  }

  // ---- the engine's messages ----------------------------------------------------------------

  /** The thread's counters for what it answered, added to the engine's (which answers nothing here). */
  private withThreadCounters(stats: ResponderStats): ResponderStats {
    const t = this.native.ansStats(this.handle);
    const c: ResponderCounters = { ...zeroCounters(), requests: t.requests, replies: t.replies, drops: t.drops, sendFailures: t.sendFailures, recvErrors: t.recvErrors, withheld: t.withheld };
    return { ...stats, counters: addCounters(stats.counters, c) };
  }

  private onPost(m: FromWorker): void {
    if (m.type === 'ack') {
      this.ack = m.stats && !this.exited ? { ...m, stats: this.withThreadCounters(m.stats) } : m;
      return;
    }
    const out: FromWorker = m.type === 'stats' ? { type: 'stats', stats: this.withThreadCounters(m.stats) } : m;
    // Delivered after the current call, as a worker's messages are: a handler never runs inside
    // the command that caused it.
    queueMicrotask(() => this.emit('message', out));
  }

  private end(code: number): void {
    if (this.exited) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
    this.native.ansFence(this.handle);
    this.native.ansStop(this.handle, STOP_WAIT_MS);
    // Once only: a 'stop' command has closed the engine already, and closing its route monitor's
    // fd number twice could close whatever was opened under that number meanwhile.
    if (!this.engine.isStopped) this.engine.close();
    try {
      this.native.close(this.wakeFd);
    } catch {
      // already closed
    }
    this.exitedWith = code;
    // As a worker's 'exit': after the call that ended it (Responder.stop marks itself stopping first).
    setImmediate(() => this.emit('exit', code));
  }
}
