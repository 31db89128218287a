// Heartbeats signed ahead: per-addressee sequences that only grow (also across batches whose
// packets are never sent), slot timestamps and echo hold times, flags of the moment, and the
// dispatch between the calling thread and the worker. Expected values written out by hand.
import { decodeHeartbeat, FLAG_ACK, heartbeatKey, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';
import { dispatch, HeartbeatOutbox, type SendPort, type SignInput } from '../../../src/speaker/membership/heartbeat-outbox';

const key = heartbeatKey(Buffer.alloc(32, 7));
const input = (slots: number, over: Partial<SignInput> = {}): SignInput => ({
  self: 'a',
  incarnation: 3,
  key,
  peers: new Map([['a', '198.51.100.11'], ['b', '198.51.100.12']]),
  flagsFor: () => FLAG_ACK,
  echoFor: () => ({ echoTimestamp: 5000, echoDelayMs: 7, echoIncarnation: 9, echoSequence: 40 }),
  stamp: 1_000_000,
  intervalMs: 100,
  slots,
  ...over,
});
const open = (b: Buffer): Heartbeat => {
  const r = decodeHeartbeat(b, key);
  if (!r.ok) throw new Error(`not a heartbeat: ${JSON.stringify(r)}`);
  return r.heartbeat;
};

describe('HeartbeatOutbox', () => {
  it('signs slots 0..n-1 for every peer but us: sequences 1..n, timestamps and echo hold times one interval apart', () => {
    const o = new HeartbeatOutbox();
    const [b, ...rest] = o.sign(input(4));
    expect(rest).toEqual([]); // never to ourselves
    expect([b.node, b.address, b.flags, b.offsetsMs]).toEqual(['b', '198.51.100.12', FLAG_ACK, [0, 100, 200, 300]]);
    const hbs = b.packets.map(open);
    expect(hbs.map((h) => [h.addressee, h.incarnation, h.sequence, h.timestamp, h.echoDelayMs, h.flags])).toEqual([
      ['b', 3, 1, 1_000_000, 7, FLAG_ACK],
      ['b', 3, 2, 1_000_100, 107, FLAG_ACK],
      ['b', 3, 3, 1_000_200, 207, FLAG_ACK],
      ['b', 3, 4, 1_000_300, 307, FLAG_ACK],
    ]);
    expect(o.lastSequence('b')).toBe(4);
    // The next batch continues after the last signed sequence, sent or not.
    expect(o.sign(input(2))[0].packets.map((p) => open(p).sequence)).toEqual([5, 6]);
    o.reset(); // a new incarnation
    expect(o.sign(input(1, { incarnation: 4 }))[0].packets.map((p) => [open(p).incarnation, open(p).sequence])).toEqual([[4, 1]]);
  });

  it('adds no hold time to an empty echo (nothing heard to echo)', () => {
    const o = new HeartbeatOutbox();
    const none = { echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0 };
    expect(o.sign(input(3, { echoFor: () => none }))[0].packets.map((p) => open(p).echoDelayMs)).toEqual([0, 0, 0]);
  });
});

describe('dispatch', () => {
  const port = (ok = true): SendPort & { sends: string[]; schedules: Array<Array<[string, number[]]>> } => {
    const sends: string[] = [];
    const schedules: Array<Array<[string, number[]]>> = [];
    return {
      sends,
      schedules,
      send: (address) => (sends.push(address), ok),
      schedule: (peers) => schedules.push(peers.map((p) => [p.address, p.offsetsMs])),
    };
  };

  it('periodic (via the worker): every slot to the worker, slot 0 due at once', () => {
    const p = port();
    const flags: number[] = [];
    dispatch(new HeartbeatOutbox().sign(input(4)), p, true, (f) => flags.push(f));
    expect(p.sends).toEqual([]);
    expect(p.schedules).toEqual([[['198.51.100.12', [0, 100, 200, 300]]]]);
    expect(flags).toEqual([FLAG_ACK]);
  });

  it('at once (a change): slot 0 from the calling thread, the rest to the worker; a failed send is not "sent"', () => {
    const p = port(false);
    const flags: number[] = [];
    dispatch(new HeartbeatOutbox().sign(input(4)), p, false, (f) => flags.push(f));
    expect(p.sends).toEqual(['198.51.100.12']);
    expect(p.schedules).toEqual([[['198.51.100.12', [100, 200, 300]]]]);
    expect(flags).toEqual([]);
  });

  // The pump sends on its own thread: here it sends its next due packet right after each send from
  // the calling thread, the worst moment. Sequences on the wire must still only grow.
  it('at once (a change): no packet signed before leaves after slot 0, whenever the pump sends', () => {
    const outbox = new HeartbeatOutbox();
    const wire: number[] = [];
    let scheduled: Buffer[] = [];
    const pumpSendsDue = (): void => {
      const due = scheduled.shift();
      if (due) wire.push(open(due).sequence);
    };
    const pump: SendPort = {
      send: (_address, packet) => {
        wire.push(open(packet).sequence);
        pumpSendsDue();
        return true;
      },
      schedule: (peers) => void (scheduled = peers.flatMap((p) => p.packets)),
    };
    dispatch(outbox.sign(input(4)), pump, true, () => undefined); // the tick: sequences 1-4 to the pump
    pumpSendsDue(); // 1 leaves
    dispatch(outbox.sign(input(4)), pump, false, () => undefined); // a change: 5 from here, 6-8 to the pump
    expect(wire).toEqual([1, 5, 6]);
  });

  it('leaving (one slot, from here): nothing scheduled', () => {
    const p = port();
    dispatch(new HeartbeatOutbox().sign(input(1)), p, false, () => undefined);
    expect([p.sends, p.schedules]).toEqual([['198.51.100.12'], []]);
  });
});
