// StickyAddresses over a real Allocator: holds, reclaim, eviction and expiry, with the expected
// addresses written by hand from the pool (lowest free first).
import { Allocator } from '../../../src/ipam/allocator';
import type { ServiceRequest } from '../../../src/ipam/types';
import { StickyAddresses } from '../../../src/controller/sticky';
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
