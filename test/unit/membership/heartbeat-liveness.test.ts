// One look at the heartbeat membership (heartbeat-liveness.ts), over a real HeartbeatView with a
// fixed deadline (interval 100 ms, dead after 5 silent intervals = 500 ms, not adaptive) and a
// look period long enough that no look counts as a stall of ours. Every expected set, silence and
// deadline below is worked out by hand from those numbers.
import { FLAG_ACK, FLAG_LEAVING, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';
import { LivenessLook, sameSet, type Look } from '../../../src/speaker/membership/heartbeat-liveness';
import { HeartbeatView } from '../../../src/speaker/membership/heartbeat-view';

let sequence = 0;
const hb = (node: string, flags = FLAG_ACK): Heartbeat => ({
  node,
  addressee: 'a',
  incarnation: 1,
  sequence: ++sequence,
  timestamp: 5000,
  flags,
  echoTimestamp: 0,
  echoDelayMs: 0,
  echoIncarnation: 0,
  echoSequence: 0,
});

function setup() {
  const view = new HeartbeatView({ self: 'a', intervalMs: 100, adaptive: false, lookPeriodMs: 1000 });
  const looks = new LivenessLook('a', view);
  let leases: string[] = [];
  let apiReachable = true;
  const look = (now: number): Look =>
    looks.look({
      now,
      running: true,
      apiReachable,
      leaseAlive: () => {
        if (!apiReachable) throw new Error('the Lease view is not read while the API server is unreachable');
        return leases;
      },
    });
  return {
    view,
    looks,
    look,
    setLeases: (l: string[]) => (leases = l),
    setApiReachable: (r: boolean) => (apiReachable = r),
  };
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();

describe('LivenessLook', () => {
  it('counts heard, acknowledging peers; keeps the last Lease view while the API server is away; isolated when it hears none', () => {
    const { view, looks, look, setLeases, setApiReachable } = setup();
    setLeases(['a', 'b', 'c']);
    view.accept(hb('b'), 1000);
    // t=1000: b and c appeared now, both still joining: nobody expected; b heard and acks us.
    let r = look(1000);
    expect(sorted(r.next.alive)).toEqual(['a', 'b']);
    expect(r.change && { joined: sorted(r.change.joined), left: r.change.left, silence: r.change.silence, peerLost: r.change.peerLost }).toEqual({ joined: ['a', 'b'], left: [], silence: {}, peerLost: false });
    // t=1600: c's Lease is 600 ms old (> 500): expected now, still unheard; b (heard at 1550) suffices.
    view.accept(hb('b'), 1550);
    r = look(1600);
    expect(r.change).toBeUndefined();
    expect(r.next.isolated).toBe(false);
    // API server away: the Lease view is not read; the snapshot {a, b, c} stays expected.
    setApiReachable(false);
    expect(look(1700).change).toBeUndefined();
    expect(sorted(looks.leaseAlive)).toEqual(['a', 'b', 'c']);
    // t=2100: b silent 550 ms (> 500): none of b, c heard: isolated, nobody counted, no failover.
    r = look(2100);
    expect(r.next.isolated).toBe(true);
    expect(sorted(r.next.alive)).toEqual([]);
    expect(r.change).toMatchObject({ joined: [], silence: { b: { silentMs: 550, deadlineMs: 500 } }, peerLost: false });
    expect(sorted(r.change?.left ?? [])).toEqual(['a', 'b']);
    expect(looks.current).toBe(r.next);
  });

  it('a peer lost while others are heard starts a failover; one that said it leaves does not', () => {
    const { view, look, setLeases } = setup();
    setLeases(['a', 'b', 'c', 'd']);
    for (const n of ['b', 'c', 'd']) view.accept(hb(n), 1000);
    expect(sorted(look(1000).next.alive)).toEqual(['a', 'b', 'c', 'd']);
    view.accept(hb('c'), 1400);
    view.accept(hb('d'), 1400);
    view.accept(hb('d', FLAG_LEAVING), 1450);
    // t=1600: b silent 600 ms: dead; d left at 1450; c heard at 1400.
    let r = look(1600);
    expect(sorted(r.next.alive)).toEqual(['a', 'c']);
    expect(r.change).toMatchObject({ joined: [], silence: { b: { silentMs: 600, deadlineMs: 500 }, d: { silentMs: 150, deadlineMs: 500 } }, peerLost: true });
    expect(sorted(r.change?.left ?? [])).toEqual(['b', 'd']);
    // Only d lost (it left): no failover.
    const second = setup();
    second.setLeases(['a', 'c', 'd']);
    for (const n of ['c', 'd']) second.view.accept(hb(n), 1000);
    second.look(1000);
    second.view.accept(hb('c'), 1100);
    second.view.accept(hb('d', FLAG_LEAVING), 1100);
    r = second.look(1200);
    expect(sorted(r.change?.left ?? [])).toEqual(['d']);
    expect(r.change?.peerLost).toBe(false);
  });

  it('a peer whose Lease just appeared is not expected for one dead interval', () => {
    const { look, setLeases } = setup();
    setLeases(['a', 'd']);
    // t=1000..1499: d joining: nothing expected, nobody heard: alone, we count ourselves.
    expect(sorted(look(1000).next.alive)).toEqual(['a']);
    expect(look(1499).next.isolated).toBe(false);
    // t=1500: d's Lease is 500 ms old: expected, unheard: isolated.
    const r = look(1500);
    expect(r.next.isolated).toBe(true);
    expect(r.change).toEqual({ joined: [], left: ['a'], silence: {}, peerLost: false });
  });

  it.each([
    { a: [], b: [], same: true },
    { a: ['x', 'y'], b: ['y', 'x'], same: true },
    { a: ['x'], b: ['x', 'y'], same: false },
    { a: ['x', 'z'], b: ['x', 'y'], same: false },
  ])('sameSet($a, $b) is $same', ({ a, b, same }) => {
    expect(sameSet(new Set(a), new Set(b))).toBe(same);
  });
});
