// The responder worker's heap trim rule, by hand from its comment: collect once the heap grew
// 3 MiB since the last trim (or the start) and then stopped growing between two looks, at most
// every 10 s; V8 shrinking the heap by itself moves the baseline down.
import { HeapTrim } from '../../../src/speaker/layer2/heap-trim';

const MiB = 1 << 20;

describe('HeapTrim', () => {
  it('waits for the growth to stop, then collects; not again before 10 s and 3 MiB more', () => {
    const t = new HeapTrim();
    expect(t.due(0, 6 * MiB)).toBe(false); // baseline
    expect(t.due(1000, 8.9 * MiB)).toBe(false);
    expect(t.due(2000, 9.5 * MiB)).toBe(false); // 3.5 MiB up, but still growing
    expect(t.due(3000, 11 * MiB)).toBe(false);
    expect(t.due(4000, 11 * MiB)).toBe(true); // grown and settled
    t.trimmed(4000, 5.5 * MiB);
    expect(t.due(5000, 9 * MiB)).toBe(false);
    expect(t.due(6000, 9 * MiB)).toBe(false); // settled 3.5 MiB up, but 2 s after the last trim
    expect(t.due(13_999, 9 * MiB)).toBe(false);
    expect(t.due(14_000, 9 * MiB)).toBe(true);
    expect(t.due(15_000, 8 * MiB)).toBe(false); // 2.5 MiB above the baseline
  });

  it('measures growth from where V8 shrank the heap by itself', () => {
    const t = new HeapTrim();
    t.due(0, 10 * MiB);
    expect(t.due(1000, 6 * MiB)).toBe(false); // shrank: new baseline 6
    expect(t.due(2000, 8.5 * MiB)).toBe(false);
    expect(t.due(3000, 9 * MiB)).toBe(false); // still growing
    expect(t.due(4000, 9 * MiB)).toBe(true);
  });

  it('never collects a heap that does not grow', () => {
    const t = new HeapTrim();
    for (let s = 0; s < 600; s++) expect(t.due(s * 1000, 6 * MiB + (s % 5) * 0.2 * MiB)).toBe(false);
  });
});
