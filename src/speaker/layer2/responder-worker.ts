// Worker-thread entry of the layer-2 responder: wires a ResponderEngine (responder-engine.ts) to
// the addon, the message port and the shared liveness slots, and runs its poll loop, yielding to
// the event loop between slices so that commands from the main thread are handled. The main
// thread (responder.ts) writes the wake eventfd after each command, so a command never waits for
// the poll timeout.
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'worker_threads';
import { loadNative } from '../../net/native';
import { nativePacketIo } from '../../net/packet-io';
import { HeapTrim } from './heap-trim';
import { ResponderEngine } from './responder-engine';
import { FD_TABLE_SLOTS, Liveness, type FromWorker, type ResponderFault, type ToWorker, type WorkerInit } from './responder-messages';

const port = parentPort;
if (!port) throw new Error('responder-worker must run in a worker thread');
const init = workerData as WorkerInit;
const live = new Int32Array(init.liveness);
const fdTable = new Int32Array(init.fdTable);

const post = (m: FromWorker): void => port.postMessage(m);
const fenced = (): boolean => Atomics.load(live, Liveness.fenced) !== 0;

/** The shared fd table lists the fds we hold (recorded after open, removed before close), so
 * that the main thread can close them should this thread die without doing so. */
function replaceFd(from: number, to: number): void {
  for (let i = 0; i < FD_TABLE_SLOTS; i++) {
    if (Atomics.load(fdTable, i) === from) {
      Atomics.store(fdTable, i, to);
      return;
    }
  }
  // Table full (over 500 interfaces): such an fd leaks only if this thread dies.
}

const engine = new ResponderEngine(nativePacketIo(), init.wakeFd, {
  post,
  now: () => performance.now(),
  wallNow: () => Date.now(),
  heapBytes: () => getHeapStatistics().total_heap_size,
  beat: () => Atomics.add(live, Liveness.beats, 1),
  fenced,
  fdOpened: (fd) => replaceFd(-1, fd),
  fdClosing: (fd) => replaceFd(fd, -1),
});

/** Test-only (WorkerInit.testFaults): what a bug in this thread could do. */
function injectFault(fault: ResponderFault): void {
  switch (fault) {
    case 'crash':
      setImmediate(() => {
        throw new Error('injected fault: responder worker crash');
      });
      return;
    case 'exit':
      setImmediate(() => process.exit(70));
      return;
    case 'wedge':
      // Spins without returning to the poll loop (no beats) until the main thread terminates us.
      setImmediate(() => {
        for (;;) {
          // wedged
        }
      });
      return;
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'fault') {
    if (!init.testFaults) return post({ type: 'ack', id: m.id, error: 'fault injection is off' });
    post({ type: 'ack', id: m.id });
    return injectFault(m.fault);
  }
  engine.command(m);
  if (m.type === 'stop') setImmediate(() => port.close());
});

/** How often the heap is looked at for a trim (heap-trim.ts). */
const TRIM_CHECK_MS = 1000;
const trim = new HeapTrim();
let nextTrimCheck = 0;

function maybeTrimHeap(): void {
  const now = performance.now();
  if (now < nextTrimCheck) return;
  nextTrimCheck = now + TRIM_CHECK_MS;
  if (!trim.due(now, getHeapStatistics().total_heap_size)) return;
  loadNative().lowMemoryNotification();
  trim.trimmed(performance.now(), getHeapStatistics().total_heap_size);
}

function loop(): void {
  if (engine.isStopped) return;
  if (fenced()) {
    // Given up by the main thread (which has started another worker): never answer again.
    engine.close();
    port!.close();
    return;
  }
  engine.runSlice();
  maybeTrimHeap();
  setImmediate(loop);
}

post({ type: 'ready' });
setImmediate(loop);
