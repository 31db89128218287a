// Issue 14.1 and 14.2, on the namespace LAN: unauthenticated heartbeat traffic must not move or
// withdraw an address.
// - A LAN host floods every node's heartbeat port with heartbeat-shaped UDP for 10 s (hbtool, the
//   highest rate this machine gives), first from its own address, then with the speakers' own
//   addresses as source (spoofed); the client probes the address every 10 ms throughout.
// - An on-path host relays A->B heartbeats to C: C must not take them as A's word about C.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../harness/kube';
import type { NodeHost } from '../harness/l2-lab';
import { metrics, total, type Datagram, type SendStats } from './adversity/attacker';
import { AdversityLab, SPEAKER_NS } from './adversity/lab';
import { encodeHeartbeat, heartbeatKey, sequenceOffset } from '../../src/speaker/membership/heartbeat-codec';
import { INCARNATION_ANNOTATION, MEMBERLIST_SECRET, MEMBERLIST_SECRET_KEY } from '../../src/speaker/membership/heartbeat-store';

jest.setTimeout(600_000);

const PORT = 7946;
const FLOOD_SECONDS = 10;

describe('heartbeats under attack: floods and relays', () => {
  let lab: AdversityLab;

  beforeAll(async () => {
    lab = await AdversityLab.create();
  });

  afterAll(async () => {
    await lab?.destroy('flood');
  });

  /**
   * A heartbeat-shaped datagram from `sender` to `addressee` that gets as far as a MAC check: the
   * real key's id (public: it is in every heartbeat), the sender's current incarnation (from its
   * Lease) and fresh sequence numbers (hbtool counts up from 2^40), signed with a random key.
   */
  async function shaped(sender: NodeHost, addressee: NodeHost): Promise<{ payload: Buffer; seqOffset: number }> {
    const { l2 } = lab;
    const core = l2.kc.makeApiClient(k8s.CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: MEMBERLIST_SECRET, namespace: SPEAKER_NS });
    const keyId = heartbeatKey(Buffer.from(secret.data?.[MEMBERLIST_SECRET_KEY] ?? '', 'base64')).id;
    const lease = await l2.kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: `ironlb-speaker-${sender.nodeName}`, namespace: SPEAKER_NS });
    const incarnation = Number(lease.metadata?.annotations?.[INCARNATION_ANNOTATION] ?? 1);
    const fields = { node: sender.nodeName, addressee: addressee.nodeName, incarnation, sequence: 2 ** 40, timestamp: 1, flags: 0, echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0 };
    const payload = encodeHeartbeat(fields, { id: keyId, secret: randomBytes(32) });
    return { payload, seqOffset: sequenceOffset(payload) };
  }

  type FloodResult = {
    flood: SendStats;
    owner: string;
    probes: { sent: number; lost: number; nodes: string[] };
    ownerChanges: number[];
    isolated: number[];
    membershipChanges: number[];
    dropped: Record<string, number[]>;
  };

  /** Floods every node for FLOOD_SECONDS while the client probes; returns what happened. */
  async function floodAndWatch(name: string, source: (sender: NodeHost) => string): Promise<FloodResult> {
    const { l2, attacker } = lab;
    const { probe, owner } = await lab.serviceWithProbe(name);
    const before = await Promise.all(l2.nodes.map((n) => metrics(l2, n)));
    const datagrams: Datagram[] = [];
    for (const target of l2.nodes) {
      for (const sender of l2.nodes.filter((n) => n !== target)) {
        datagrams.push({ src: source(sender), dst: target.ipv4 ?? '', port: PORT, ...(await shaped(sender, target)) });
      }
    }
    const t0 = Date.now();
    const sent = await attacker.flood(datagrams, FLOOD_SECONDS);
    const t1 = Date.now();
    // Answers to the last probes may still be on their way: one dead interval (500 ms) plus slack.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await Promise.all(l2.nodes.map((n) => metrics(l2, n)));
    const delta = (reason: string): number[] => l2.nodes.map((_, i) => total(after[i], 'ironlb_speaker_heartbeat_dropped_total', `reason="${reason}"`) - total(before[i], 'ironlb_speaker_heartbeat_dropped_total', `reason="${reason}"`));
    const ownerChanges = l2.nodes.map((_, i) => total(after[i], 'ironlb_speaker_ownership_changes_total') - total(before[i], 'ironlb_speaker_ownership_changes_total'));
    const probes = probe.summary(t0, t1);
    const result: FloodResult = {
      flood: sent,
      owner: owner.nodeName,
      probes,
      ownerChanges,
      isolated: l2.nodes.map((n) => lab.logsSince(n, t0, 'isolated').length),
      membershipChanges: l2.nodes.map((n) => lab.logsSince(n, t0, 'speaker membership changed').length),
      dropped: Object.fromEntries(['kernel', 'unknown-source', 'malformed', 'misaddressed', 'unknown-key', 'replayed', 'rate-limited', 'forged'].map((r) => [r, delta(r)])),
    };
    process.stderr.write(`flood (${name}): ${JSON.stringify(result)}\n`);
    return result;
  }

  function expectNothingMoved(r: FloodResult): void {
    expect(r.probes.sent).toBeGreaterThan(300);
    expect(r.probes.lost).toBe(0);
    expect(r.probes.nodes).toEqual([r.owner]);
    expect(r.ownerChanges).toEqual([0, 0, 0]);
    expect(r.isolated).toEqual([0, 0, 0]);
    expect(r.membershipChanges).toEqual([0, 0, 0]);
  }

  it('a 10 s heartbeat-shaped flood from a LAN host moves nothing and loses no probe; the kernel drops it', async () => {
    const r = await floodAndWatch('flood-lan', () => lab.attacker.host.ipv4 ?? '');
    expect(r.flood.sent).toBeGreaterThan(50_000);
    expectNothingMoved(r);
    // Every node's kernel dropped most of what was aimed at it (a third of the flood each); none
    // of it reached a MAC check.
    for (const k of r.dropped.kernel) expect(k).toBeGreaterThan(r.flood.sent / 3 / 2);
    expect(r.dropped.forged).toEqual([0, 0, 0]);
  });

  it('the same flood with the speakers\' own addresses as source (spoofed) moves nothing: forged and rate-limited', async () => {
    const r = await floodAndWatch('flood-spoofed', (sender) => sender.ipv4 ?? '');
    expect(r.flood.sent).toBeGreaterThan(50_000);
    expectNothingMoved(r);
    // It passed the kernel filter (peer addresses): MAC checks, capped per peer, and the rest
    // rate-limited without crypto.
    for (let i = 0; i < 3; i++) {
      expect(r.dropped.forged[i]).toBeGreaterThan(0);
      expect(r.dropped['rate-limited'][i]).toBeGreaterThan(r.dropped.forged[i]);
    }
  });

  it('a speaker cut off from the API server alone withdraws before its peers take its address over', async () => {
    // C is the owner. Cut C off the API server only: A and B still reach it, prove C's Lease
    // expired (the lab's 3 s) and move the address. C hears their API_OK heartbeats and, its own
    // last renewal having started a Lease duration (less 200 ms) ago, withdraws first
    // (self-fence.ts). Before, C learnt it had been dropped only from A's and B's heartbeats once
    // they stopped acknowledging it, after the new owner announced (and heartbeats signed ahead
    // still acknowledged it for up to 300 ms more): two nodes answered ARP for the address.
    // The oracle is the wire: every ARP reply the client gets, from a request every 20 ms.
    const { l2 } = lab;
    const { ip, owner: c } = await lab.serviceWithProbe('fence');
    const dump = l2.lab.spawn(l2.client, ['tcpdump', '--immediate-mode', '-i', 'eth0', '-e', '-n', '-l', '-tt', 'arp']);
    let captured = '';
    dump.stdout?.on('data', (d: Buffer) => (captured += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    const requester = l2.lab.spawn(l2.client, ['arping', '-q', '-W', '0.02', '-c', '400', '-I', 'eth0', ip]);
    const tCut = Date.now();
    await l2.lab.ip(c.ns, ['route', 'add', 'blackhole', '198.51.100.1/32']);
    try {
      // A Lease duration after C's last renewal, plus the proof renewal and a look: at most 3 s
      // after the cut, 1 s for slack; then 2 s more of requests.
      const moved = await eventually('A or B to announce the address', async () => {
        const macs = replies(captured, ip).map((r) => r.mac);
        return macs.some((m) => m !== c.mac) ? macs.find((m) => m !== c.mac) : undefined;
      }, 10_000, 50);
      await new Promise((r) => setTimeout(r, 2000));
      const got = replies(captured, ip).filter((r) => r.t * 1000 >= tCut);
      const cLast = Math.max(...got.filter((r) => r.mac === c.mac).map((r) => r.t));
      const newFirst = Math.min(...got.filter((r) => r.mac !== c.mac).map((r) => r.t));
      const requests = requestTimes(captured, ip);
      const doubly = requests.filter((t, i) => new Set(got.filter((r) => r.t > t && r.t <= (requests[i + 1] ?? Infinity)).map((r) => r.mac)).size > 1).length;
      process.stderr.write(`fence: C's last ARP reply ${((cLast - tCut / 1000) * 1000).toFixed(0)} ms after the cut, ${moved}'s first ${((newFirst - tCut / 1000) * 1000).toFixed(0)} ms; ${doubly} of ${requests.length} requests answered by two nodes\n`);
      expect(got.filter((r) => r.mac === c.mac).length).toBeGreaterThan(0);
      expect(doubly).toBe(0);
      expect(cLast).toBeLessThan(newFirst);
      expect(lab.logsSince(c, tCut, 'fenced:')).toHaveLength(1);
    } finally {
      requester.kill('SIGKILL');
      dump.kill('SIGINT');
      await l2.lab.ip(c.ns, ['route', 'del', 'blackhole', '198.51.100.1/32']);
    }
    // Back: C renews, is acknowledged again and stops withdrawing.
    await eventually('C no longer fenced', async () => lab.logsSince(c, tCut, 'no longer fenced').length > 0 || undefined, 15_000, 100);
  });

  it('an on-path host relaying A->B heartbeats to C does not make A acknowledge C', async () => {
    // C is the owner. Cut C off the API server: its Lease expires in A's and B's views, they stop
    // acknowledging C and take its address; C (rejoin rule) announces nothing until a live peer
    // acknowledges it again.
    const { l2, attacker } = lab;
    const { probe, owner: c } = await lab.serviceWithProbe('relay');
    const [a, b] = l2.nodes.filter((n) => n !== c);
    const apiRoute = ['route', 'add', 'blackhole', '198.51.100.1/32'];
    const tCut = Date.now();
    await l2.lab.ip(c.ns, apiRoute);
    let relay: { stop: () => Promise<number> } | undefined;
    try {
      // The lab's Lease lasts 3 s; A and B drop C after it and move the address.
      const moved = await eventually('A or B to take the address over', async () => {
        const o = probe.stableOwner(500);
        return o !== undefined && o !== c.nodeName ? o : undefined;
      }, 20_000, 100);
      // A and B prove C dead within a request's time of each other: each renews its own Lease the
      // moment C's runs out (lease-membership.ts, proofDueAt), instead of at its own next regular
      // renewal, which left them disagreeing for up to the renewal interval (the lab's 1 s) while
      // C, still acknowledged by one of them, kept announcing next to the new owner. Bound: half
      // the renewal interval, against the ~20 ms slack plus two Lease writes.
      const droppedC = (n: typeof a): number | undefined => {
        const l = lab.logsSince(n, tCut, 'speaker membership changed').find((e) => e.source === undefined && Array.isArray(e.left) && (e.left as string[]).includes(c.nodeName)); // the Lease view's (no source)
        return l ? Date.parse(String(l.ts)) : undefined;
      };
      const drops = await eventually('A and B to drop C', async () => {
        const [da, db] = [droppedC(a), droppedC(b)];
        return da !== undefined && db !== undefined ? [da, db] : undefined;
      }, 5000, 100);
      process.stderr.write(`relay: A and B dropped C ${Math.abs(drops[0] - drops[1])} ms apart\n`);
      expect(Math.abs(drops[0] - drops[1])).toBeLessThan(500);
      // A's own heartbeats to C are dropped on the way (the attacker is on-path); A's heartbeats
      // to B (which say ACK: A counts B alive) are copied to C instead.
      await l2.lab.ip(a.ns, ['route', 'add', 'blackhole', `${c.ipv4}/32`]);
      const t0 = Date.now();
      relay = await attacker.relay(a, b, c);
      // Five dead intervals (2.5 s): C has long dropped A's genuine heartbeats by then.
      await new Promise((r) => setTimeout(r, 2500));
      const relayed = await relay.stop();
      relay = undefined;
      // The receiver reports its counters every second: wait two before reading them.
      await new Promise((r) => setTimeout(r, 2000));
      const gained = lab.logsSince(c, t0, 'layer2 addresses changed').filter((l) => Array.isArray(l.gained) && (l.gained as string[]).length > 0);
      const after = await metrics(l2, c);
      process.stderr.write(`relay: ${relayed} A->B heartbeats relayed to C; C gained ${gained.length} address sets; C misaddressed drops ${total(after, 'ironlb_speaker_heartbeat_dropped_total', 'reason="misaddressed"')}\n`);
      expect(relayed).toBeGreaterThan(5);
      expect(gained).toEqual([]);
      expect(total(after, 'ironlb_speaker_heartbeat_dropped_total', 'reason="misaddressed"')).toBeGreaterThanOrEqual(relayed);
      const answered = probe.summary(t0, Date.now() - 500).nodes;
      if (answered.length !== 1 || answered[0] !== moved) {
        // Seen once in a fresh-clone CI (node1 answering besides node3) and not since: say who
        // answered when, and what each speaker saw, so that a recurrence can be explained.
        const at = (n: string): number[] => [...probe.replies.values()].filter((r) => r.node === n && probe.sentAt[r.seq] >= t0).map((r) => probe.sentAt[r.seq] - t0);
        const firsts = answered.map((n) => `${n} at ${Math.min(...at(n))}..${Math.max(...at(n))} ms (${at(n).length} replies)`);
        const seen = l2.nodes.map((n) => `${n.nodeName}: ${JSON.stringify(lab.logsSince(n, t0 - 5000, '').filter((l) => /membership changed|addresses changed|handover|isolated|serviceWithdrawn|serviceAnnounced/.test(String(l.msg))).map((l) => [l.ts, l.msg, l.alive ?? l.gained ?? l.newOwner ?? '']))}`);
        process.stderr.write(`relay: after t0 answered by ${firsts.join(', ')} (expected only ${moved})\n${seen.join('\n')}\n`);
      }
      expect(answered).toEqual([moved]);
    } finally {
      await relay?.stop();
      await l2.lab.ip(a.ns, ['route', 'del', 'blackhole', `${c.ipv4}/32`]).catch(() => undefined);
      await l2.lab.ip(c.ns, ['route', 'del', 'blackhole', '198.51.100.1/32']);
    }
  });
});

/** ARP replies for `ip` in a `tcpdump -e -n -tt arp` capture: when, and from which MAC. */
function replies(captured: string, ip: string): Array<{ t: number; mac: string }> {
  const re = new RegExp(`^(\\d+\\.\\d+) ([0-9a-f:]{17}) > .*Reply ${ip.replace(/\./g, '\\.')} is-at ([0-9a-f:]{17})`);
  return captured.split('\n').flatMap((l) => {
    const m = re.exec(l);
    return m ? [{ t: Number(m[1]), mac: m[3] }] : [];
  });
}

/** When the client asked who has `ip` (its own requests: the sender is not `ip`). */
function requestTimes(captured: string, ip: string): number[] {
  const re = new RegExp(`^(\\d+\\.\\d+) .*Request who-has ${ip.replace(/\./g, '\\.')} tell (\\S+?),`);
  return captured.split('\n').flatMap((l) => {
    const m = re.exec(l);
    return m && m[2] !== ip ? [Number(m[1])] : [];
  });
}
