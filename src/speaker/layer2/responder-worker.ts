// Worker thread of the layer-2 responder (see responder.ts for the main-thread side).
//
// Loop: ppoll() on [wake eventfd, packet sockets] with a timeout up to the next timer, service the
// readable sockets (recv -> answerArp/answerNdp -> send from a preallocated buffer), then yield to
// the event loop with setImmediate so commands from the main thread are handled. The main thread
// writes the eventfd after each command, so a command never waits for the poll timeout.
// Nothing is logged per packet and nothing is posted per packet: counters go out every
// statsIntervalMs.
import { parentPort, workerData } from 'worker_threads';
import { arpRequestFilter, neighborSolicitationFilter } from '../../net/bpf';
import { ETH_P_ARP, ETH_P_IPV6, isNativeError, loadNative, PacketType } from '../../net/native';
import { formatMac, parseMac, tryParseIP } from '../../protocol/address';
import { buildGratuitousArp } from '../../protocol/arp';
import { BufferWriter } from '../../protocol/buffer-writer';
import { answerArp, answerNdp, L2_DROP_REASONS, OwnedAddresses } from '../../protocol/l2-responder';
import type { L2DropReason, ResponderInterfaceView } from '../../protocol/l2-responder';
import { buildUnsolicitedNeighborAdvertisement, solicitedNodeMac } from '../../protocol/ndp';
import { GratuitousSchedule } from './gratuitous-schedule';
import type {
  FromWorker,
  OwnedAddress,
  ResponderCounters,
  ResponderInterfaceConfig,
  ResponderStats,
  ResponderTiming,
  ToWorker,
  WorkerInit,
} from './responder';
import { DEFAULT_TIMING } from './gratuitous-schedule';

/** Upper bound on one poll() so the loop notices anything the eventfd missed. */
const MAX_WAIT_MS = 500;
/** Frames read from one socket before giving the others (and commands) a turn. */
const RECV_BUDGET = 256;
/** Longest stretch spent in the poll loop before yielding to the event loop when no command woke us. */
const SLICE_MS = 50;
/** Receive queue per socket: absorbs bursts while this thread is descheduled (~1300 small frames). */
const RCVBUF_BYTES = 1 << 20;

const native = loadNative();
const port = parentPort;
if (!port) throw new Error('responder-worker must run in a worker thread');
const { wakeFd } = workerData as WorkerInit;

interface IfState {
  cfg: ResponderInterfaceConfig;
  view: ResponderInterfaceView;
  arpFd: number;
  ndpFd: number;
  /** Joined solicited-node MACs (hex). */
  joined: Set<string>;
  error?: string;
}

interface AddrState {
  text: string;
  family: 4 | 6;
  bytes: Buffer;
  interfaces: string[] | null;
}

const ifaces = new Map<string, IfState>();
const fdInfo = new Map<number, { iface: IfState; kind: 'arp' | 'ndp' }>();
const owned = new OwnedAddresses();
let addrs = new Map<string, AddrState>();
let timing: ResponderTiming = { ...DEFAULT_TIMING };
/** Gratuitous frames due per owned address (keyed by its canonical text). */
const schedule = new GratuitousSchedule<string>(timing);
let stopping = false;
let lastError: string | undefined;
/** Link/address notifications: the main thread rescans interfaces at once instead of on its next
 * periodic scan (a NIC that comes back must answer again within moments, not seconds). */
const monitorFd = openMonitor();
let pollFds: number[] = basePollFds();

const counters: ResponderCounters = {
  requests: { arp: 0, ndp: 0 },
  replies: { arp: 0, ndp: 0 },
  gratuitous: { arp: 0, ndp: 0 },
  drops: Object.fromEntries(L2_DROP_REASONS.map((r) => [r, 0])) as Record<L2DropReason, number>,
  sendFailures: 0,
  recvErrors: 0,
  socketDrops: 0,
  linkEvents: 0,
};

// Preallocated buffers: one receive buffer, one ARP reply, one NA writer.
const rx = Buffer.alloc(4096);
const meta = new Int32Array(3);
const arpOut = Buffer.alloc(64);
const ndpOut = new BufferWriter(Buffer.alloc(256));

let nextStats = performance.now() + timing.statsIntervalMs;
let nextDue = nextStats;

function post(m: FromWorker): void {
  port!.postMessage(m);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- sockets -------------------------------------------------------------------------------

function openMonitor(): number {
  try {
    return native.openRouteMonitor();
  } catch (e) {
    lastError = `route monitor: ${errText(e)} (interfaces are rescanned periodically only)`;
    return -1;
  }
}

function basePollFds(): number[] {
  return monitorFd >= 0 ? [wakeFd, monitorFd] : [wakeFd];
}

function readMonitor(): void {
  let n: number;
  try {
    n = native.drainRouteMonitor(monitorFd);
  } catch (e) {
    lastError = `route monitor: ${errText(e)}`;
    n = -1;
  }
  if (n === 0) return;
  counters.linkEvents += n < 0 ? 1 : n;
  post({ type: 'linksChanged' });
}

function closeFd(fd: number): void {
  if (fd < 0) return;
  fdInfo.delete(fd);
  try {
    native.close(fd);
  } catch {
    // already closed
  }
}

function closeIface(s: IfState): void {
  closeFd(s.arpFd);
  closeFd(s.ndpFd);
  s.arpFd = -1;
  s.ndpFd = -1;
  s.joined.clear();
}

function openIface(cfg: ResponderInterfaceConfig): IfState {
  const s: IfState = {
    cfg,
    view: { ifindex: cfg.ifindex, mac: parseMac(cfg.mac) },
    arpFd: -1,
    ndpFd: -1,
    joined: new Set(),
  };
  const open = (kind: 'arp' | 'ndp') => {
    try {
      const fd =
        kind === 'arp'
          ? native.openPacketSocket(cfg.ifindex, ETH_P_ARP, arpRequestFilter())
          : native.openPacketSocket(cfg.ifindex, ETH_P_IPV6, neighborSolicitationFilter());
      fdInfo.set(fd, { iface: s, kind });
      try {
        native.setRecvBuffer(fd, RCVBUF_BYTES);
      } catch (e) {
        lastError = `${cfg.name}: ${errText(e)}`;
      }
      return fd;
    } catch (e) {
      s.error = `${kind}: ${errText(e)}`;
      lastError = `${cfg.name}: ${s.error}`;
      post({ type: 'interfaceError', interface: cfg.name, message: s.error, code: isNativeError(e) ? e.code : undefined });
      return -1;
    }
  };
  if (cfg.arp !== false) s.arpFd = open('arp');
  if (cfg.ndp !== false) s.ndpFd = open('ndp');
  return s;
}

function sameConfig(a: ResponderInterfaceConfig, b: ResponderInterfaceConfig): boolean {
  return a.ifindex === b.ifindex && a.mac === b.mac && a.arp !== false === (b.arp !== false) && a.ndp !== false === (b.ndp !== false);
}

function configure(list: ResponderInterfaceConfig[], t: ResponderTiming): void {
  timing = { ...t };
  schedule.setTiming(timing);
  const wanted = new Map(list.map((c) => [c.name, c]));
  for (const [name, s] of ifaces) {
    const c = wanted.get(name);
    if (!c || !sameConfig(c, s.cfg)) {
      closeIface(s);
      ifaces.delete(name);
    }
  }
  const opened: IfState[] = [];
  for (const c of list) {
    if (ifaces.has(c.name)) continue;
    const s = openIface(c);
    ifaces.set(c.name, s);
    opened.push(s);
  }
  pollFds = [...basePollFds(), ...fdInfo.keys()];
  rebuildOwned();
  syncMemberships();
  // An interface that is new to us (added, back up, or with a new MAC) may face neighbours that
  // learned another node's MAC while it was away: announce what we own on it, as on a gain.
  const now = performance.now();
  const comeback = [...addrs.values()].filter((a) => opened.some((s) => allowedOn(a, s)));
  announce(comeback.map((a) => a.text), now);
  nextStats = Math.min(nextStats, performance.now() + timing.statsIntervalMs);
  recomputeDue();
}

// ---- ownership -------------------------------------------------------------------------------

function allowedIfindexes(a: AddrState): Set<number> | null {
  if (!a.interfaces) return null;
  const set = new Set<number>();
  for (const name of a.interfaces) {
    const s = ifaces.get(name);
    if (s) set.add(s.cfg.ifindex);
  }
  return set;
}

function rebuildOwned(): void {
  owned.clear();
  for (const a of addrs.values()) {
    if (a.family === 4) owned.setV4(a.bytes, allowedIfindexes(a));
    else owned.setV6(a.bytes, allowedIfindexes(a));
  }
}

function allowedOn(a: AddrState, s: IfState): boolean {
  return a.interfaces === null || a.interfaces.includes(s.cfg.name);
}

function syncMemberships(): void {
  for (const s of ifaces.values()) {
    if (s.ndpFd < 0) continue;
    const want = new Map<string, Buffer>();
    for (const a of addrs.values()) {
      if (a.family === 6 && allowedOn(a, s)) {
        const mac = solicitedNodeMac(a.bytes);
        want.set(mac.toString('hex'), mac);
      }
    }
    for (const hex of [...s.joined]) {
      if (want.has(hex)) continue;
      try {
        native.dropMembership(s.ndpFd, s.cfg.ifindex, Buffer.from(hex, 'hex'));
      } catch (e) {
        lastError = `${s.cfg.name}: ${errText(e)}`;
      }
      s.joined.delete(hex);
    }
    for (const [hex, mac] of want) {
      if (s.joined.has(hex)) continue;
      try {
        native.addMembership(s.ndpFd, s.cfg.ifindex, mac);
        s.joined.add(hex);
      } catch (e) {
        lastError = `${s.cfg.name}: join ${formatMac(mac)}: ${errText(e)}`;
      }
    }
  }
}

function setAddresses(list: OwnedAddress[]): void {
  const next = new Map<string, AddrState>();
  const gained: string[] = [];
  for (const o of list) {
    const ip = tryParseIP(o.address);
    if (!ip) throw new Error(`invalid address ${o.address}`);
    const interfaces = o.interfaces && o.interfaces.length > 0 ? [...o.interfaces] : null;
    const prev = addrs.get(o.address);
    if (prev) {
      prev.interfaces = interfaces;
      next.set(o.address, prev);
    } else {
      next.set(o.address, { text: o.address, family: ip.family, bytes: ip.bytes, interfaces });
      gained.push(o.address);
    }
  }
  addrs = next; // lost addresses are gone from here on, with their schedules
  schedule.retain((text) => addrs.has(text));
  rebuildOwned();
  syncMemberships();
  announce(gained, performance.now());
}

// ---- gratuitous announcements ------------------------------------------------------------------

function sendFrame(fd: number, frame: Buffer): boolean {
  try {
    if (native.send(fd, frame, frame.length) === frame.length) return true;
  } catch (e) {
    lastError = errText(e);
  }
  counters.sendFailures++;
  return false;
}

function sendGratuitous(a: AddrState): void {
  for (const s of ifaces.values()) {
    if (!allowedOn(a, s)) continue;
    if (a.family === 4 && s.arpFd >= 0) {
      for (const f of buildGratuitousArp(s.view.mac, a.bytes)) if (sendFrame(s.arpFd, f)) counters.gratuitous.arp++;
    } else if (a.family === 6 && s.ndpFd >= 0) {
      const na = buildUnsolicitedNeighborAdvertisement(s.view.mac, a.bytes, a.bytes);
      if (sendFrame(s.ndpFd, na)) counters.gratuitous.ndp++;
    }
  }
}

/** Starts a burst for each listed owned address (default: all): the first frame goes out now,
 * before the command that asked for it is acknowledged. */
function announce(list: string[] | undefined, now: number): void {
  for (const text of list ?? addrs.keys()) if (addrs.has(text)) schedule.burst(text, now);
  runDue(now);
}

function recomputeDue(): void {
  nextDue = Math.min(nextStats, schedule.nextDueAt());
}

function runDue(now: number): void {
  for (const text of schedule.takeDue(now)) {
    const a = addrs.get(text);
    if (a) sendGratuitous(a);
  }
  if (nextStats <= now) {
    post({ type: 'stats', stats: snapshot() });
    nextStats = now + timing.statsIntervalMs;
  }
  recomputeDue();
}

// ---- stats -------------------------------------------------------------------------------

function snapshot(): ResponderStats {
  for (const fd of fdInfo.keys()) {
    try {
      counters.socketDrops += native.packetStats(fd).drops;
    } catch {
      // socket gone
    }
  }
  let v4 = 0;
  for (const a of addrs.values()) if (a.family === 4) v4++;
  return {
    at: Date.now(),
    counters: structuredClone(counters),
    interfaces: [...ifaces.values()].map((s) => ({
      name: s.cfg.name,
      ifindex: s.cfg.ifindex,
      arp: s.arpFd >= 0,
      ndp: s.ndpFd >= 0,
      multicastGroups: s.joined.size,
      ...(s.error ? { error: s.error } : {}),
    })),
    ownedV4: v4,
    ownedV6: addrs.size - v4,
    announcing: schedule.announcing(performance.now()),
    ...(lastError ? { lastError } : {}),
  };
}

// ---- packet path -------------------------------------------------------------------------------

function service(fd: number, s: IfState, kind: 'arp' | 'ndp'): void {
  const view = s.view;
  for (let i = 0; i < RECV_BUDGET; i++) {
    let n: number;
    try {
      n = native.recv(fd, rx, meta);
    } catch (e) {
      // ENETDOWN after the link went down, and the like: the socket stays usable.
      counters.recvErrors++;
      lastError = `${s.cfg.name}: ${errText(e)}`;
      return;
    }
    if (n < 0) return;
    if (kind === 'arp') counters.requests.arp++;
    else counters.requests.ndp++;
    if (meta[0] === PacketType.Outgoing) {
      counters.drops.ownPacket++;
      continue;
    }
    if (kind === 'arp') {
      const r = answerArp(rx, n, view, owned, arpOut);
      if (typeof r === 'number') {
        if (sendReply(fd, arpOut, r)) counters.replies.arp++;
      } else counters.drops[r]++;
    } else {
      let r: number | L2DropReason;
      try {
        r = answerNdp(rx, n, view, owned, ndpOut);
      } catch {
        r = 'malformed'; // e.g. options too large for the reply buffer: never let a frame kill us
      }
      if (typeof r === 'number') {
        if (sendReply(fd, ndpOut.view(0, r), r)) counters.replies.ndp++;
      } else counters.drops[r]++;
    }
  }
}

function sendReply(fd: number, buf: Buffer, len: number): boolean {
  try {
    if (native.send(fd, buf, len) === len) return true;
  } catch (e) {
    lastError = errText(e);
  }
  counters.sendFailures++;
  return false;
}

function loop(): void {
  if (stopping) return;
  // Stay in the poll loop (no event-loop round trip per packet) until the main thread signals a
  // command on the eventfd or SLICE_MS passed; then yield so the message handlers run.
  const sliceEnd = performance.now() + SLICE_MS;
  for (;;) {
    let now = performance.now();
    if (now >= nextDue) {
      runDue(now);
      now = performance.now();
    }
    const wait = Math.max(0, Math.min(nextDue - now, sliceEnd - now, MAX_WAIT_MS));
    let ready: number[] = [];
    try {
      ready = native.pollReadable(pollFds, wait);
    } catch (e) {
      lastError = errText(e);
    }
    let woken = false;
    for (const fd of ready) {
      if (fd === wakeFd) {
        native.drainEventFd(wakeFd);
        woken = true;
        continue;
      }
      if (fd === monitorFd) {
        readMonitor();
        continue;
      }
      const info = fdInfo.get(fd);
      if (info) service(fd, info.iface, info.kind);
    }
    if (woken || performance.now() >= sliceEnd) break;
  }
  setImmediate(loop);
}

// ---- commands -------------------------------------------------------------------------------

function stop(): void {
  stopping = true;
  for (const s of ifaces.values()) closeIface(s);
  ifaces.clear();
  closeFd(monitorFd);
  addrs.clear();
  schedule.clear();
  owned.clear();
}

port.on('message', (m: ToWorker) => {
  try {
    switch (m.type) {
      case 'configure':
        configure(m.interfaces, m.timing);
        post({ type: 'ack', id: m.id });
        return;
      case 'setAddresses':
        setAddresses(m.addresses);
        post({ type: 'ack', id: m.id });
        return;
      case 'announce':
        announce(m.addresses, performance.now());
        post({ type: 'ack', id: m.id });
        return;
      case 'getStats':
        post({ type: 'ack', id: m.id, stats: snapshot() });
        return;
      case 'stop':
        stop();
        post({ type: 'ack', id: m.id, stats: snapshot() });
        setImmediate(() => port.close());
        return;
    }
  } catch (e) {
    post({ type: 'ack', id: (m as { id: number }).id, error: errText(e) });
  }
});

post({ type: 'ready' });
setImmediate(loop);
