// The layer-2 responder's logic, as it runs in the worker thread (responder-worker.ts is only its
// entry): owned addresses, answers, gratuitous bursts, counters, and the poll loop, over a
// PacketIo (the addon, or test/support/fake-packet-io.ts) and hooks to the thread around it.
//
// Loop: poll the wake eventfd, the route monitor and the packet sockets with a timeout up to the
// next timer (at most MAX_POLL_WAIT_MS, so the loop beats even when idle), service the readable
// sockets (recv → answerArp/answerNdp → per-source limit → send from a preallocated buffer), and
// return to the caller after SLICE_MS or when woken, so commands get handled. Nothing is logged
// or posted per packet: counters go out every statsIntervalMs.
//
// Its parts: the address table's pure rules (responder-addresses.ts), the frames it sends of its
// own accord and the one send path (responder-frames.ts), the answers (responder-answer-path.ts).
import type { AnswerOwned } from '../../net/answer-thread-types';
import type { PacketIo } from '../../net/packet-io';
import { tryParseIP } from '../../protocol/address';
import { OwnedAddresses } from '../../protocol/l2-responder';
import { AuditListener } from './audit-listener';
import { ConflictGuard } from './conflict-guard';
import { DEFAULT_TIMING, GratuitousSchedule, type ResponderTiming } from './gratuitous-schedule';
import { DEFAULT_REPLY_LIMIT } from './reply-limiter';
import { addressesByFamily, allowedIfindexes, allowedOn, interfaceLimit, solicitedNodeGroups, type AddrState } from './responder-addresses';
import { AnswerPath } from './responder-answer-path';
import { zeroCounters } from './responder-counters';
import { errText, FrameSender } from './responder-frames';
import { MAX_POLL_WAIT_MS, type FromWorker, type OwnedAddress, type ResponderInterfaceConfig, type ResponderStats, type ToWorker } from './responder-messages';
import { PacketSocketSet, type SocketKind } from './socket-set';

/** Longest stretch in the poll loop before returning to the event loop when no command woke us. */
const SLICE_MS = 50;

export interface EngineHooks {
  post(m: FromWorker): void;
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock milliseconds (only for ResponderStats.at). */
  wallNow(): number;
  /** The thread's V8 heap size (committed bytes), reported with the stats. */
  heapBytes?(): number;
  /** Called on every pass of the poll loop. */
  beat?(): void;
  /** True once the main thread gave this worker up: nothing may be sent any more. */
  fenced?(): boolean;
  /** Right after a socket is opened / right before one is closed (see SocketSetEvents). */
  fdOpened?(fd: number): void;
  fdClosing?(fd: number): void;
  /** The table of addresses answered changed (the addon's answer thread answers from a copy). */
  ownedChanged?(owned: AnswerOwned[]): void;
}

export class ResponderEngine {
  private readonly sockets: PacketSocketSet;
  private readonly owned = new OwnedAddresses();
  private addrs = new Map<string, AddrState>();
  /** Addresses no longer wanted but still in conflict: probed until the conflict clears. */
  private watchOnly = new Map<string, AddrState>();
  /** Addresses the conflict guard let us answer since the last flushOwned(). */
  private newlyOwned: string[] = [];
  private readonly guard: ConflictGuard;
  private readonly audits = new AuditListener();
  private timing: ResponderTiming = { ...DEFAULT_TIMING };
  /** Gratuitous frames due per owned address (keyed by its canonical text). */
  private readonly schedule = new GratuitousSchedule<string>(this.timing);
  private readonly counters = zeroCounters();
  private readonly sender: FrameSender;
  private readonly answers: AnswerPath;
  private lastError?: string;
  private nextStats: number;
  private nextDue: number;
  private stopped = false;

  constructor(
    private readonly io: PacketIo,
    private readonly wakeFd: number,
    private readonly hooks: EngineHooks,
  ) {
    this.sockets = new PacketSocketSet(io, wakeFd, {
      interfaceError: (name, message, code) => hooks.post({ type: 'interfaceError', interface: name, message, code }),
      error: (message) => {
        this.lastError = message;
      },
      fdOpened: (fd) => hooks.fdOpened?.(fd),
      fdClosing: (fd) => hooks.fdClosing?.(fd),
    });
    const error = (message: string): void => {
      this.lastError = message;
    };
    this.sender = new FrameSender(io, this.sockets, this.counters, error);
    this.nextStats = hooks.now() + this.timing.statsIntervalMs;
    this.nextDue = this.nextStats;
    this.guard = new ConflictGuard({
      probe: (text) => this.sendProbe(text),
      own: (text) => this.newlyOwned.push(text),
      defend: (text) => {
        const a = this.addrs.get(text);
        if (a) this.sender.gratuitous(a);
      },
      forget: (text) => {
        this.watchOnly.delete(text);
        this.syncArpInterest();
      },
      post: (m) => hooks.post(m),
    });
    this.answers = new AnswerPath({ io, counters: this.counters, guard: this.guard, audits: this.audits, owned: this.owned, sender: this.sender, error });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Applies one command and posts its acknowledgement. */
  command(m: ToWorker): void {
    let stats: ResponderStats | undefined;
    let macs: string[] | undefined;
    try {
      if (m.type === 'configure') this.configure(m.interfaces, m.timing, m.limit);
      else if (m.type === 'setAddresses') this.setAddresses(m.addresses);
      else if (m.type === 'announce') this.announce(m.addresses, this.hooks.now());
      else if (m.type === 'knownMacs') this.guard.setKnownMacs(m.macs);
      else if (m.type === 'auditProbe') this.auditProbe(m.address, m.interfaces);
      else if (m.type === 'auditRead') macs = this.audits.take(m.address);
      else if (m.type === 'stop') this.close();
      else if (m.type === 'fault') throw new Error('faults are handled by the worker entry point');
      if (m.type === 'getStats' || m.type === 'stop') stats = this.snapshot();
    } catch (e) {
      return this.hooks.post({ type: 'ack', id: m.id, error: errText(e) });
    }
    this.hooks.post(stats ? { type: 'ack', id: m.id, stats } : macs ? { type: 'ack', id: m.id, macs } : { type: 'ack', id: m.id });
  }

  /**
   * Polls and answers until a command wakes us or SLICE_MS passed; then the caller yields to its
   * event loop (so the command's message is delivered) and calls again.
   */
  runSlice(): void {
    if (this.stopped) return;
    const sliceEnd = this.hooks.now() + SLICE_MS;
    for (;;) {
      this.hooks.beat?.();
      if (this.hooks.fenced?.()) return;
      let now = this.hooks.now();
      if (now >= this.nextDue) {
        this.runDue(now);
        now = this.hooks.now();
      }
      const wait = Math.max(0, Math.min(this.nextDue - now, sliceEnd - now, MAX_POLL_WAIT_MS));
      let ready: number[] = [];
      try {
        ready = this.io.pollReadable(this.sockets.pollFds, wait);
      } catch (e) {
        this.lastError = errText(e);
      }
      let woken = false;
      for (const fd of ready) {
        if (fd === this.wakeFd) {
          this.io.drainEventFd(fd);
          woken = true;
        } else if (fd === this.sockets.monitorFd) {
          this.readMonitor();
        } else {
          const s = this.sockets.socket(fd);
          if (s) this.answers.service(fd, s.iface, s.kind, this.hooks.now());
        }
      }
      if (woken || this.hooks.now() >= sliceEnd) return;
    }
  }

  // ---- driven by a host instead of runSlice (native-responder-host.ts) ----------------------

  /** Shows a frame the answer thread saw to the conflict guard and the audit listener. */
  inspect(frame: Uint8Array, length: number, kind: SocketKind, now: number): void {
    this.answers.inspect(frame, length, kind, now);
  }

  /** When tick() has something to do next (after commands and inspections too). */
  get nextDueAt(): number {
    this.recomputeDue();
    return this.nextDue;
  }

  /** Runs what is due: probes, gratuitous frames, the stats. */
  tick(now: number): void {
    if (!this.stopped && now >= this.nextDueAt) this.runDue(now);
  }

  /** The route monitor is readable. */
  monitorReadable(): void {
    if (!this.stopped) this.readMonitor();
  }

  /** The packet sockets and the route monitor (a host hands them to another thread). */
  get socketSet(): PacketSocketSet {
    return this.sockets;
  }

  // ---- commands ---------------------------------------------------------------------------

  private configure(list: ResponderInterfaceConfig[], timing: ResponderTiming, limit = DEFAULT_REPLY_LIMIT): void {
    this.timing = { ...timing };
    this.schedule.setTiming(this.timing);
    this.answers.setLimit(limit);
    const opened = this.sockets.configure(list);
    this.guard.setLocalMacs(list.map((i) => i.mac));
    this.rebuildOwned();
    this.syncMemberships();
    // An interface that is new to us (added, back up, or with a new MAC) may face neighbours that
    // learned another node's MAC while it was away: announce what we own on it, as on a gain.
    const comeback = [...this.addrs.values()].filter((a) => opened.some((s) => allowedOn(a, s.cfg.name)));
    const now = this.hooks.now();
    this.announce(comeback.map((a) => a.text), now);
    this.nextStats = Math.min(this.nextStats, now + this.timing.statsIntervalMs);
    this.recomputeDue();
  }

  private setAddresses(list: OwnedAddress[]): void {
    const next = new Map<string, AddrState>();
    const gained: OwnedAddress[] = [];
    const unmuted: string[] = []; // quiet (handover.ts) before, announced again now: a burst
    for (const o of list) {
      if (this.schedule.mute(o.address, o.quiet === true) && this.addrs.has(o.address)) unmuted.push(o.address);
      const ip = tryParseIP(o.address);
      if (!ip) throw new Error(`invalid address ${o.address}`);
      const interfaces = interfaceLimit(o.interfaces);
      const prev = this.addrs.get(o.address) ?? this.watchOnly.get(o.address);
      if (prev) {
        prev.interfaces = interfaces;
        next.set(o.address, prev);
      } else {
        next.set(o.address, { text: o.address, family: ip.family, bytes: ip.bytes, interfaces });
      }
      if (!this.addrs.has(o.address)) gained.push(o);
    }
    for (const [text, a] of this.addrs) {
      if (next.has(text)) continue;
      this.guard.unwant(text);
      if (this.guard.watched(text)) this.watchOnly.set(text, a); // in conflict: probed until it clears
    }
    for (const o of gained) this.watchOnly.delete(o.address);
    this.addrs = next; // lost addresses are gone from here on, with their schedules
    this.schedule.retain((text) => this.addrs.has(text));
    const now = this.hooks.now();
    for (const o of gained) this.guard.want(o.address, o.gain ?? 'none', now);
    this.rebuildOwned();
    this.syncMemberships();
    this.syncArpInterest();
    this.flushOwned(now);
    if (unmuted.length > 0) this.announce(unmuted, now);
    this.recomputeDue(); // probe rounds may have started
  }

  /** Answers and announces the addresses the conflict guard released since the last call. */
  private flushOwned(now: number): void {
    if (this.newlyOwned.length === 0) return;
    const list = this.newlyOwned;
    this.newlyOwned = [];
    this.rebuildOwned();
    this.announce(list, now);
  }

  private sendProbe(text: string): void {
    const a = this.addrs.get(text) ?? this.watchOnly.get(text);
    if (a) this.sender.probe(a);
  }

  /** An announcement audit's probe (audit-judge.ts): answers are collected until auditRead. */
  private auditProbe(text: string, interfaces: string[] | undefined): void {
    const ip = tryParseIP(text);
    if (!ip || !this.audits.begin(text, this.hooks.now())) throw new Error(`audit: invalid address ${JSON.stringify(text)}`);
    this.sender.probe({ family: ip.family, bytes: ip.bytes, interfaces: interfaceLimit(interfaces) });
  }

  /** Starts a burst for each listed owned address (default: all): the first frame goes out now,
   * before the command that asked for it is acknowledged. */
  private announce(list: string[] | undefined, now: number): void {
    for (const text of list ?? this.addrs.keys()) if (this.addrs.has(text) && this.guard.isOwned(text)) this.schedule.burst(text, now);
    this.runDue(now);
  }

  /** Stops answering and closes every socket. */
  close(): void {
    this.stopped = true;
    this.sockets.closeAll();
    this.addrs.clear();
    this.watchOnly.clear();
    this.schedule.clear();
    this.owned.clear();
  }

  // ---- ownership --------------------------------------------------------------------------

  /** The table answered: this thread's (runSlice), or the answer thread's copy (ownedChanged), not both. */
  private rebuildOwned(): void {
    this.owned.clear();
    const copy: AnswerOwned[] | undefined = this.hooks.ownedChanged ? [] : undefined;
    for (const a of this.addrs.values()) {
      if (!this.guard.isOwned(a.text)) continue; // probing, or in conflict: not answered
      const allowed = allowedIfindexes(a, (name) => this.sockets.get(name)?.cfg.ifindex);
      if (copy) copy.push({ ip: a.bytes, ifindexes: allowed ? [...allowed] : null });
      else if (a.family === 4) this.owned.setV4(a.bytes, allowed);
      else this.owned.setV6(a.bytes, allowed);
    }
    if (copy) this.hooks.ownedChanged?.(copy);
  }

  /** ARP requests and NSs reach us only for the addresses we answer, probe or watch (socket-set.ts):
   * the sockets' kernel filters follow the table (one pass for both families). */
  private syncArpInterest(): void {
    const { v4, v6 } = addressesByFamily(this.addrs, this.watchOnly);
    this.sockets.setArpInterest(v4);
    this.sockets.setNdpInterest(v6);
  }

  private syncMemberships(): void {
    this.sockets.syncMemberships((s) => solicitedNodeGroups(this.addrs.values(), s.cfg.name));
  }

  // ---- timers -----------------------------------------------------------------------------

  private recomputeDue(): void {
    this.nextDue = Math.min(this.nextStats, this.schedule.nextDueAt(), this.guard.nextDueAt());
  }

  private runDue(now: number): void {
    this.guard.due(now);
    this.flushOwned(now);
    for (const text of this.schedule.takeDue(now)) {
      const a = this.addrs.get(text);
      if (a) this.sender.gratuitous(a);
    }
    if (this.nextStats <= now) {
      this.hooks.post({ type: 'stats', stats: this.snapshot() });
      this.nextStats = now + this.timing.statsIntervalMs;
    }
    this.recomputeDue();
  }

  // ---- route monitor ----------------------------------------------------------------------

  private readMonitor(): void {
    const n = this.sockets.readMonitor();
    if (n === 0) return;
    this.counters.linkEvents += n < 0 ? 1 : n;
    this.hooks.post({ type: 'linksChanged' });
  }

  // ---- stats ------------------------------------------------------------------------------

  snapshot(): ResponderStats {
    this.counters.socketDrops += this.sockets.takeSocketDrops();
    let v4 = 0;
    for (const a of this.addrs.values()) if (a.family === 4) v4++;
    return {
      at: this.hooks.wallNow(),
      counters: structuredClone(this.counters),
      interfaces: this.sockets.status(),
      ownedV4: v4,
      ownedV6: this.addrs.size - v4,
      announcing: this.schedule.announcing(this.hooks.now()),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.hooks.heapBytes ? { heapBytes: this.hooks.heapBytes() } : {}),
    };
  }
}
