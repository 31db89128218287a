// Main-thread handle of the layer-2 responder. The ARP/NDP answers never wait for the main event
// loop: by default the addon's answer thread answers them (native-responder-host.ts; the rest of
// the responder — sockets, conflict guard, audits, gratuitous bursts — runs on the main thread),
// or, with `thread: 'worker'`, a worker thread runs the whole responder (responder-worker.ts
// running responder-engine.ts). This side sends commands (each acknowledged), receives periodic
// counters, and supervises the thread: one that ends, or whose loop stops beating
// (WorkerLiveness), makes the responder unhealthy at once — the layer-2 speaker then withdraws
// the node as NO_LAYER2 and /healthz fails — and is replaced by a fresh one that gets the same
// interfaces, timing and addresses; healthy again once that one has them.
import { EventEmitter } from 'events';
import * as fs from 'fs';
import { canonicalIP } from '../../ipam/address';
import { tryParseMac } from '../../protocol/address';
import { DEFAULT_TIMING, type ResponderTiming } from './gratuitous-schedule';
import { DEFAULT_REPLY_LIMIT, type ReplyLimit } from './reply-limiter';
import { addCounters } from './responder-counters';
import type { FromWorker, OwnedAddress, ResponderCounters, ResponderFault, ResponderInterfaceConfig, ResponderStats } from './responder-messages';
import { NativeResponderHost } from './native-responder-host';
import type { AnswerWindow } from './answer-window';
import { ResponderThread, WorkerStartTimeout, type Command, type ResponderHost } from './responder-thread';
import { WorkerLiveness } from './worker-liveness';

export { DEFAULT_TIMING, type ResponderTiming } from './gratuitous-schedule';
export { DEFAULT_REPLY_LIMIT, type ReplyLimit } from './reply-limiter';
export type * from './responder-messages';

export interface ResponderOptions {
  interfaces?: ResponderInterfaceConfig[];
  timing?: Partial<ResponderTiming>;
  /** Per-source answer limit (DEFAULT_REPLY_LIMIT). */
  limit?: Partial<ReplyLimit>;
  /** How long to wait for a worker to come up (ts-node compiles on first use). */
  startTimeoutMs?: number;
  /** A worker whose loop has not beaten for this long is given up (DEFAULT_LIVENESS_TIMEOUT_MS). */
  livenessTimeoutMs?: number;
  /** Accept injectFault() (tests). Also on when IRONLB_TEST_FAULTS is set, see installFaultSwitch. */
  testFaults?: boolean;
  /**
   * Where ARP and NDP are answered: 'native', the addon's answer thread (the rest of the
   * responder on the main thread, no second V8 isolate), or 'worker', a worker thread running
   * the whole responder (DEFAULT_RESPONDER_THREAD).
   */
  thread?: ResponderThreadKind;
  /** With the native thread: it answers only this long after the main loop last ran (answer-window.ts); undefined: always. */
  answerWindow?: AnswerWindow;
}

export type ResponderThreadKind = 'native' | 'worker';
export const DEFAULT_RESPONDER_THREAD: ResponderThreadKind = 'native';

export type RestartCause = 'exited' | 'stalled' | 'failed';

export interface ResponderHealth {
  /** A worker is running, beating, and has been given the current interfaces and addresses. */
  healthy: boolean;
  /** Why not, while unhealthy. */
  reason?: string;
  /** Workers replaced so far. */
  restarts: number;
}

export interface ResponderEvents {
  stats: [ResponderStats];
  interfaceError: [{ interface: string; message: string; code?: string }];
  /** Interfaces or their addresses changed: rescan them. */
  linksChanged: [];
  error: [Error];
  /** A worker thread ended with this code; unless the responder is stopping, another follows. */
  exit: [number];
  health: [ResponderHealth];
  /** A worker was given up. */
  restart: [RestartCause];
  /** A host none of our speakers uses an owned or probed address (see conflict-watch.ts). */
  conflict: [{ address: string; mac: string; phase: 'probing' | 'announcing' }];
  conflictCleared: [{ address: string }];
}

/** How often the main thread samples the worker's beats. */
const LIVENESS_CHECK_MS = 100;
/** Delay before each successive replacement of a worker that keeps failing. */
const RESTART_BACKOFF_MS = [0, 250, 1000, 5000] as const;
/** A worker that lived this long resets the backoff. */
const STABLE_AFTER_MS = 30_000;

export class Responder extends EventEmitter<ResponderEvents> {
  private thread?: ResponderHost;
  private stopping?: Promise<void>;
  private latest?: ResponderStats;
  /** Counters of the workers given up so far: the published ones stay cumulative across restarts. */
  private base?: ResponderCounters;
  private timing: ResponderTiming;
  private limit: ReplyLimit;
  private interfaces: ResponderInterfaceConfig[] = [];
  private addresses: OwnedAddress[] = [];
  private knownMacs: string[] = [];
  private readonly liveness: WorkerLiveness;
  private readonly watchdog: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private state: ResponderHealth = { healthy: true, restarts: 0 };
  private failures = 0;
  private threadSince = 0;
  private readonly testFaults: boolean;
  private faultSwitch?: () => void;

  private constructor(private readonly opts: ResponderOptions) {
    super();
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.limit = { ...DEFAULT_REPLY_LIMIT, ...opts.limit };
    this.liveness = new WorkerLiveness(opts.livenessTimeoutMs);
    this.testFaults = opts.testFaults ?? Boolean(process.env.IRONLB_TEST_FAULTS);
    this.watchdog = setInterval(() => this.checkLiveness(), LIVENESS_CHECK_MS);
    this.watchdog.unref();
  }

  /**
   * Starts the worker and waits until it is ready (and configured, when interfaces are given).
   * A worker that does not start within `startTimeoutMs` (a CPU-starved node; seen at load 15+ on
   * 2 cores) is no reason to fail: the responder starts unhealthy (its node withdraws as
   * NO_LAYER2) and keeps trying as it does for a worker that died. Any other error is thrown.
   */
  static async start(opts: ResponderOptions = {}): Promise<Responder> {
    const r = new Responder(opts);
    try {
      try {
        r.thread = await r.spawn();
      } catch (e) {
        if (!(e instanceof WorkerStartTimeout)) throw e;
        r.giveUp('failed', e.message);
      }
      await r.setInterfaces(opts.interfaces ?? []);
    } catch (e) {
      await r.stop();
      throw e;
    }
    r.faultSwitch = installFaultSwitch(r);
    return r;
  }

  /** The most recent counters posted by the worker (cumulative across worker restarts). */
  get lastStats(): ResponderStats | undefined {
    return this.latest;
  }

  get running(): boolean {
    return !this.stopping;
  }

  get health(): ResponderHealth {
    return { ...this.state };
  }

  /** Replaces the set of interfaces (sockets are opened/closed to match). */
  async setInterfaces(interfaces: ResponderInterfaceConfig[]): Promise<void> {
    for (const i of interfaces) {
      if (!tryParseMac(i.mac)) throw new Error(`responder: interface ${i.name}: invalid MAC ${JSON.stringify(i.mac)}`);
      if (!Number.isInteger(i.ifindex) || i.ifindex <= 0) throw new Error(`responder: interface ${i.name}: invalid ifindex ${i.ifindex}`);
    }
    this.interfaces = interfaces.map((i) => ({ ...i }));
    await this.apply(this.configureCommand());
  }

  /** Updates timing (applies to bursts started afterwards). */
  async setTiming(timing: Partial<ResponderTiming>): Promise<void> {
    this.timing = { ...this.timing, ...timing };
    await this.apply(this.configureCommand());
  }

  /**
   * Replaces the full set of owned addresses. Newly owned addresses are announced at once (then
   * in bursts); addresses no longer listed are not answered from the moment this resolves.
   */
  async setAddresses(addresses: ReadonlyArray<string | OwnedAddress>): Promise<void> {
    const list: OwnedAddress[] = [];
    for (const a of addresses) {
      const entry = typeof a === 'string' ? { address: a } : a;
      const canonical = canonicalIP(entry.address);
      if (!canonical) throw new Error(`responder: invalid address ${JSON.stringify(entry.address)}`);
      const owned: OwnedAddress = entry.interfaces && entry.interfaces.length > 0 ? { address: canonical, interfaces: [...entry.interfaces] } : { address: canonical };
      if (entry.gain) owned.gain = entry.gain; // how a newly gained address starts (conflict probe)
      if (entry.quiet) owned.quiet = true; // answered without gratuitous frames (a handover)
      list.push(owned);
    }
    this.addresses = list;
    await this.apply({ type: 'setAddresses', addresses: list });
  }

  /** Our speakers' MACs: a claim from one of them is no address conflict. */
  async setKnownMacs(macs: readonly string[]): Promise<void> {
    this.knownMacs = [...macs];
    await this.apply({ type: 'knownMacs', macs: this.knownMacs });
  }

  /** (Re)starts the gratuitous window for these owned addresses (default: all). */
  async announce(addresses?: string[]): Promise<void> {
    const list = addresses?.map((a) => {
      const c = canonicalIP(a);
      if (!c) throw new Error(`responder: invalid address ${JSON.stringify(a)}`);
      return c;
    });
    await this.apply(list ? { type: 'announce', addresses: list } : { type: 'announce' });
  }

  /** Announcement audit: one conflict-free probe for `address`; auditRead() then says who answered. */
  async auditProbe(address: string, interfaces?: string[]): Promise<void> {
    const t = this.live();
    if (!t) throw new Error('responder worker is restarting');
    await t.request({ type: 'auditProbe', address, interfaces });
  }

  /** The MACs (lower-case hex) that claimed `address` since its auditProbe(). */
  async auditRead(address: string): Promise<string[]> {
    const t = this.live();
    if (!t) throw new Error('responder worker is restarting');
    return (await t.request({ type: 'auditRead', address })).macs ?? [];
  }

  /** Fresh counters straight from the worker. */
  async getStats(): Promise<ResponderStats> {
    const t = this.live();
    if (!t) throw new Error(this.stopping ? 'responder is stopped' : 'responder worker is restarting');
    const m = await t.request({ type: 'getStats' });
    if (!m.stats) throw new Error('responder: no stats in reply');
    return this.noteStats(m.stats);
  }

  /** Test-only: makes the worker crash, exit or wedge (see ResponderFault). */
  async injectFault(fault: ResponderFault): Promise<void> {
    if (!this.testFaults) throw new Error('responder: fault injection is off');
    const t = this.live();
    if (!t) throw new Error('responder worker is restarting');
    await t.request({ type: 'fault', fault });
  }

  /** Stops answering, closes the sockets and ends the worker. Idempotent. */
  stop(timeoutMs = 5000): Promise<void> {
    if (this.stopping) return this.stopping;
    clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.faultSwitch?.();
    const t = this.thread;
    this.stopping = (async () => {
      if (!t || t.exited) return;
      try {
        await Promise.race([t.request({ type: 'stop' }), delay(timeoutMs)]);
      } catch {
        // worker already gone or failed: terminated below
      }
      await t.exitWithin(timeoutMs);
    })();
    return this.stopping;
  }

  // ---- supervision ------------------------------------------------------------------------

  private live(): ResponderHost | undefined {
    return this.stopping || !this.thread || this.thread.exited ? undefined : this.thread;
  }

  private configureCommand(): Command {
    return { type: 'configure', interfaces: this.interfaces, timing: this.timing, limit: this.limit };
  }

  /** Sends a command to the current worker. Without one (it is being replaced) the command is
   * only recorded: the next worker starts from the recorded state. */
  private async apply(cmd: Command): Promise<void> {
    if (this.stopping) throw new Error('responder is stopped');
    const t = this.live();
    if (!t) return;
    try {
      await t.request(cmd);
    } catch (e) {
      if (t.exited && !this.stopping) return; // died meanwhile: its successor gets the state
      throw e;
    }
  }

  private async spawn(): Promise<ResponderHost> {
    const t: ResponderHost =
      (this.opts.thread ?? DEFAULT_RESPONDER_THREAD) === 'native'
        ? await NativeResponderHost.start({ testFaults: this.testFaults, answerWindow: this.opts.answerWindow })
        : await ResponderThread.start({ testFaults: this.testFaults, startTimeoutMs: this.opts.startTimeoutMs ?? 30_000 });
    t.on('message', (m) => this.onMessage(m));
    t.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    t.on('exit', (code) => {
      this.emit('exit', code);
      if (t === this.thread && !this.stopping) this.giveUp('exited', `responder worker exited (code ${code})`);
    });
    this.liveness.reset(performance.now());
    this.threadSince = performance.now();
    return t;
  }

  private checkLiveness(): void {
    const t = this.live();
    if (!t || this.liveness.observe(t.beats(), performance.now())) return;
    this.giveUp('stalled', `responder worker made no progress for ${Math.round(this.liveness.stillFor(performance.now()))} ms`);
  }

  private giveUp(cause: RestartCause, reason: string): void {
    const t = this.thread;
    this.thread = undefined;
    if (this.latest) this.base = this.latest.counters;
    if (performance.now() - this.threadSince > STABLE_AFTER_MS) this.failures = 0;
    this.setHealth({ healthy: false, reason, restarts: this.state.restarts + 1 });
    this.emit('restart', cause);
    if (t) void t.abandon();
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.restartTimer || this.stopping) return;
    const wait = RESTART_BACKOFF_MS[Math.min(this.failures, RESTART_BACKOFF_MS.length - 1)];
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, wait);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    let t: ResponderHost | undefined;
    try {
      t = await this.spawn();
      if (this.stopping) return void (await t.abandon());
      this.thread = t;
      await t.request(this.configureCommand());
      await t.request({ type: 'knownMacs', macs: this.knownMacs });
      await t.request({ type: 'setAddresses', addresses: this.addresses });
      if (this.thread === t) this.setHealth({ healthy: true, restarts: this.state.restarts });
    } catch (e) {
      if (this.stopping) return;
      if (t && this.thread === t) this.giveUp('failed', `responder worker could not be set up: ${(e as Error).message}`);
      else if (!t) this.scheduleRestart();
    }
  }

  private setHealth(next: ResponderHealth): void {
    const changed = next.healthy !== this.state.healthy || next.reason !== this.state.reason;
    this.state = next;
    if (changed) this.emit('health', { ...next });
  }

  private noteStats(s: ResponderStats): ResponderStats {
    const out = this.base ? { ...s, counters: addCounters(this.base, s.counters) } : s;
    this.latest = out;
    return out;
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'stats':
        this.emit('stats', this.noteStats(m.stats));
        return;
      case 'interfaceError':
        this.emit('interfaceError', { interface: m.interface, message: m.message, code: m.code });
        return;
      case 'linksChanged':
        this.emit('linksChanged');
        return;
      case 'conflict':
        this.emit('conflict', { address: m.address, mac: m.mac, phase: m.phase });
        return;
      case 'conflictCleared':
        this.emit('conflictCleared', { address: m.address });
        return;
      case 'ready':
      case 'ack':
        return;
    }
  }
}

/**
 * Test-only fault switch for whole-process tests: with IRONLB_TEST_FAULTS set to a file path,
 * SIGUSR2 makes the worker do what that file says (crash, exit or wedge). Returns the remover.
 */
function installFaultSwitch(r: Responder): (() => void) | undefined {
  const file = process.env.IRONLB_TEST_FAULTS;
  if (!file) return undefined;
  const onSignal = () => {
    let fault = '';
    try {
      fault = fs.readFileSync(file, 'utf8').trim();
    } catch {
      // no file: nothing to inject
    }
    if (fault === 'crash' || fault === 'exit' || fault === 'wedge') void r.injectFault(fault).catch(() => undefined);
  };
  process.on('SIGUSR2', onSignal);
  return () => process.off('SIGUSR2', onSignal);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
