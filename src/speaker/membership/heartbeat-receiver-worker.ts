// Worker thread receiving the speaker heartbeats (main-thread side: heartbeat-transport.ts), so
// that no volume of datagrams reaching port 7946 can hold up the speaker's main thread.
//
// Loop: ppoll() on [wake eventfd, UDP sockets]; drain each readable socket with recvmmsg
// batches; run every datagram through HeartbeatAdmission (checks before crypto, per-peer rate
// limit, HMAC); post authentic heartbeats at once, the peers whose datagrams were rate-limited at
// most every `noticeMs`, and cumulative counters every `statsMs`. Then yield to the event loop
// with setImmediate so that messages from the main thread (peers, keys, stop) are handled; the
// main thread writes the eventfd after each message, so none waits for the poll timeout.
//
// It also sends the heartbeats the main thread signed ahead (send-schedule.ts), each when due,
// so that a stall of the main loop no longer silences this speaker (within the signed horizon).
// Received heartbeats carry their arrival time (process.hrtime, the same clock in every thread):
// the main thread may read them late, and a late read is not a late heartbeat.
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'worker_threads';
import { loadNative } from '../../net/native';
import { formatIPv4, formatIPv6 } from '../../protocol/address';
import { ADMISSION_DROPS, HeartbeatAdmission, sourceKey, type AdmissionDrop } from './heartbeat-admission';
import { SendSchedule } from './send-schedule';
import type { FromReceiver, ReceivedHeartbeat, ReceiverInit, ToReceiver } from './heartbeat-transport';

/** Longest stretch in the poll loop before yielding to the event loop. */
const SLICE_MS = 50;
/** Datagrams read from one socket before looking at the others. */
const DRAIN_BUDGET = 4096;
const SLOT = 1024;
const BATCH = 64;

const native = loadNative();
const port = parentPort;
if (!port) throw new Error('heartbeat-receiver-worker must run in a worker thread');
const init = workerData as ReceiverInit;
const admission = new HeartbeatAdmission({ self: init.self, ratePerSecond: init.ratePerSecond, burst: init.burst });
/** The wake eventfd, and the sockets once the main thread has sent them (after peers and keys). */
let pollFds = [init.wakeFd];

const buf = Buffer.alloc(SLOT * BATCH);
const meta = new Int32Array(3 * BATCH);
const addrs = new Uint8Array(16 * BATCH);

const dropped = Object.fromEntries(ADMISSION_DROPS.map((r) => [r, 0])) as Record<AdmissionDrop, number>;
const lastFrom: Partial<Record<AdmissionDrop, string>> = {};
let accepted = 0;
let pending: ReceivedHeartbeat[] = [];
const unverified = new Set<string>();
let lastNotice = 0;
let lastStats = 0;
let stopping = false;
const schedule = new SendSchedule(init.intervalMs / 2);

/** Sends the signed heartbeats now due (errors are missed heartbeats, as on the main thread). */
function sendDue(now: number): void {
  for (const d of schedule.due(now)) {
    try {
      native.sendUdp(d.fd, d.packet, d.address, init.port);
    } catch {
      // unreachable, link down: a missed heartbeat
    }
  }
}

function post(m: FromReceiver): void {
  port?.postMessage(m);
}

function formatSource(family: number, i: number): string {
  return family === 4 ? formatIPv4(addrs.subarray(16 * i, 16 * i + 4)) : formatIPv6(addrs.subarray(16 * i, 16 * i + 16));
}

function drain(fd: number): void {
  for (let read = 0; read < DRAIN_BUDGET; ) {
    const n = native.recvUdpBatch(fd, buf, SLOT, meta, addrs);
    if (n === 0) return;
    read += n;
    const now = performance.now();
    const at = Number(process.hrtime.bigint()) / 1e6;
    for (let i = 0; i < n; i++) {
      const len = meta[3 * i];
      const family = meta[3 * i + 1];
      const source = sourceKey(addrs, 16 * i, family === 4 ? 4 : 16);
      const r = len < 0 ? ({ ok: false, reason: 'malformed' } as const) : admission.admit(buf.subarray(SLOT * i, SLOT * i + len), source, now);
      if (r.ok) {
        accepted++;
        pending.push({ heartbeat: r.heartbeat, keyId: r.keyId, from: formatSource(family, i), at });
        continue;
      }
      dropped[r.reason]++;
      if (r.reason === 'rate-limited' && r.node) unverified.add(r.node);
      if (lastFrom[r.reason] === undefined || dropped[r.reason] % 1024 === 1) lastFrom[r.reason] = formatSource(family, i);
    }
  }
}

function flush(now: number): void {
  if (pending.length > 0) {
    post({ type: 'heartbeats', list: pending });
    pending = [];
  }
  if (unverified.size > 0 && now - lastNotice >= init.noticeMs) {
    post({ type: 'unverified', nodes: [...unverified] });
    unverified.clear();
    lastNotice = now;
  }
  if (now - lastStats >= init.statsMs) {
    post({ type: 'counters', dropped: { ...dropped }, accepted, lastFrom: { ...lastFrom }, heapBytes: getHeapStatistics().total_heap_size });
    lastStats = now;
  }
}

function loop(): void {
  if (stopping) return;
  const sliceEnd = performance.now() + SLICE_MS;
  for (;;) {
    const now = performance.now();
    sendDue(now);
    const wait = Math.max(0, Math.min(sliceEnd - now, init.statsMs - (now - lastStats), (schedule.nextDue() ?? Infinity) - now));
    let woken = false;
    try {
      for (const fd of native.pollReadable(pollFds, wait)) {
        if (fd === init.wakeFd) {
          native.drainEventFd(fd);
          woken = true;
        } else {
          drain(fd);
        }
      }
    } catch (e) {
      post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
    flush(performance.now());
    if (woken || performance.now() >= sliceEnd) break;
  }
  setImmediate(loop);
}

port.on('message', (m: ToReceiver) => {
  switch (m.type) {
    case 'peers':
      admission.setPeers(m.peers, performance.now());
      break;
    case 'keys':
      admission.setKeys(m.keys.map((k) => ({ id: k.id, secret: Buffer.from(k.secret) })));
      break;
    case 'schedule':
      schedule.replace(m.peers, performance.now());
      sendDue(performance.now());
      break;
    case 'sockets':
      pollFds = [init.wakeFd, ...m.fds];
      break;
    case 'stop':
      stopping = true;
      flush(Infinity);
      setImmediate(() => port.close());
      break;
  }
});

post({ type: 'ready' });
setImmediate(loop);
