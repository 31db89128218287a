// LineWriter on a real FIFO whose reader stops reading: logging never blocks the caller, the
// queue stays bounded, and once the reader reads again every kept line arrives, in order, with a
// line saying how many were dropped. (process.stdout on a pipe would block in write() instead.)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LineWriter } from '../../src/util/line-writer';

describe('LineWriter', () => {
  let dir = '';
  let reader = -1;
  let writer = -1;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ironlb-lines-'));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // The reader first (non-blocking open), so that opening the write end does not wait.
    reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    writer = fs.openSync(fifo, fs.constants.O_WRONLY);
  });

  afterEach(() => {
    fs.closeSync(writer);
    fs.closeSync(reader);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Reads what the pipe holds now (the reader end is non-blocking). */
  function drainPipe(): string {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      try {
        const n = fs.readSync(reader, buf, 0, buf.length, null);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  it('never blocks on a reader that stopped, stays bounded, and delivers the kept lines in order', async () => {
    const maxPending = 256 * 1024;
    const lines = new LineWriter(writer, maxPending);
    const line = (i: number): string => JSON.stringify({ i, pad: 'x'.repeat(90) });
    // 20,000 lines of ~100 bytes = ~2 MB: far more than a pipe (64 KiB) plus the queue can hold.
    // Were write() blocking, this loop would never end (the test would time out).
    for (let i = 0; i < 20_000; i++) lines.write(line(i));
    expect(lines.pendingBytes).toBeLessThanOrEqual(maxPending);
    expect(lines.dropped).toBeGreaterThan(10_000);

    // The reader reads again: everything not dropped arrives.
    let text = '';
    for (let round = 0; round < 2000 && !lines.idle; round++) {
      text += drainPipe();
      await new Promise((r) => setTimeout(r, 5));
    }
    text += drainPipe();
    const got = text.trim().split('\n').map((l) => JSON.parse(l) as { i?: number });
    const numbers = got.map((g) => g.i).filter((i): i is number => i !== undefined);
    expect(numbers.length + lines.dropped).toBe(20_000);
    // In order, from the first, with no gaps: dropping happens only at the tail of a full queue.
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, k) => k));

    // The next line after the drops says how many.
    lines.write(line(20_000));
    let after = '';
    for (let round = 0; round < 200 && !after.includes('"i":20000'); round++) {
      after += drainPipe();
      await new Promise((r) => setTimeout(r, 5));
    }
    const [notice, last] = after.trim().split('\n').map((l) => JSON.parse(l) as { msg?: string; dropped?: number; i?: number });
    expect(notice.msg).toMatch(/dropped/);
    expect(notice.dropped).toBe(lines.dropped);
    expect(last.i).toBe(20_000);
  });

  it('flushSync writes what is queued, for process exit', async () => {
    const lines = new LineWriter(writer);
    lines.write('a');
    lines.write('b'); // queued behind the first, which is in the thread pool
    lines.flushSync();
    // Whatever order the pool and the sync write took, both lines are in the pipe once the pool ends.
    let text = drainPipe();
    for (let round = 0; round < 1000 && text.split('\n').filter((l) => l !== '').length < 2; round++) {
      await new Promise((r) => setTimeout(r, 5));
      text += drainPipe();
    }
    expect(text.split('\n').filter((l) => l !== '').sort()).toEqual(['a', 'b']);
  });

  it('sends the lines of a burst in one write, at most 10 ms after the first', () => {
    jest.useFakeTimers();
    const calls: string[] = [];
    // The module object itself (the import above is a read-only namespace of it).
    const spy = jest.spyOn(jest.requireActual<typeof fs>('node:fs'), 'write').mockImplementation(((fd: number, buf: Buffer, off: number, len: number, _pos: null, cb: (e: Error | null, n: number) => void) => {
      calls.push(buf.subarray(off, off + len).toString('utf8'));
      cb(null, len);
    }) as unknown as typeof fs.write);
    try {
      const lines = new LineWriter(writer);
      lines.write('a');
      lines.write('b');
      lines.write('c');
      jest.advanceTimersByTime(9);
      expect(calls).toEqual([]); // still gathering
      jest.advanceTimersByTime(1);
      expect(calls).toEqual(['a\nb\nc\n']);
      expect(lines.idle).toBe(true);
      lines.write('d');
      jest.advanceTimersByTime(10);
      expect(calls).toEqual(['a\nb\nc\n', 'd\n']);
    } finally {
      spy.mockRestore();
      jest.useRealTimers();
    }
  });
});
