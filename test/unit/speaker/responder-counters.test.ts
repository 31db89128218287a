// Counters stay cumulative across worker restarts: the sum of the given-up workers' last counters
// and the current one's. Expected sums written by hand.
import { addCounters, zeroCounters } from '../../../src/speaker/layer2/responder-counters';

describe('responder counters', () => {
  it('adds every field, drop reasons included', () => {
    const a = zeroCounters();
    a.requests.arp = 5;
    a.replies.ndp = 2;
    a.drops.notOwned = 7;
    a.drops.rateLimited = 1;
    a.socketDrops = 3;
    const b = zeroCounters();
    b.requests.arp = 1;
    b.gratuitous.arp = 4;
    b.drops.notOwned = 1;
    b.linkEvents = 2;
    const s = addCounters(a, b);
    expect(s.requests).toEqual({ arp: 6, ndp: 0 });
    expect(s.replies).toEqual({ arp: 0, ndp: 2 });
    expect(s.gratuitous).toEqual({ arp: 4, ndp: 0 });
    expect(s.drops).toMatchObject({ notOwned: 8, rateLimited: 1, badSender: 0 });
    expect(s).toMatchObject({ socketDrops: 3, linkEvents: 2, sendFailures: 0, recvErrors: 0 });
  });
});
