import { encodeHeartbeat, heartbeatKey, type Heartbeat } from '../../../src/speaker/membership/heartbeat-codec';
import { HeartbeatAdmission, sourceKey } from '../../../src/speaker/membership/heartbeat-admission';

const key = heartbeatKey(Buffer.alloc(32, 7));
const A = sourceKey(Buffer.from([198, 51, 100, 11]));
const B = sourceKey(Buffer.from([198, 51, 100, 12]));
const STRANGER = sourceKey(Buffer.from([198, 51, 100, 66]));

function hb(over: Partial<Heartbeat> = {}): Heartbeat {
  return { node: 'a', addressee: 'self', incarnation: 3, sequence: 1, timestamp: 1, flags: 0, echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0, ...over };
}

function admission(): HeartbeatAdmission {
  const a = new HeartbeatAdmission({ self: 'self' });
  a.setPeers([{ node: 'a', source: A }, { node: 'b', source: B }, { node: 'self', source: sourceKey(Buffer.from([198, 51, 100, 13])) }], 0);
  a.setKeys([key]);
  return a;
}

const reason = (r: ReturnType<HeartbeatAdmission['admit']>): string => (r.ok ? 'ok' : r.reason);

describe('heartbeat admission (checks before the MAC)', () => {
  it('accepts an authentic heartbeat from its Lease address and returns it decoded', () => {
    const r = admission().admit(encodeHeartbeat(hb(), key), A);
    expect(r).toEqual({ ok: true, heartbeat: hb(), keyId: key.id });
  });

  it('drops, in this order: unknown source, malformed, wrong sender for the source, misaddressed, unknown key', () => {
    const a = admission();
    expect(reason(a.admit(encodeHeartbeat(hb(), key), STRANGER))).toBe('unknown-source');
    expect(reason(a.admit(Buffer.from('not a heartbeat at all'), A))).toBe('malformed');
    // b's address claiming to be a: a peer (or a pod behind its address) spoofing another name.
    expect(reason(a.admit(encodeHeartbeat(hb(), key), B))).toBe('unknown-source');
    // Authentic, but for another node (a relayed A->B packet): no MAC check needed to refuse it.
    expect(reason(a.admit(encodeHeartbeat(hb({ addressee: 'b' }), key), A))).toBe('misaddressed');
    expect(reason(a.admit(encodeHeartbeat(hb(), heartbeatKey(Buffer.alloc(32, 9))), A))).toBe('unknown-key');
    // Our own address is never a peer.
    expect(reason(a.admit(encodeHeartbeat(hb({ node: 'self' }), key), sourceKey(Buffer.from([198, 51, 100, 13]))))).toBe('unknown-source');
  });

  it('drops a forged MAC and a replay; only authentic heartbeats move the replay window', () => {
    const a = admission();
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 5 }), key), A))).toBe('ok');
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 5 }), key), A))).toBe('replayed');
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 4 }), key), A))).toBe('replayed');
    expect(reason(a.admit(encodeHeartbeat(hb({ incarnation: 2, sequence: 99 }), key), A))).toBe('replayed');
    // A forgery with a huge sequence is refused and does not raise the window for the real peer.
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 1e12 }), { id: key.id, secret: Buffer.alloc(32, 1) }), A))).toBe('forged');
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 6 }), key), A))).toBe('ok');
    expect(reason(a.admit(encodeHeartbeat(hb({ incarnation: 4, sequence: 1 }), key), A))).toBe('ok');
  });

  it('refuses a datagram the pump could not hold whole as malformed', () => {
    expect(admission().admit(undefined, A)).toEqual({ ok: false, reason: 'malformed', node: 'a' });
  });

  it('follows peer and key changes: a gone peer becomes unknown, a dropped key unknown-key', () => {
    const a = admission();
    a.setPeers([{ node: 'b', source: B }], 0);
    expect(reason(a.admit(encodeHeartbeat(hb(), key), A))).toBe('unknown-source');
    a.setPeers([{ node: 'a', source: A }], 0);
    a.setKeys([]);
    expect(reason(a.admit(encodeHeartbeat(hb(), key), A))).toBe('unknown-key');
  });

  it('keeps the replay window of a node whose Lease went away and came back', () => {
    const a = admission();
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 50 }), key), A))).toBe('ok');
    a.setPeers([], 1000);
    a.setPeers([{ node: 'a', source: A }], 2000);
    expect(reason(a.admit(encodeHeartbeat(hb({ sequence: 50 }), key), A))).toBe('replayed');
  });
});
