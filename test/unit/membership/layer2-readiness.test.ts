// A node back from NO_LAYER2 holds back from its own elections until its timer ends the hold, and
// only if a NO_LAYER2 heartbeat went out; the hold ends by the timer's word, never by a clock
// comparison that a timer firing a fraction early would fail (responder-faults e2e, 2 of 6 runs).
import { Layer2Readiness } from '../../../src/speaker/membership/layer2-readiness';

describe('Layer2Readiness', () => {
  it('starts ready and electable', () => {
    const r = new Layer2Readiness();
    expect(r.ready).toBe(true);
    expect(r.excludesSelf).toBe(false);
  });

  it('unready: excluded; back without having told anyone: electable at once', () => {
    const r = new Layer2Readiness();
    expect(r.set(false)).toEqual({ changed: true, hold: false });
    expect(r.excludesSelf).toBe(true);
    expect(r.set(true)).toEqual({ changed: true, hold: false });
    expect(r.excludesSelf).toBe(false);
  });

  it('back after a NO_LAYER2 heartbeat went out: held until holdOver(), then electable', () => {
    const r = new Layer2Readiness();
    r.set(false);
    r.toldUnready();
    expect(r.set(true)).toEqual({ changed: true, hold: true });
    expect(r.ready).toBe(true);
    expect(r.excludesSelf).toBe(true);
    r.holdOver();
    expect(r.excludesSelf).toBe(false);
  });

  it('a heartbeat sent while ready does not count as telling the peers we are unready', () => {
    const r = new Layer2Readiness();
    r.toldUnready();
    r.set(false);
    expect(r.set(true)).toEqual({ changed: true, hold: false });
  });

  it('a repeated state is no change; unready again during a hold ends it', () => {
    const r = new Layer2Readiness();
    expect(r.set(true)).toEqual({ changed: false, hold: false });
    r.set(false);
    r.toldUnready();
    r.set(true);
    r.set(false);
    expect(r.excludesSelf).toBe(true);
    expect(r.set(true)).toEqual({ changed: true, hold: false }); // nothing told since the last change
    expect(r.excludesSelf).toBe(false);
  });
});
