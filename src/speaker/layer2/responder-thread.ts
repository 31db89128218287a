// One responder worker thread, seen from the main thread: start it, send it acknowledged
// commands, read its liveness beats, and clean up after it however it ends. The Responder
// (responder.ts) supervises these and replaces one that dies or stops making progress.
import { EventEmitter } from 'events';
import * as path from 'path';
import type { Worker } from 'worker_threads';
import { loadNative } from '../../net/native';
import { resolveWorkerModule, startWorker } from '../../net/ts-worker';
import { FD_TABLE_SLOTS, Liveness, type FromWorker, type ResponderStats, type ToWorker, type WorkerInit } from './responder-messages';

interface Pending {
  resolve: (m: { stats?: ResponderStats; macs?: string[] }) => void;
  reject: (e: Error) => void;
}

export interface ThreadEvents {
  message: [FromWorker];
  error: [Error];
  /** The thread ended; its leftover fds are closed by then. */
  exit: [number];
}

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Command = DistributiveOmit<ToWorker, 'id'>;

/**
 * What the Responder supervises: a worker thread (ResponderThread) or the addon's answer thread
 * with the engine on the main thread (native-responder-host.ts).
 */
export interface ResponderHost extends EventEmitter<ThreadEvents> {
  readonly exited: boolean;
  /** Loop passes so far (wraps around; only changes matter). */
  beats(): number;
  /** Sends one command and resolves with its acknowledgement. */
  request(msg: Command): Promise<{ stats?: ResponderStats; macs?: string[] }>;
  /** Gives the thread up: it must never send again. Resolves on its end. */
  abandon(): Promise<void>;
  /** Resolves when the thread has ended (ending it after `timeoutMs` if it has not). */
  exitWithin(timeoutMs: number): Promise<void>;
}

/** The worker did not say it was ready in time (a starved CPU, not a broken install). */
export class WorkerStartTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`responder worker did not start in time (${timeoutMs} ms)`);
  }
}

export class ResponderThread extends EventEmitter<ThreadEvents> implements ResponderHost {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitedWith?: number;
  private readonly live: Int32Array;
  private readonly fds: Int32Array;

  private constructor(
    private readonly worker: Worker,
    private readonly wakeFd: number,
    init: WorkerInit,
  ) {
    super();
    this.live = new Int32Array(init.liveness);
    this.fds = new Int32Array(init.fdTable);
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => {
      this.failPending(e);
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    worker.on('exit', (code) => this.onExit(code));
  }

  /** Starts a worker and resolves once it says it is ready. */
  static async start(opts: { testFaults: boolean; startTimeoutMs: number }): Promise<ResponderThread> {
    const native = loadNative();
    const wakeFd = native.createEventFd();
    const init: WorkerInit = {
      wakeFd,
      liveness: new SharedArrayBuffer(Liveness.slots * 4),
      fdTable: new SharedArrayBuffer(FD_TABLE_SLOTS * 4),
      testFaults: opts.testFaults,
    };
    new Int32Array(init.fdTable).fill(-1);
    const file = resolveWorkerModule(path.join(__dirname, 'responder-worker'), __filename);
    let worker: Worker;
    try {
      worker = startWorker(file, { workerData: init });
    } catch (e) {
      native.close(wakeFd);
      throw e;
    }
    const t = new ResponderThread(worker, wakeFd, init);
    await new Promise<void>((resolve, reject) => {
      const done = (e?: Error) => {
        clearTimeout(timer);
        t.off('message', onMsg);
        t.off('exit', onExit);
        t.off('error', onError);
        if (e) reject(e);
        else resolve();
      };
      const timer = setTimeout(() => {
        void worker.terminate();
        done(new WorkerStartTimeout(opts.startTimeoutMs));
      }, opts.startTimeoutMs);
      const onMsg = (m: FromWorker) => m.type === 'ready' && done();
      const onExit = (code: number) => done(new Error(`responder worker exited during start (code ${code})`));
      const onError = (e: Error) => done(e);
      t.on('message', onMsg);
      t.on('exit', onExit);
      t.on('error', onError);
    });
    return t;
  }

  get exited(): boolean {
    return this.exitedWith !== undefined;
  }

  /** Loop passes so far (wraps around; only changes matter). */
  beats(): number {
    return Atomics.load(this.live, Liveness.beats);
  }

  /** Sends one command and resolves with its acknowledgement. */
  request(msg: Command): Promise<{ stats?: ResponderStats; macs?: string[] }> {
    if (this.exited) return Promise.reject(new Error('responder worker has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id } as ToWorker);
      // The worker may be blocked in poll(): wake it so the command applies now.
      try {
        loadNative().signalEventFd(this.wakeFd);
      } catch (e) {
        this.pending.delete(id);
        reject(e as Error);
      }
    });
  }

  /** Gives the thread up: it must never send again, and it is terminated. Resolves on its exit. */
  async abandon(): Promise<void> {
    Atomics.store(this.live, Liveness.fenced, 1);
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    void this.worker.terminate();
    await exited;
  }

  /** Resolves when the thread has ended (terminating it after `timeoutMs` if it has not). */
  async exitWithin(timeoutMs: number): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ack') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve({ stats: m.stats, macs: m.macs });
      return;
    }
    this.emit('message', m);
  }

  private onExit(code: number): void {
    this.exitedWith = code;
    this.failPending(new Error(`responder worker exited (code ${code})`));
    // A worker that died without closing its sockets leaves them in the table; the thread is
    // gone, so nothing can be using them (and the numbers cannot have been reused yet: they are
    // still open).
    const native = loadNative();
    for (let i = 0; i < FD_TABLE_SLOTS; i++) {
      const fd = Atomics.load(this.fds, i);
      if (fd < 0) continue;
      try {
        native.close(fd);
      } catch {
        // closed meanwhile
      }
      Atomics.store(this.fds, i, -1);
    }
    try {
      native.close(this.wakeFd);
    } catch {
      // already closed
    }
    this.emit('exit', code);
  }

  private failPending(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
