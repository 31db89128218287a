// AuditStanding against hand-written timelines. Options: withdraw 1000 ms after a silent
// accusation that still stands, return after 3000 ms without accusation, the hold doubling on a
// withdrawal within 20 s of the last one, at most 8000 ms.
import { AuditStanding } from '../../../src/speaker/layer2/audit-standing';

const OPTS = { confirmMs: 1000, holdMs: 3000, maxHoldMs: 8000, flapWindowMs: 20_000 };
const NONE = { silent: false, contested: false };
const SILENT = { silent: true, contested: false };
const CONTESTED = { silent: false, contested: true };

describe('AuditStanding', () => {
  it('a silent accusation: re-announce at once; cleared within the confirm time, nothing more', () => {
    const s = new AuditStanding(OPTS);
    expect(s.observe(SILENT, 100)).toEqual(['reannounce']);
    expect(s.nextDueAt()).toBe(1100);
    expect(s.tick(1099)).toEqual([]);
    expect(s.observe(NONE, 900)).toEqual([]);
    expect(s.tick(1100)).toEqual([]);
    expect(s.ready).toBe(true);
    expect(s.nextDueAt()).toBe(Infinity);
  });

  it('a silent accusation that stands: withdraw after the confirm time, return after the hold without accusation', () => {
    const s = new AuditStanding(OPTS);
    expect(s.observe(SILENT, 0)).toEqual(['reannounce']);
    expect(s.tick(1000)).toEqual(['withdraw']);
    expect(s.ready).toBe(false);
    expect(s.nextDueAt()).toBe(Infinity); // still accused: no return in sight
    expect(s.observe(NONE, 1200)).toEqual([]); // the auditor let go (we own nothing now)
    expect(s.nextDueAt()).toBe(4200);
    expect(s.tick(4199)).toEqual([]);
    expect(s.tick(4200)).toEqual(['return']);
    expect(s.ready).toBe(true);
  });

  it('an accusation while withdrawn restarts the hold', () => {
    const s = new AuditStanding(OPTS);
    s.observe(SILENT, 0);
    s.tick(1000);
    s.observe(NONE, 1200);
    expect(s.observe(SILENT, 2000)).toEqual([]); // no re-announce while withdrawn
    expect(s.observe(NONE, 2500)).toEqual([]);
    expect(s.tick(4200)).toEqual([]);
    expect(s.tick(5500)).toEqual(['return']);
  });

  it('withdrawing again within the flap window doubles the hold, up to the cap; a quiet window resets it', () => {
    const s = new AuditStanding(OPTS);
    const cycle = (at: number): number => {
      s.observe(SILENT, at);
      expect(s.tick(at + 1000)).toEqual(['withdraw']);
      s.observe(NONE, at + 1000);
      return s.currentHoldMs;
    };
    expect(cycle(0)).toBe(3000);
    expect(s.tick(4000)).toEqual(['return']);
    expect(cycle(5000)).toBe(6000);
    expect(s.tick(12_000)).toEqual(['return']);
    expect(cycle(13_000)).toBe(8000);
    expect(s.tick(22_000)).toEqual(['return']);
    expect(cycle(50_000)).toBe(3000); // 37 s after the last withdrawal (at 14 s): beyond the window
  });

  it('a contested accusation re-announces once per accusation and never withdraws', () => {
    const s = new AuditStanding(OPTS);
    expect(s.observe(CONTESTED, 0)).toEqual(['reannounce']);
    expect(s.observe(CONTESTED, 500)).toEqual([]);
    expect(s.nextDueAt()).toBe(Infinity);
    expect(s.tick(60_000)).toEqual([]);
    expect(s.observe(NONE, 61_000)).toEqual([]);
    expect(s.observe(CONTESTED, 62_000)).toEqual(['reannounce']);
    expect(s.observe({ silent: true, contested: true }, 62_100)).toEqual(['reannounce']);
    expect(s.ready).toBe(true);
  });
});
