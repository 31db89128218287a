// Issue 14.3 and 14.4, on the namespace LAN:
// - the heartbeat key is rotated (twice) while the client probes the address every 10 ms: no
//   ownership change, no membership change; after the grace period a heartbeat signed with an old
//   key is refused (a "the owner is leaving" one, which on main made the peer drop the owner);
// - a speaker whose clock was an hour ahead restarts with the right time (a step back of 1 h):
//   its peers take it back at once, whether it was killed (its Lease keeps its incarnation) or
//   stopped gracefully (its Lease is gone: the peers tell it which incarnation to move past).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../harness/kube';
import type { NodeHost } from '../harness/l2-lab';
import { waitForLog, type IronlbProcess } from '../harness/processes';
import { metrics, total, type SeqProbe } from './adversity/attacker';
import { AdversityLab, SPEAKER_NS } from './adversity/lab';
import { encodeHeartbeat, FLAG_LEAVING, heartbeatKey } from '../../src/speaker/membership/heartbeat-codec';
import { INCARNATION_ANNOTATION, MEMBERLIST_SECRET, MEMBERLIST_SECRET_KEY } from '../../src/speaker/membership/heartbeat-store';

jest.setTimeout(600_000);

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
/** The lab's --lease-renew 1: the Secret is read every second (heartbeat-membership.ts). */
const KEY_REFRESH_MS = 1000;
/** Every speaker has read a new key after one period and drops the old one 4 periods later. */
const OLD_KEY_GONE_MS = KEY_REFRESH_MS + 4 * KEY_REFRESH_MS;

describe('heartbeats: key rotation and clock steps', () => {
  let lab: AdversityLab;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: apt-get install faketime (scripts/setup.sh)`);
    lab = await AdversityLab.create();
    core = lab.l2.kc.makeApiClient(k8s.CoreV1Api);
  });

  afterAll(async () => {
    await lab?.destroy('keys-clock');
  });

  async function currentKey(): Promise<Buffer> {
    const s = await core.readNamespacedSecret({ name: MEMBERLIST_SECRET, namespace: SPEAKER_NS });
    return Buffer.from(s.data?.[MEMBERLIST_SECRET_KEY] ?? '', 'base64');
  }

  async function rotate(): Promise<void> {
    await core.replaceNamespacedSecret({
      name: MEMBERLIST_SECRET,
      namespace: SPEAKER_NS,
      body: { metadata: { name: MEMBERLIST_SECRET, namespace: SPEAKER_NS }, type: 'Opaque', data: { [MEMBERLIST_SECRET_KEY]: randomBytes(32).toString('base64') } },
    });
  }

  async function incarnationOf(n: NodeHost): Promise<number> {
    const lease = await lab.l2.kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: `ironlb-speaker-${n.nodeName}`, namespace: SPEAKER_NS });
    return Number(lease.metadata?.annotations?.[INCARNATION_ANNOTATION] ?? NaN);
  }

  it('rotates the key twice without an ownership change; afterwards a heartbeat signed with an old key is refused', async () => {
    const { l2, attacker } = lab;
    const { probe, owner } = await lab.serviceWithProbe('rotate');
    const before = await Promise.all(l2.nodes.map((n) => metrics(l2, n)));
    const oldKeys = [await currentKey()];
    const t0 = Date.now();
    await rotate();
    await new Promise((r) => setTimeout(r, OLD_KEY_GONE_MS + 2000));
    oldKeys.push(await currentKey());
    await rotate();
    await new Promise((r) => setTimeout(r, OLD_KEY_GONE_MS + 2000));
    const t1 = Date.now();
    const after = await Promise.all(l2.nodes.map((n) => metrics(l2, n)));
    const probes = probe.summary(t0, t1 - 500);
    const ownerChanges = l2.nodes.map((_, i) => total(after[i], 'ironlb_speaker_ownership_changes_total') - total(before[i], 'ironlb_speaker_ownership_changes_total'));
    const membershipChanges = l2.nodes.map((n) => lab.logsSince(n, t0, 'speaker membership changed').length);
    const keyChanges = l2.nodes.map((n) => lab.logsSince(n, t0, 'heartbeat key changed').length);
    process.stderr.write(`rotation: ${JSON.stringify({ owner: owner.nodeName, probes, ownerChanges, membershipChanges, keyChanges })}\n`);
    expect(keyChanges).toEqual([2, 2, 2]);
    expect(ownerChanges).toEqual([0, 0, 0]);
    expect(membershipChanges).toEqual([0, 0, 0]);
    expect(probes.nodes).toEqual([owner.nodeName]);
    expect(probes.lost).toBe(0);

    // "The owner is leaving", from the owner's own address, to each other node, well-formed in
    // every way (incarnation from its Lease, a fresh sequence) but signed with an old key.
    const incarnation = await incarnationOf(owner);
    const others = l2.nodes.filter((n) => n !== owner);
    const datagrams = others.flatMap((to) =>
      oldKeys.map((secret, i) => {
        const fields = { node: owner.nodeName, addressee: to.nodeName, incarnation, sequence: 2 ** 45 + i, timestamp: 1, flags: FLAG_LEAVING, echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0 };
        return { src: owner.ipv4 ?? '', dst: to.ipv4 ?? '', port: 7946, payload: encodeHeartbeat(fields, heartbeatKey(secret)), seqOffset: -1 };
      }),
    );
    const t2 = Date.now();
    const unknown0 = await Promise.all(others.map(async (n) => total(await metrics(l2, n), 'ironlb_speaker_heartbeat_dropped_total', 'reason="unknown-key"')));
    await attacker.send(datagrams);
    // Counters reach the metrics within a second (the receiver reports every second): wait two.
    await new Promise((r) => setTimeout(r, 2000));
    const unknown1 = await Promise.all(others.map(async (n) => total(await metrics(l2, n), 'ironlb_speaker_heartbeat_dropped_total', 'reason="unknown-key"')));
    process.stderr.write(`old keys after the grace: unknown-key drops ${JSON.stringify(others.map((n, i) => [n.nodeName, unknown1[i] - unknown0[i]]))}\n`);
    for (const n of others) expect(lab.logsSince(n, t2, 'speaker left')).toEqual([]);
    others.forEach((_, i) => expect(unknown1[i] - unknown0[i]).toBe(oldKeys.length));
    expect(probe.summary(t2, Date.now() - 500).nodes).toEqual([owner.nodeName]);
  });

  /** Restarts `n`'s speaker (after `how`), its clock `offset` from the real one; waits until it
   * answers again, and says how long after its start-up that took. */
  async function restart(n: NodeHost, how: 'SIGKILL' | 'SIGTERM', offset: string | undefined, probe: SeqProbe): Promise<{ rejoinedMs: number; proc: IronlbProcess }> {
    lab.earlierOutputs.push(`==== ${n.nodeName} (before a ${how} restart)\n${n.speaker?.output() ?? ''}`);
    await n.speaker?.kill(how);
    const env = offset ? { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' } : undefined;
    const proc = lab.l2.startSpeaker(n, [], env);
    await waitForLog(proc, 'speaker started', 240_000);
    const t0 = Date.now();
    // The hash gives the address back to n once its peers count it (start-up settle ~1.5 s, then
    // a heartbeat round); 20 s leaves room for this loaded machine, a lock-out never ends.
    const back = await eventually(`${n.nodeName} to answer the probe again`, async () => (probe.stableOwner(500) === n.nodeName ? true : undefined), 20_000, 50);
    expect(back).toBe(true);
    return { rejoinedMs: Date.now() - t0, proc };
  }

  it('takes back a speaker whose clock stepped back an hour across a restart (killed, then stopped)', async () => {
    const { l2 } = lab;
    const { probe, owner: x } = await lab.serviceWithProbe('clock');
    const peers = l2.nodes.filter((n) => n !== x);
    // Its clock an hour ahead (a node before its NTP correction): a new, later incarnation anyway.
    await restart(x, 'SIGKILL', '+1h', probe);
    const replayed0 = await Promise.all(peers.map(async (n) => total(await metrics(l2, n), 'ironlb_speaker_heartbeat_dropped_total', 'reason="replayed"')));
    const inc0 = await incarnationOf(x);
    // The step back: killed, restarted with the real time. Its Lease keeps its incarnation.
    const killed = await restart(x, 'SIGKILL', undefined, probe);
    const inc1 = await incarnationOf(x);
    const replayed1 = await Promise.all(peers.map(async (n) => total(await metrics(l2, n), 'ironlb_speaker_heartbeat_dropped_total', 'reason="replayed"')));
    process.stderr.write(`clock step back, SIGKILL: answered again ${killed.rejoinedMs} ms after its start-up; incarnation ${inc0} -> ${inc1}; peers' replayed drops +${replayed1.map((v, i) => v - replayed0[i]).join(', +')}\n`);
    expect(inc1).toBe(inc0 + 1);
    expect(replayed1).toEqual(replayed0);
    // Again an hour ahead, then a graceful stop (its Lease, and the stored incarnation, are
    // deleted) and a restart with the real time: the peers' echo makes it move past its old one.
    await restart(x, 'SIGKILL', '+1h', probe);
    const inc2 = await incarnationOf(x);
    const stopped = await restart(x, 'SIGTERM', undefined, probe);
    // The move past the old incarnation reaches the Lease at the next renewal (every second here).
    const inc3 = await eventually('the Lease to record the new incarnation', async () => {
      const v = await incarnationOf(x);
      return v > inc2 ? v : undefined;
    }, 5000, 100);
    process.stderr.write(`clock step back, SIGTERM: answered again ${stopped.rejoinedMs} ms after its start-up; incarnation ${inc2} -> ${inc3}\n`);
    expect(inc3).toBeGreaterThan(inc2);
    await waitForLog(stopped.proc, 'our heartbeat incarnation was used before', 5000);
  });
});
