// StickyAddresses over a real Allocator: holds, reclaim, eviction and expiry, with the expected
// addresses written by hand from the pool (lowest free first).
import { Allocator } from '../../../src/ipam/allocator';
import type { ServiceRequest } from '../../../src/ipam/types';
import { StickyAddresses } from '../../../src/controller/sticky';
import { decodeHolds, encodeHolds } from '../../../src/controller/sticky-persist';
import { pool } from '../../helpers/pools';

const req = (key: string, requestedIPs: string[] = []): ServiceRequest => ({ key, families: [4], familyPolicy: 'SingleStack', requestedIPs, sharingKey: '', backendKey: '', ports: [{ protocol: 'TCP', port: 80 }] });
const delay = (ms: number) => () => ms;

function setup() {
  const a = new Allocator();
  a.setPools([pool('p', ['10.0.0.1-10.0.0.2'])]);
  return { a, s: new StickyAddresses() };
}

describe('StickyAddresses', () => {
  it('holds a deleted Service\'s address and gives it back to the same key', () => {
    const { a, s } = setup();
    a.allocate(req('ns/x'));
    expect(s.onDeleted(a, req('ns/x'), delay(1000), 0)).toBe(true);
    expect(a.allocate(req('ns/y'))).toMatchObject({ ok: true, ips: ['10.0.0.2'] });
    s.reclaim(a, req('ns/x'));
    expect(a.assignmentOf('ns/x')?.ips).toEqual(['10.0.0.1']);
    expect(s.has('ns/x')).toBe(false);
  });

  it('without a delay nothing is held', () => {
    const { a, s } = setup();
    a.allocate(req('ns/x'));
    expect(s.onDeleted(a, req('ns/x'), delay(0), 0)).toBe(false);
    expect(a.assignmentOf('ns/x')?.ips).toEqual(['10.0.0.1']); // the caller frees it
  });

  it('expires holds after the delay and evicts the oldest for a Service with nothing else', () => {
    const { a, s } = setup();
    a.allocate(req('ns/x'));
    a.allocate(req('ns/y'));
    s.onDeleted(a, req('ns/x'), delay(1000), 0);
    s.onDeleted(a, req('ns/y'), delay(1000), 10);
    expect(a.allocate(req('ns/z')).ok).toBe(false);
    expect(s.evictFor(a, req('ns/z'), new Set(['p']))).toBe(true);
    expect(a.allocate(req('ns/z'))).toMatchObject({ ok: true, ips: ['10.0.0.1'] }); // x's, the older hold
    expect(s.nextExpiry()).toBe(1010);
    expect(s.expire(a, 1009)).toBe(false);
    expect(s.expire(a, 1010)).toBe(true);
    expect(a.allocate(req('ns/w'))).toMatchObject({ ok: true, ips: ['10.0.0.2'] });
  });

  it('a request for a held address evicts exactly that hold', () => {
    const { a, s } = setup();
    a.allocate(req('ns/x'));
    a.allocate(req('ns/y'));
    s.onDeleted(a, req('ns/x'), delay(1000), 0);
    s.onDeleted(a, req('ns/y'), delay(1000), 10);
    expect(s.evictFor(a, req('ns/z', ['10.0.0.2']), new Set(['p']))).toBe(true);
    expect(s.has('ns/x')).toBe(true);
    expect(a.assign(req('ns/z', ['10.0.0.2']), ['10.0.0.2']).ok).toBe(true);
  });
});

describe('sticky holds across a change of leader (snapshot → Lease annotation → restore)', () => {
  it('a restored hold keeps its address for the same key until its wall-clock end', () => {
    const old = setup();
    old.a.allocate(req('ns/x'));
    old.s.onDeleted(old.a, req('ns/x'), delay(60_000), 1_000); // monotonic 1 s, ends at 61 s
    const wire = encodeHolds(old.s.snapshot(11_000, 1_700_000_010_000)); // 10 s later; wall clock
    const fresh = setup();
    // The new leader's clocks: monotonic 500 (another process), wall 5 s after the snapshot.
    expect(fresh.s.restore(fresh.a, decodeHolds(wire), () => false, 500, 1_700_000_015_000)).toBe(1);
    expect(fresh.a.allocate(req('ns/y'))).toMatchObject({ ok: true, ips: ['10.0.0.2'] });
    expect(fresh.s.nextExpiry()).toBe(500 + 45_000); // 60 s hold − 10 s − 5 s
    fresh.s.reclaim(fresh.a, req('ns/x'));
    expect(fresh.a.assignmentOf('ns/x')?.ips).toEqual(['10.0.0.1']);
  });

  it('drops a hold that ended, whose Service exists again, or whose address a live Service shows', () => {
    const old = setup();
    old.a.allocate(req('ns/x'));
    old.a.allocate(req('ns/y'));
    old.s.onDeleted(old.a, req('ns/x'), delay(1_000), 0);
    old.s.onDeleted(old.a, req('ns/y'), delay(60_000), 0);
    const holds = decodeHolds(encodeHolds(old.s.snapshot(0, 1_000_000)));
    const ended = setup();
    expect(ended.s.restore(ended.a, holds, () => false, 0, 1_002_000)).toBe(1); // x ended 1 s ago
    expect(ended.s.has('ns/x')).toBe(false);
    const back = setup();
    expect(back.s.restore(back.a, holds, (key) => key === 'ns/y', 0, 1_000_500)).toBe(1); // y exists again
    expect(back.s.has('ns/y')).toBe(false);
    const taken = setup();
    taken.a.assign(req('ns/z'), ['10.0.0.1']); // status shows .1 on a live Service
    expect(taken.s.restore(taken.a, holds, () => false, 0, 1_000_500)).toBe(1);
    expect(taken.a.assignmentOf('ns/z')?.ips).toEqual(['10.0.0.1']);
    expect(taken.s.has('ns/x')).toBe(false);
  });

  it('anything but what encodeHolds wrote decodes to no holds, never an exception', () => {
    for (const text of [undefined, '', '{', 'null', '[]', '{"v":2,"holds":[]}', '{"v":1,"holds":[{"request":{"key":"x"}}]}', '{"v":1,"holds":[{"ips":[],"pool":"p"}]}']) {
      expect(decodeHolds(text)).toEqual([]);
    }
  });
});
