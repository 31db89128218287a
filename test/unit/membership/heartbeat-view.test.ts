import { FLAG_ACK, FLAG_API_OK, FLAG_AUDIT_CONTESTED, FLAG_AUDIT_SILENT, FLAG_DATAPATH_DOWN, FLAG_LEAVING, FLAG_NO_LAYER2, FLAG_STARTING, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';
import { computeLiveness, HeartbeatView, type LivenessInput } from '../../../src/speaker/membership/heartbeat-view';

const hb = (node: string, incarnation: number, sequence: number, flags = 0, timestamp = 5000): Heartbeat => ({
  node,
  addressee: 'a',
  incarnation,
  sequence,
  timestamp,
  flags,
  echoTimestamp: 0,
  echoDelayMs: 0,
  echoIncarnation: 0,
  echoSequence: 0,
});

describe('HeartbeatView', () => {
  const view = (): HeartbeatView => new HeartbeatView({ self: 'a', intervalMs: 100 });

  it('is alive while heard, suspect after 3 missed intervals, dead after 5', () => {
    const v = view();
    expect(v.accept(hb('b', 1, 1), 1000)).toBe('accepted');
    expect(v.state('b', 1300)).toBe('alive');
    expect(v.state('b', 1301)).toBe('suspect');
    expect(v.heard(1500)).toEqual(new Set(['b']));
    expect(v.state('b', 1501)).toBe('dead');
    expect(v.heard(1501)).toEqual(new Set());
    expect(v.state('c', 1000)).toBe('unknown');
  });

  it('honours configured intervals', () => {
    const v = new HeartbeatView({ self: 'a', intervalMs: 50, suspectIntervals: 2, deadIntervals: 4 });
    v.accept(hb('b', 1, 1), 0);
    expect([v.state('b', 100), v.state('b', 101), v.state('b', 200), v.state('b', 201)]).toEqual(['alive', 'suspect', 'suspect', 'dead']);
    expect(() => new HeartbeatView({ self: 'a', intervalMs: 50, suspectIntervals: 5, deadIntervals: 4 })).toThrow();
  });

  it('drops replays: same or lower sequence in an incarnation, or an older incarnation', () => {
    const v = view();
    expect(v.accept(hb('b', 10, 5), 0)).toBe('accepted');
    expect(v.accept(hb('b', 10, 5), 50)).toBe('replayed');
    expect(v.accept(hb('b', 10, 4), 50)).toBe('replayed');
    expect(v.accept(hb('b', 9, 100), 50)).toBe('replayed');
    // A replayed packet does not refresh liveness.
    expect(v.state('b', 501)).toBe('dead');
    expect(v.accept(hb('b', 10, 6), 600)).toBe('accepted');
    // A restart: newer incarnation, sequence starts again.
    expect(v.accept(hb('b', 11, 1), 700)).toBe('accepted');
    expect(v.accept(hb('b', 10, 7), 700)).toBe('replayed');
  });

  it('ignores packets claiming to be from itself', () => {
    const v = view();
    expect(v.accept(hb('a', 1, 1), 0)).toBe('replayed');
    expect(v.heard(0)).toEqual(new Set());
  });

  it('drops a leaving peer at once and keeps it out until a new incarnation', () => {
    const v = view();
    v.accept(hb('b', 10, 1), 0);
    expect(v.accept(hb('b', 10, 2, FLAG_LEAVING), 10)).toBe('left');
    expect(v.state('b', 20)).toBe('left');
    expect(v.hasLeft('b')).toBe(true);
    expect(v.hasLeft('c')).toBe(false);
    expect(v.heard(20)).toEqual(new Set());
    expect(v.accept(hb('b', 10, 3, FLAG_LEAVING), 15)).toBe('left'); // the repeated leaving packet
    expect(v.accept(hb('b', 10, 3, FLAG_LEAVING), 16)).toBe('replayed');
    expect(v.accept(hb('b', 10, 4), 30)).toBe('replayed');
    expect(v.accept(hb('b', 12, 1), 40)).toBe('accepted');
    expect(v.heard(40)).toEqual(new Set(['b']));
    expect(v.hasLeft('b')).toBe(false); // back: a later silence is a loss again
  });

  it('tracks which heard peers say API_OK, from their last packet only', () => {
    const v = view();
    v.accept(hb('b', 10, 1, FLAG_API_OK | FLAG_ACK), 0);
    v.accept(hb('c', 10, 1, FLAG_ACK), 0);
    expect(v.apiOkPeers(10)).toEqual(new Set(['b']));
    v.accept(hb('b', 10, 2, FLAG_ACK), 100);
    v.accept(hb('c', 10, 2, FLAG_API_OK), 100);
    expect(v.apiOkPeers(110)).toEqual(new Set(['c']));
    expect(v.apiOkPeers(1000)).toEqual(new Set()); // c is no longer heard
    v.accept(hb('b', 10, 3, FLAG_API_OK | FLAG_LEAVING), 1000);
    expect(v.apiOkPeers(1010)).toEqual(new Set()); // leaving: its word no longer counts
  });

  it('tracks which heard peers are still starting', () => {
    const v = view();
    v.accept(hb('b', 10, 1, FLAG_STARTING | FLAG_ACK), 0);
    expect(v.starting(10)).toEqual(new Set(['b']));
    expect(v.ackers(10)).toEqual(new Set(['b']));
    v.accept(hb('b', 10, 2, FLAG_ACK), 20);
    expect(v.starting(30)).toEqual(new Set());
    v.accept(hb('c', 10, 1, FLAG_STARTING), 0);
    expect(v.starting(10_000)).toEqual(new Set()); // dead peers are not starting either
  });

  it('tracks which heard peers have no usable layer-2 interface', () => {
    const v = view();
    v.accept(hb('b', 10, 1, FLAG_NO_LAYER2 | FLAG_ACK), 0);
    expect(v.saysNoLayer2('b')).toBe(true);
    expect(v.withoutLayer2(10)).toEqual(new Set(['b']));
    expect(v.heard(10)).toEqual(new Set(['b'])); // still a member: only the layer-2 election skips it
    v.accept(hb('b', 10, 2, FLAG_ACK), 20);
    expect(v.saysNoLayer2('b')).toBe(false);
    expect(v.withoutLayer2(30)).toEqual(new Set());
    v.accept(hb('c', 10, 1, FLAG_NO_LAYER2), 0);
    expect(v.withoutLayer2(10_000)).toEqual(new Set()); // dead peers drop out of every set
  });

  it('tracks which heard peers say their data path is down, apart from NO_LAYER2', () => {
    const v = view();
    v.accept(hb('b', 10, 1, FLAG_DATAPATH_DOWN | FLAG_ACK), 0);
    expect(v.withoutDataPath(10)).toEqual(new Set(['b']));
    expect(v.withoutLayer2(10)).toEqual(new Set());
    expect(FLAG_DATAPATH_DOWN).toBe(0x40); // on the wire: 0x10 and 0x20 are the audit flags
    expect(v.electionFlags('b')).toBe(FLAG_DATAPATH_DOWN);
    v.accept(hb('b', 10, 2, FLAG_DATAPATH_DOWN | FLAG_NO_LAYER2), 20);
    expect(v.electionFlags('b')).toBe(FLAG_DATAPATH_DOWN | FLAG_NO_LAYER2);
    v.accept(hb('b', 10, 3, FLAG_ACK), 30);
    expect([v.withoutDataPath(40), v.electionFlags('b')]).toEqual([new Set(), 0]);
    v.accept(hb('c', 10, 1, FLAG_DATAPATH_DOWN), 0);
    expect(v.withoutDataPath(10_000)).toEqual(new Set()); // dead peers drop out of every set
  });

  it('tracks which heard peers say we failed their announcement audit, and forgets dead or leaving ones', () => {
    const v = view();
    v.accept(hb('b', 10, 1, FLAG_AUDIT_SILENT | FLAG_ACK), 0);
    v.accept(hb('c', 10, 1, FLAG_AUDIT_CONTESTED), 0);
    expect(v.auditAccusers(10)).toEqual({ silent: new Set(['b']), contested: new Set(['c']) });
    expect([v.auditFlags('b'), v.auditFlags('c'), v.auditFlags('d')]).toEqual([1, 2, 0]);
    v.accept(hb('b', 10, 2, FLAG_ACK), 20);
    v.accept(hb('c', 10, 2, FLAG_AUDIT_CONTESTED | FLAG_LEAVING), 20);
    expect(v.auditAccusers(30)).toEqual({ silent: new Set(), contested: new Set() });
    v.accept(hb('d', 10, 1, FLAG_AUDIT_SILENT), 0);
    expect(v.auditAccusers(10_000).silent).toEqual(new Set()); // dead peers accuse nobody
  });

  it('echoes the last timestamp with its hold time and the newest incarnation and sequence, and tracks acknowledgements', () => {
    const v = view();
    expect(v.echoFor('b', 0)).toEqual({ echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0 });
    v.accept(hb('b', 4, 9, FLAG_ACK, 777), 1000);
    v.accept(hb('c', 1, 1, 0), 1000);
    expect(v.echoFor('b', 1030)).toEqual({ echoTimestamp: 777, echoDelayMs: 30, echoIncarnation: 4, echoSequence: 9 });
    expect(v.ackers(1030)).toEqual(new Set(['b']));
    expect(v.ackers(1600)).toEqual(new Set());
    // Too old to be an RTT sample, but the incarnation is still told (a restarted b needs it).
    expect(v.echoFor('b', 1600)).toEqual({ echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 4, echoSequence: 9 });
  });

  it('vouch keeps a heard peer heard (its datagrams could not be checked), but never revives a dead or gone one', () => {
    const v = view();
    v.accept(hb('b', 1, 1, FLAG_ACK), 1000);
    v.accept(hb('c', 1, 1), 1000);
    v.accept(hb('d', 1, 1, FLAG_LEAVING), 1000);
    // b is vouched for every 50 ms for 3 s: still alive, its ACK still counts.
    for (let t = 1050; t <= 4000; t += 50) v.vouch('b', t);
    expect(v.state('b', 4000)).toBe('alive');
    expect(v.ackers(4000)).toEqual(new Set(['b']));
    expect(v.state('b', 4501)).toBe('dead'); // the flood stopped and b said nothing since
    // c went dead before anything was vouched: it stays dead.
    v.vouch('c', 2000);
    expect(v.state('c', 2000)).toBe('dead');
    v.vouch('d', 1100);
    expect(v.state('d', 1100)).toBe('left');
    v.vouch('nobody', 1100);
    expect(v.state('nobody', 1100)).toBe('unknown');
  });

  it('prunes long-silent peers without a Lease', () => {
    const v = view();
    v.accept(hb('b', 1, 5), 0);
    v.accept(hb('c', 1, 5), 0);
    v.prune(new Set(['c']), 100_000, 60_000);
    expect(v.state('b', 100_000)).toBe('unknown');
    expect(v.state('c', 100_000)).toBe('dead');
  });
});

describe('computeLiveness', () => {
  const base: LivenessInput = { self: 'a', running: true, heard: new Set(['b', 'c']), ackers: new Set(['b', 'c']), leaseAlive: new Set(['a', 'b', 'c']), apiReachable: true };
  const alive = (i: Partial<LivenessInput>): string[] => [...computeLiveness({ ...base, ...i }).alive].sort();

  it('counts everybody when all are heard and hold fresh Leases', () => {
    expect(alive({})).toEqual(['a', 'b', 'c']);
  });

  it('fenced: we do not count ourselves, and still count (and so acknowledge) our peers', () => {
    const r = computeLiveness({ ...base, fenced: true });
    expect([...r.alive].sort()).toEqual(['b', 'c']);
    expect([...r.peers].sort()).toEqual(['b', 'c']);
    expect(r.isolated).toBe(false);
  });

  it('drops a peer that went silent even though its Lease is still fresh (SIGKILL, link cut)', () => {
    expect(alive({ heard: new Set(['b']), ackers: new Set(['b']) })).toEqual(['a', 'b']);
  });

  it('fences a heard peer whose Lease is deleted or expired', () => {
    expect(alive({ leaseAlive: new Set(['a', 'b']) })).toEqual(['a', 'b']);
  });

  it('while the API server is unreachable, the heartbeat view alone decides', () => {
    expect(alive({ apiReachable: false, leaseAlive: new Set(['a', 'b']) })).toEqual(['a', 'b', 'c']);
    expect(alive({ apiReachable: false, heard: new Set(['b']), ackers: new Set(['b']) })).toEqual(['a', 'b']);
  });

  it('partition: hearing none of the peers the Leases say are alive means isolated, so nothing is announced', () => {
    const r = computeLiveness({ ...base, heard: new Set(), ackers: new Set() });
    expect(r.isolated).toBe(true);
    expect([...r.alive]).toEqual([]);
    // Also with the API unreachable (link cut: the last Lease view still expects peers).
    expect(alive({ heard: new Set(), ackers: new Set(), apiReachable: false })).toEqual([]);
  });

  it('partition of 3 into {a,b} | {c}: each side computes a disjoint view and only one side announces', () => {
    const ab = alive({ heard: new Set(['b']), ackers: new Set(['b']) });
    const c = alive({ self: 'c', heard: new Set(), ackers: new Set() });
    expect(ab).toEqual(['a', 'b']);
    expect(c).toEqual([]);
  });

  it('a peer whose Lease just appeared does not make us isolated before its first heartbeat', () => {
    expect(alive({ heard: new Set(), ackers: new Set(), leaseAlive: new Set(['a', 'b']), joining: new Set(['b']) })).toEqual(['a']);
    expect(alive({ heard: new Set(), ackers: new Set(), leaseAlive: new Set(['a', 'b']) })).toEqual([]);
  });

  it('a lone speaker (no other Lease) counts itself', () => {
    expect(alive({ heard: new Set(), ackers: new Set(), leaseAlive: new Set(['a']) })).toEqual(['a']);
    expect(alive({ heard: new Set(), ackers: new Set(), leaseAlive: new Set() })).toEqual(['a']);
  });

  it('a rejoining speaker does not count itself until a live peer acknowledges it', () => {
    const r = computeLiveness({ ...base, ackers: new Set() });
    expect(r.unacknowledged).toBe(true);
    expect([...r.alive].sort()).toEqual(['b', 'c']);
    expect(alive({ ackers: new Set(['c']) })).toEqual(['a', 'b', 'c']);
  });

  it('a stopping speaker does not count itself', () => {
    expect(alive({ running: false })).toEqual(['b', 'c']);
  });

  it('a peer still starting is heard and vouches for us, but is not elected until ready', () => {
    const r = computeLiveness({ ...base, starting: new Set(['c']) });
    expect([...r.alive].sort()).toEqual(['a', 'b']);
    expect([...r.peers]).toEqual(['b']); // no ACK to c yet: it must not count itself either
    // Two nodes, the other restarting: we keep serving (its ACK counts), it gets nothing yet.
    const two = { leaseAlive: new Set(['a', 'b']), heard: new Set(['b']), ackers: new Set(['b']), starting: new Set(['b']) };
    expect(alive(two)).toEqual(['a']);
    // ... also while a third peer is dead but its Lease is still fresh.
    expect(alive({ ...two, leaseAlive: new Set(['a', 'b', 'c']) })).toEqual(['a']);
    // A starting peer's heartbeats keep us from thinking we are isolated.
    expect(computeLiveness({ ...base, heard: new Set(['c']), ackers: new Set(), starting: new Set(['c']) }).isolated).toBe(false);
  });

  it('the starting node itself is counted by nobody, itself included, until it is ready', () => {
    // c's own view while starting: a and b do not ACK it, so it does not count itself.
    expect(alive({ self: 'c', heard: new Set(['a', 'b']), ackers: new Set() })).toEqual(['a', 'b']);
    // Cold start, everybody starting: nobody is elected yet; the first one ready gets ACKs and counts.
    expect(alive({ heard: new Set(['b', 'c']), ackers: new Set(), starting: new Set(['b', 'c']) })).toEqual([]);
  });

  it('peers (the ACK set) never include self', () => {
    expect([...computeLiveness({ ...base, heard: new Set(['a', 'b']) }).peers]).toEqual(['b']);
  });
});
