// The controller's quarantine of addresses found in use by another host: the hold after the last
// report, and the allocator placeholder. Expected addresses are written by hand from the pool
// (lowest free first).
import { Allocator } from '../../../src/ipam/allocator';
import type { ServiceRequest } from '../../../src/ipam/types';
import { holdQuarantined, Quarantine, releaseQuarantined } from '../../../src/controller/quarantine';
import { pool } from '../../helpers/pools';

const A = '198.51.100.90';
const MAC = '02:00:00:00:00:10';
const req = (key: string, requestedIPs: string[] = []): ServiceRequest => ({ key, families: [4], familyPolicy: 'SingleStack', requestedIPs, sharingKey: '', backendKey: '', ports: [{ protocol: 'TCP', port: 80 }] });

describe('Quarantine', () => {
  it('quarantines on the first report and releases only once no speaker reported it for the hold', () => {
    const q = new Quarantine(3000);
    expect(q.update(new Map([[A, MAC]]), 0)).toEqual({ added: new Map([[A, MAC]]), released: [] });
    expect(q.update(new Map([[A, MAC]]), 100_000)).toEqual({ added: new Map(), released: [] });
    expect(q.update(new Map(), 200_000)).toEqual({ added: new Map(), released: [] });
    expect(q.nextReleaseAt()).toBe(203_000);
    expect(q.update(new Map(), 202_999).released).toEqual([]);
    // Reported again meanwhile: the hold starts over from the next clearance.
    q.update(new Map([[A, MAC]]), 202_999);
    expect(q.update(new Map(), 203_000).released).toEqual([]);
    expect(q.update(new Map(), 206_000).released).toEqual([A]);
    expect(q.has(A)).toBe(false);
  });
});

describe('holdQuarantined', () => {
  function allocator(): Allocator {
    const a = new Allocator();
    a.setPools([pool('default', ['198.51.100.90-198.51.100.92'])]);
    return a;
  }

  it('moves a Service that did not ask for the address, and hands the address to nobody until released', () => {
    const a = allocator();
    expect(a.allocate(req('ns/a'))).toMatchObject({ ok: true, ips: [A] });
    expect(holdQuarantined(a, A, () => [])).toEqual(['ns/a']);
    expect(a.allocate(req('ns/a'))).toMatchObject({ ok: true, ips: ['198.51.100.91'] });
    expect(a.allocate(req('ns/b'))).toMatchObject({ ok: true, ips: ['198.51.100.92'] });
    expect(a.allocate(req('ns/c', [A])).ok).toBe(false);
    expect(releaseQuarantined(a, A)).toBe(true);
    expect(a.allocate(req('ns/c'))).toMatchObject({ ok: true, ips: [A] });
  });

  it('leaves the address with a Service that asked for it', () => {
    const a = allocator();
    a.assign(req('ns/a', [A]), [A]);
    expect(holdQuarantined(a, A, (key) => (key === 'ns/a' ? [A] : undefined))).toEqual([]);
    expect(a.assignmentOf('ns/a')?.ips).toEqual([A]);
    // Idempotent.
    expect(holdQuarantined(a, A, () => [A])).toEqual([]);
  });
});
