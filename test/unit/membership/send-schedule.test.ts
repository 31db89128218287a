// The worker's schedule of heartbeats signed ahead: due times, one packet per peer and pass, the
// half-interval gap, replacement, and the end of the signed horizon (a wedged main thread).
import { SendSchedule } from '../../../src/speaker/membership/send-schedule';

const pk = (n: number): Uint8Array => Uint8Array.of(n);
const peer = (address: string, first: number, offsets: number[]) => ({ address, fd: 7, packets: offsets.map((_, i) => pk(first + i)), offsetsMs: offsets });
const sent = (s: SendSchedule, now: number): Array<[string, number]> => s.due(now).map((d) => [d.address, d.packet[0]]);

describe('SendSchedule', () => {
  it('sends each packet when due, then nothing once the signed horizon is used up', () => {
    const s = new SendSchedule(50);
    s.replace([peer('b', 1, [0, 100, 200, 300])], 1000);
    expect(sent(s, 1000)).toEqual([['b', 1]]);
    expect(s.nextDue()).toBe(1100);
    expect(sent(s, 1099)).toEqual([]);
    expect(sent(s, 1100)).toEqual([['b', 2]]);
    expect(sent(s, 1200)).toEqual([['b', 3]]);
    expect(sent(s, 1300)).toEqual([['b', 4]]);
    // The main thread signed nothing more (stalled past the horizon, or wedged): silence.
    expect(s.nextDue()).toBeUndefined();
    expect(sent(s, 2000)).toEqual([]);
  });

  it('after a stall of the worker sends only the newest due packet', () => {
    const s = new SendSchedule(50);
    s.replace([peer('b', 1, [0, 100, 200, 300])], 0);
    expect(sent(s, 250)).toEqual([['b', 3]]); // 1 and 2 are stale news
    expect(sent(s, 299)).toEqual([]); // 4 is due at 300
    expect(sent(s, 300)).toEqual([['b', 4]]); // 50 ms after the last send: not closer than the minimum
  });

  it('keeps half an interval between two packets to one peer across a replacement', () => {
    const s = new SendSchedule(50);
    s.replace([peer('b', 1, [0, 100, 200]), peer('c', 11, [0, 100, 200])], 0);
    expect(sent(s, 0)).toEqual([['b', 1], ['c', 11]]);
    expect(sent(s, 100)).toEqual([['b', 2], ['c', 12]]);
    // The next tick's schedule arrives at 103: its first packet would follow 3 ms after the last one.
    s.replace([peer('b', 21, [0, 100, 200])], 103);
    expect(sent(s, 103)).toEqual([]); // b's 21 dropped (3 < 50); c is no longer scheduled
    expect(sent(s, 203)).toEqual([['b', 22]]);
    // A replacement 60 ms after the last send goes out at once.
    s.replace([peer('b', 31, [0, 100])], 263);
    expect(sent(s, 263)).toEqual([['b', 31]]);
  });

  it('an empty schedule stops the sends (leaving)', () => {
    const s = new SendSchedule(50);
    s.replace([peer('b', 1, [0, 100, 200])], 0);
    s.replace([], 10);
    expect(sent(s, 500)).toEqual([]);
    expect(s.nextDue()).toBeUndefined();
  });
});
