// ConflictWatch, the pure decisions of address conflict detection. Expected action sequences are
// written by hand from the RFC 5227 rules the module documents (probe, then announce after the
// silence; defend at most once per interval), with timings given explicitly here.
import { ConflictWatch, type ConflictTiming } from '../../../src/speaker/layer2/conflict-watch';

const T: ConflictTiming = { probeCount: 3, probeIntervalMs: 100, probeWaitMs: 200, recheckMs: 5000, defendIntervalMs: 10_000 };
const A = '198.51.100.90';
const MAC = '020000000010';

describe('ConflictWatch', () => {
  it('probes 3 times 100 ms apart and owns the address after 200 ms of silence', () => {
    const w = new ConflictWatch(T);
    expect(w.want(A, 'probe', 0)).toEqual([{ kind: 'probe', address: A }]);
    expect(w.isOwned(A)).toBe(false);
    expect(w.due(99)).toEqual([]);
    expect(w.due(100)).toEqual([{ kind: 'probe', address: A }]);
    expect(w.due(200)).toEqual([{ kind: 'probe', address: A }]);
    expect(w.nextDueAt()).toBe(400);
    expect(w.due(399)).toEqual([]);
    expect(w.due(400)).toEqual([{ kind: 'own', address: A }]);
    expect(w.isOwned(A)).toBe(true);
    expect(w.nextDueAt()).toBe(Infinity);
  });

  it('an answer while probing is a conflict: never owned, re-probed every recheckMs, cleared by a silent round', () => {
    const w = new ConflictWatch(T);
    w.want(A, 'probe', 0);
    expect(w.claim(A, MAC, 1)).toEqual([{ kind: 'conflict', address: A, mac: MAC, phase: 'probing' }]);
    expect(w.isOwned(A)).toBe(false);
    expect(w.due(400)).toEqual([]);
    expect(w.conflicts()).toEqual(new Map([[A, MAC]]));
    // Recheck at 5001: answered again → stays in conflict, no new report for the same MAC.
    expect(w.due(5001)).toEqual([{ kind: 'probe', address: A }]);
    expect(w.claim(A, MAC, 5002)).toEqual([]);
    w.due(5101);
    w.due(5201);
    expect(w.due(5401)).toEqual([]);
    expect(w.isOwned(A)).toBe(false);
    // Next recheck at 10401: nobody answers → cleared and (still wanted) owned.
    expect(w.due(10_401)).toEqual([{ kind: 'probe', address: A }]);
    w.due(10_501);
    w.due(10_601);
    expect(w.due(10_801)).toEqual([
      { kind: 'cleared', address: A },
      { kind: 'own', address: A },
    ]);
    expect(w.isOwned(A)).toBe(true);
  });

  it('an address in conflict that is no longer wanted stays watched until it clears, then is forgotten', () => {
    const w = new ConflictWatch(T);
    w.want(A, 'probe', 0);
    w.claim(A, MAC, 1);
    w.unwant(A);
    expect(w.has(A)).toBe(true);
    w.due(5001);
    w.due(5101);
    w.due(5201);
    expect(w.due(5401)).toEqual([{ kind: 'cleared', address: A }]);
    expect(w.has(A)).toBe(false);
  });

  it('a wanted address that is not in conflict is forgotten at once when unwanted', () => {
    const w = new ConflictWatch(T);
    w.want(A, 'probe', 0);
    w.unwant(A);
    expect(w.has(A)).toBe(false);
    expect(w.due(1000)).toEqual([]);
  });

  it('audit (takeover): owned at once, probed along; a claim then is reported and defended at most once per 10 s', () => {
    const w = new ConflictWatch(T);
    expect(w.want(A, 'audit', 0)).toEqual([
      { kind: 'own', address: A },
      { kind: 'probe', address: A },
    ]);
    expect(w.isOwned(A)).toBe(true);
    expect(w.claim(A, MAC, 50)).toEqual([
      { kind: 'conflict', address: A, mac: MAC, phase: 'announcing' },
      { kind: 'defend', address: A },
    ]);
    expect(w.claim(A, MAC, 9_000)).toEqual([]);
    expect(w.claim(A, MAC, 10_049)).toEqual([]);
    expect(w.claim(A, MAC, 10_050)).toHaveLength(2);
    expect(w.isOwned(A)).toBe(true); // the owner keeps the address
  });

  it("'none' owns at once and never probes; claims for unknown addresses are ignored", () => {
    const w = new ConflictWatch(T);
    expect(w.want(A, 'none', 0)).toEqual([{ kind: 'own', address: A }]);
    expect(w.nextDueAt()).toBe(Infinity);
    expect(w.claim('198.51.100.91', MAC, 1)).toEqual([]);
  });
});
