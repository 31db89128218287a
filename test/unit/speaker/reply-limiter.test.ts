// The per-source answer limit: a token bucket per MAC. Expected counts are worked out by hand
// from the rule (burst at once, then ratePerSecond, never more than burst banked).
import { ReplyLimiter } from '../../../src/speaker/layer2/reply-limiter';

const mac = (last: number) => Buffer.from([0x02, 0, 0, 0, 0, last]);
function allowed(l: ReplyLimiter, m: Buffer, n: number, now: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (l.allow(m, 0, now)) ok++;
  return ok;
}

describe('ReplyLimiter', () => {
  it('lets a quiet source have its burst at once, then nothing until the bucket refills', () => {
    const l = new ReplyLimiter({ ratePerSecond: 10, burst: 5 });
    expect(allowed(l, mac(1), 8, 0)).toBe(5);
    expect(allowed(l, mac(1), 1, 50)).toBe(0); // 0.5 token
    expect(allowed(l, mac(1), 3, 100)).toBe(1); // 1 token at 100 ms
    expect(allowed(l, mac(1), 3, 350)).toBe(2); // 2.5 tokens more
  });

  it('never banks more than the burst', () => {
    const l = new ReplyLimiter({ ratePerSecond: 10, burst: 5 });
    expect(allowed(l, mac(1), 5, 0)).toBe(5);
    expect(allowed(l, mac(1), 100, 60_000)).toBe(5);
  });

  it('keeps sources apart', () => {
    const l = new ReplyLimiter({ ratePerSecond: 10, burst: 5 }, 4096);
    expect(allowed(l, mac(1), 10, 0)).toBe(5);
    expect(allowed(l, mac(2), 10, 0)).toBe(5);
  });

  it('reads the MAC at an offset (the answer frame\'s destination)', () => {
    const l = new ReplyLimiter({ ratePerSecond: 1, burst: 1 });
    const frame = Buffer.concat([Buffer.alloc(3), mac(7)]);
    expect(l.allow(frame, 3, 0)).toBe(true);
    expect(l.allow(mac(7), 0, 0)).toBe(false);
  });

  it('shares a slot between colliding sources: the table never grows, and a collision only limits more', () => {
    const l = new ReplyLimiter({ ratePerSecond: 10, burst: 5 }, 1);
    expect(allowed(l, mac(1), 3, 0) + allowed(l, mac(2), 3, 0)).toBe(5);
  });

  it('is off with a zero rate, and setLimit starts every source afresh', () => {
    const l = new ReplyLimiter({ ratePerSecond: 0, burst: 0 });
    expect(allowed(l, mac(1), 1000, 0)).toBe(1000);
    l.setLimit({ ratePerSecond: 1, burst: 2 });
    expect(allowed(l, mac(1), 5, 0)).toBe(2);
    l.setLimit({ ratePerSecond: 1, burst: 3 });
    expect(allowed(l, mac(1), 5, 0)).toBe(3);
  });

  it('does not refill when time goes backwards', () => {
    const l = new ReplyLimiter({ ratePerSecond: 10, burst: 2 });
    expect(allowed(l, mac(1), 2, 1000)).toBe(2);
    expect(allowed(l, mac(1), 2, 0)).toBe(0);
  });
});
