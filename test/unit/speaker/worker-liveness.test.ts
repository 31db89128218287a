// The worker liveness judgement: the beat counter must move within the timeout of the main
// thread's own clock. Sample times and verdicts written out by hand.
import { DEFAULT_LIVENESS_TIMEOUT_MS, WorkerLiveness } from '../../../src/speaker/layer2/worker-liveness';

describe('WorkerLiveness', () => {
  it('is stuck once the counter stood still for longer than the timeout', () => {
    const w = new WorkerLiveness(500);
    w.reset(0);
    expect(w.observe(1, 0)).toBe(true);
    expect(w.observe(1, 100)).toBe(true);
    expect(w.observe(1, 400)).toBe(true);
    expect(w.observe(1, 500)).toBe(true);
    expect(w.observe(1, 501)).toBe(false);
    expect(w.stillFor(600)).toBe(600);
    expect(w.observe(2, 650)).toBe(true); // moved again
    expect(w.observe(2, 1100)).toBe(true);
  });

  it('does not blame the worker for the main thread\'s own stall: a moved counter is progress, however late it is read', () => {
    const w = new WorkerLiveness(500);
    w.reset(0);
    expect(w.observe(10, 0)).toBe(true);
    expect(w.observe(3000, 2000)).toBe(true);
  });

  it('counts from the reset for a worker that never beats', () => {
    const w = new WorkerLiveness(500);
    w.reset(1000);
    expect(w.observe(0, 1400)).toBe(true);
    expect(w.observe(0, 1501)).toBe(false);
  });

  it('defaults to five poll periods (500 ms)', () => {
    expect(DEFAULT_LIVENESS_TIMEOUT_MS).toBe(500);
  });
});
