import { staleIncarnation } from '../../../src/speaker/membership/heartbeat-store';

describe('staleIncarnation (a peer echoes the newest incarnation and sequence it accepted from us)', () => {
  it.each([
    // ours, last sent to that peer, echoed incarnation, echoed sequence, stale?
    [5, 10, 0, 0, false], // the peer never heard us
    [5, 10, 5, 10, false], // it heard everything we sent
    [5, 10, 5, 3, false], // it missed some
    [5, 10, 4, 999, false], // it last heard an older life
    [5, 10, 5, 11, true], // more than this life sent: an earlier life used 5 (its Lease write was lost)
    [5, 0, 5, 1, true], // a restart with the same incarnation, nothing sent yet
    [5, 10, 7, 1, true], // a newer life than ours exists (our Lease was deleted)
  ])('ours %i, sent %i, echo (%i, %i) -> %s', (ours, sent, inc, seq, stale) => {
    expect(staleIncarnation(ours, sent, inc, seq)).toBe(stale);
  });
});
