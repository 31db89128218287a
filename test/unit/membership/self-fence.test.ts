// The self-fence rule (self-fence.ts). Expected values are worked out by hand from the rule in
// docs/failover.md: withdraw once our last renewal that went through started a Lease duration
// less two heartbeat intervals ago, while a heard peer said API_OK within the last renew/5; never
// when the timers leave no room between a peer's API_OK ending in a general outage and that moment.
import { apiOk, fenceApplies, selfFenced, type FenceTimers } from '../../../src/speaker/membership/self-fence';

const DEFAULTS: FenceTimers = { renewMs: 2000, leaseDurationMs: 6000, heartbeatIntervalMs: 100 };
const LAB: FenceTimers = { renewMs: 1000, leaseDurationMs: 3000, heartbeatIntervalMs: 100 };

describe('fenceApplies: 2 renew + 2 renew/5 + 2 intervals + 3 intervals < duration', () => {
  it.each([
    ['defaults 2 s / 6 s / 100 ms: 4000 + 800 + 200 + 300 = 5300 < 6000', DEFAULTS, true],
    ['the lab 1 s / 3 s / 100 ms: 2000 + 400 + 200 + 300 = 2900 < 3000', LAB, true],
    ['2 s / 5.3 s: 5300, not below 5300', { renewMs: 2000, leaseDurationMs: 5300, heartbeatIntervalMs: 100 }, false],
    ['2 s / 5.4 s: 5300 < 5400', { renewMs: 2000, leaseDurationMs: 5400, heartbeatIntervalMs: 100 }, true],
    ['1 s / 2.5 s: 2900 > 2500', { renewMs: 1000, leaseDurationMs: 2500, heartbeatIntervalMs: 100 }, false],
    ['2 s / 6 s with 200 ms heartbeats: 4000 + 800 + 400 + 600 = 5800 < 6000', { renewMs: 2000, leaseDurationMs: 6000, heartbeatIntervalMs: 200 }, true],
    ['2 s / 6 s with 300 ms heartbeats: 4000 + 800 + 600 + 900 = 6300', { renewMs: 2000, leaseDurationMs: 6000, heartbeatIntervalMs: 300 }, false],
  ])('%s', (_what, timers, applies) => {
    expect(fenceApplies(timers)).toBe(applies);
  });
});

describe('apiOk: watching, a renewal went through within renew + renew/5, and the API server up for the duration less the margin', () => {
  const up = { apiUpForMs: 60_000, needUpForMs: 5800 };
  it.each([
    ['1000 ms after the last renewal', { now: 2000, watching: true, lastRenewedAt: 1000, renewMs: 2000, ...up }, true],
    ['exactly 2400 ms after', { now: 3400, watching: true, lastRenewedAt: 1000, renewMs: 2000, ...up }, true],
    ['2401 ms after', { now: 3401, watching: true, lastRenewedAt: 1000, renewMs: 2000, ...up }, false],
    ['watch down', { now: 1001, watching: false, lastRenewedAt: 1000, renewMs: 2000, ...up }, false],
    ['no renewal yet', { now: 1001, watching: true, lastRenewedAt: undefined, renewMs: 2000, ...up }, false],
    ['the API server back for 5799 ms only (after an outage, nobody is proved dead yet)', { now: 2000, watching: true, lastRenewedAt: 1000, renewMs: 2000, apiUpForMs: 5799, needUpForMs: 5800 }, false],
    ['back for 5800 ms', { now: 2000, watching: true, lastRenewedAt: 1000, renewMs: 2000, apiUpForMs: 5800, needUpForMs: 5800 }, true],
  ])('%s', (_what, input, ok) => {
    expect(apiOk(input)).toBe(ok);
  });
});

describe('selfFenced: from lastRenewStartedAt + duration - 2 intervals, with API_OK heard within renew/5', () => {
  it.each([
    ['5799 ms after the last renewal started, API_OK now', 6799, 1000, 6799, DEFAULTS, false],
    ['5800 ms after, API_OK now', 6800, 1000, 6800, DEFAULTS, true],
    ['long after, API_OK heard 400 ms ago (a slow renewal of the peer: still fenced)', 60_000, 1000, 59_600, DEFAULTS, true],
    ['long after, API_OK heard 401 ms ago (the API server is down for everybody)', 60_000, 1000, 59_599, DEFAULTS, false],
    ['long after, API_OK never heard (peers of an older version)', 60_000, 1000, undefined, DEFAULTS, false],
    ['no renewal ever went through', 60_000, undefined, 60_000, DEFAULTS, false],
    ['timers without room for the fence', 60_000, 1000, 60_000, { renewMs: 2000, leaseDurationMs: 5000, heartbeatIntervalMs: 100 }, false],
    ['the lab: 2800 ms after', 3800, 1000, 3800, LAB, true],
    ['the lab: 2799 ms after', 3799, 1000, 3799, LAB, false],
    ['the lab: API_OK heard 201 ms ago', 5000, 1000, 4799, LAB, false],
  ])('%s', (_what, now, lastRenewStartedAt, apiOkHeardAt, timers, fenced) => {
    expect(selfFenced({ now, timers, lastRenewStartedAt, apiOkHeardAt })).toBe(fenced);
  });

  it('is lifted when a renewal of ours goes through again', () => {
    expect(selfFenced({ now: 7000, timers: DEFAULTS, lastRenewStartedAt: 1000, apiOkHeardAt: 7000 })).toBe(true);
    expect(selfFenced({ now: 7100, timers: DEFAULTS, lastRenewStartedAt: 7050, apiOkHeardAt: 7100 })).toBe(false);
  });
});
