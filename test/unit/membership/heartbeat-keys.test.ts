import fc from 'fast-check';
import { heartbeatKey } from '../../../src/speaker/membership/heartbeat-codec';
import { HeartbeatKeyRing } from '../../../src/speaker/membership/heartbeat-keys';

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const K3 = Buffer.alloc(32, 3);
const id = (k: Buffer): number => heartbeatKey(k).id;
const ids = (ring: HeartbeatKeyRing, t: number): number[] => ring.accepted(t).map((k) => k.id);

describe('heartbeat key ring', () => {
  it('uses the first key at once, and nothing before it', () => {
    const ring = new HeartbeatKeyRing({ sendAfterMs: 2000, acceptForMs: 4000 });
    expect(ring.sending(0)).toBeUndefined();
    expect(ring.loaded).toBe(false);
    expect(ring.observe(K1, 100)).toBe(true);
    expect(ring.observe(K1, 200)).toBe(false);
    expect(ring.sending(100)?.id).toBe(id(K1));
    expect(ids(ring, 100)).toEqual([id(K1)]);
  });

  it('accepts a new key at once, sends with it after sendAfterMs, drops the old one after acceptForMs', () => {
    const ring = new HeartbeatKeyRing({ sendAfterMs: 2000, acceptForMs: 4000 });
    ring.observe(K1, 0);
    ring.observe(K2, 10_000);
    // Hand-written timeline: [10 000, 12 000) both accepted, K1 sent; [12 000, 14 000) both
    // accepted, K2 sent; from 14 000 only K2.
    expect([ring.sending(10_000)?.id, ids(ring, 10_000)]).toEqual([id(K1), [id(K1), id(K2)]]);
    expect([ring.sending(11_999)?.id, ids(ring, 11_999)]).toEqual([id(K1), [id(K1), id(K2)]]);
    expect([ring.sending(12_000)?.id, ids(ring, 12_000)]).toEqual([id(K2), [id(K1), id(K2)]]);
    expect([ring.sending(13_999)?.id, ids(ring, 13_999)]).toEqual([id(K2), [id(K1), id(K2)]]);
    expect([ring.sending(14_000)?.id, ids(ring, 14_000)]).toEqual([id(K2), [id(K2)]]);
  });

  it('switches at once when a peer already signs with the newer key', () => {
    const ring = new HeartbeatKeyRing({ sendAfterMs: 2000, acceptForMs: 4000 });
    ring.observe(K1, 0);
    ring.observe(K2, 10_000);
    ring.peerSends(id(K1), 10_500); // older or same: nothing
    expect(ring.sending(10_500)?.id).toBe(id(K1));
    ring.peerSends(id(K2), 10_600);
    expect(ring.sending(10_600)?.id).toBe(id(K2));
    expect(ids(ring, 13_999)).toEqual([id(K1), id(K2)]); // the old key is still accepted as planned
    ring.peerSends(0x12345678, 10_700); // unknown id: nothing
    expect(ring.sending(10_700)?.id).toBe(id(K2));
  });

  it('handles a second rotation within the grace period, and a rollback', () => {
    const ring = new HeartbeatKeyRing({ sendAfterMs: 2000, acceptForMs: 4000 });
    ring.observe(K1, 0);
    ring.observe(K2, 10_000);
    ring.observe(K3, 11_000);
    expect(ring.sending(11_500)?.id).toBe(id(K1));
    expect(ids(ring, 11_500)).toEqual([id(K1), id(K2), id(K3)]);
    expect(ring.sending(12_000)?.id).toBe(id(K2));
    expect(ring.sending(13_000)?.id).toBe(id(K3));
    expect(ids(ring, 14_000)).toEqual([id(K2), id(K3)]);
    expect(ids(ring, 15_000)).toEqual([id(K3)]);
    // Back to K1: it is a new key again, sent after the delay.
    ring.observe(K1, 20_000);
    expect(ring.sending(21_000)?.id).toBe(id(K3));
    expect(ring.sending(22_000)?.id).toBe(id(K1));
    expect(ids(ring, 24_000)).toEqual([id(K1)]);
  });

  it('refuses options under which the old key would expire before the new one is sent', () => {
    expect(() => new HeartbeatKeyRing({ sendAfterMs: 2000, acceptForMs: 1000 })).toThrow();
  });

  // A brute-force model of a cluster: speakers read the Secret every `period` ms at their own
  // phase; the key is replaced at `rotateAt`. At every millisecond, whatever any speaker sends
  // must be accepted by every other one (no heartbeat dropped: no failover), and a while after the
  // last speaker read the new key nobody accepts the old one.
  it('never has a speaker send a key another one refuses, whatever the read phases (model)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 2, maxLength: 5 }), fc.integer({ min: 5000, max: 9000 }), (phases, rotateAt) => {
        const period = 1000;
        const rings = phases.map(() => new HeartbeatKeyRing({ sendAfterMs: 2 * period, acceptForMs: 4 * period }));
        const read = (i: number, t: number): void => void rings[i].observe(t < rotateAt ? K1 : K2, t);
        for (let t = 0; t < rotateAt + 8 * period; t++) {
          phases.forEach((p, i) => {
            if (t % period === p) read(i, t);
          });
          if (t < Math.max(...phases)) continue; // not everybody has read once yet
          for (const [i, r] of rings.entries()) {
            const sent = r.sending(t)?.id;
            for (const [j, other] of rings.entries()) if (i !== j && !other.accepted(t).some((k) => k.id === sent)) return false;
          }
        }
        const end = rotateAt + 8 * period - 1;
        return rings.every((r) => r.accepted(end).every((k) => k.id === id(K2)));
      }),
      { numRuns: 40 },
    );
  });
});
