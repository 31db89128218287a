// Log lines reach stdout without ever blocking the event loop.
//
// On Linux, process.stdout writes a pipe synchronously (a container runtime's log pipe, a test
// harness): when the reader falls behind, every log call blocks the main thread, and the
// controller's status writes, or the speaker's heartbeats and ARP answers, wait with it. Measured
// in bench:controller with its reader under load: 0.8 s of a 10.7 s, 800-Service burst was spent
// blocked in log writes. Here lines are queued and written by libuv's thread pool (fs.write), one
// batch at a time, in order. A reader that is stuck costs at most `maxPendingBytes`; lines beyond
// that are dropped and counted, and the next line that gets through says how many.
import * as fs from 'node:fs';

/** A write in flight longer than this is taken as stuck: exit does not wait for the pipe. */
const STUCK_MS = 1000;
const RETRY_MS = 20;
/** How long the first line of a batch may wait for more. */
const FLUSH_MS = 10;

export class LineWriter {
  private queue: string[] = [];
  private queuedBytes = 0;
  private inFlightSince: number | undefined;
  /** A pump is due within FLUSH_MS. */
  private scheduled = false;
  private droppedSinceLast = 0;
  /** Lines dropped because the reader was too far behind, since start. */
  dropped = 0;

  constructor(
    private readonly fd: number,
    private readonly maxPendingBytes = 4 << 20,
  ) {}

  /** Queues one line (without its newline). Never blocks. */
  write(line: string): void {
    if (this.queuedBytes + line.length > this.maxPendingBytes) {
      this.dropped++;
      this.droppedSinceLast++;
      return;
    }
    if (this.droppedSinceLast > 0) {
      this.push(JSON.stringify({ ts: new Date().toISOString(), level: 'warn', msg: 'log lines dropped: the log reader fell behind', dropped: this.droppedSinceLast }));
      this.droppedSinceLast = 0;
    }
    this.push(line);
    // The first line waits up to FLUSH_MS, so that the lines of a burst go out in few writes: a
    // burst of 10,000 status writes logs 10,000 lines, and one thread-pool write per line (each
    // waking a pool thread on cores the API server needs) took 580 ms of the ~10.3 s the
    // controller spent on CPU in bench:controller at 10,000 (169 ms batched). A line is never
    // later than that; exit flushes synchronously.
    if (this.inFlightSince === undefined && !this.scheduled) {
      this.scheduled = true;
      setTimeout(() => {
        this.scheduled = false;
        if (this.inFlightSince === undefined) this.pump();
      }, FLUSH_MS).unref();
    }
  }

  /** Bytes queued, not yet handed to the thread pool. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Nothing queued and no write in flight. */
  get idle(): boolean {
    return this.queue.length === 0 && this.inFlightSince === undefined;
  }

  /**
   * Writes what is queued synchronously, for process exit; skipped when a write has been stuck in
   * the thread pool (the reader is gone or frozen), so that exit never hangs on the pipe.
   */
  flushSync(): void {
    if (this.inFlightSince !== undefined && performance.now() - this.inFlightSince > STUCK_MS) return;
    const rest = this.take();
    try {
      if (rest.length > 0) fs.writeSync(this.fd, rest);
    } catch {
      // Nothing left to tell it to.
    }
  }

  private push(line: string): void {
    this.queue.push(line);
    this.queuedBytes += line.length + 1;
  }

  private take(): Buffer {
    const text = this.queue.length > 0 ? this.queue.join('\n') + '\n' : '';
    this.queue = [];
    this.queuedBytes = 0;
    return Buffer.from(text, 'utf8');
  }

  private pump(): void {
    if (this.queue.length === 0) return;
    this.inFlightSince = performance.now();
    this.send(this.take(), 0);
  }

  private send(buf: Buffer, offset: number): void {
    fs.write(this.fd, buf, offset, buf.length - offset, null, (err, written) => {
      if (err) {
        // EAGAIN: a non-blocking descriptor is full; try again shortly. Anything else: the reader
        // is gone, and what was queued is lost (as with process.stdout).
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(() => this.send(buf, offset), RETRY_MS).unref();
          return;
        }
      } else if (offset + written < buf.length) {
        this.send(buf, offset + written);
        return;
      }
      this.inFlightSince = undefined;
      this.pump();
    });
  }
}

let stdoutWriter: LineWriter | undefined;

/** The daemons' log sink: one LineWriter on fd 1, flushed when the process exits. */
export function stdoutLines(): (line: string) => void {
  if (!stdoutWriter) {
    const w = new LineWriter(1);
    process.once('exit', () => w.flushSync());
    stdoutWriter = w;
  }
  const w = stdoutWriter;
  return (line) => w.write(line);
}
