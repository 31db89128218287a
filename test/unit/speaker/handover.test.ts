// Planned moves (docs/maintenance.md): the drain label in the election, the make-before-break
// handover decisions (HandoverKeeper, hand-written step tables), and the responder's quiet mode
// (answers, never a gratuitous frame). Owners are written by hand from the sha256 orders listed in
// election.test.ts: 198.51.100.90 → node3 < node4 < node2 < node1; 198.51.100.91 → node4 < node2 <
// node3 < node1.
import type * as k8s from '@kubernetes/client-node';
import { ETH_P_ARP } from '../../../src/net/native';
import { parseIPv4, parseMac } from '../../../src/protocol/address';
import { buildArpRequest } from '../../../src/protocol/arp';
import { parseConfigText } from '../../../src/config/parse';
import { EXCLUDE_LABEL, type NodeFacts } from '../../../src/speaker/election/election';
import { desiredOwnership } from '../../../src/speaker/layer2/desired';
import { DRAIN_LABEL } from '../../../src/speaker/layer2/drain';
import { DEFAULT_TIMING, GratuitousSchedule } from '../../../src/speaker/layer2/gratuitous-schedule';
import { HandoverKeeper, type HandoverOutcome } from '../../../src/speaker/layer2/handover';
import { ResponderEngine } from '../../../src/speaker/layer2/responder-engine';
import type { FromWorker, OwnedAddress, ToWorker } from '../../../src/speaker/layer2/responder-messages';
import { FakeClock } from '../../support/fake-clock';
import { FakePacketIo } from '../../support/fake-packet-io';

const A = '198.51.100.90';
const B = '198.51.100.91';
const ALL = ['node1', 'node2', 'node3', 'node4'];
const DRAIN = { [DRAIN_LABEL]: 'true' };

describe('the drain label in the election', () => {
  const parsed = parseConfigText('address-pools:\n- name: lan\n  protocol: layer2\n  addresses:\n  - 198.51.100.90-198.51.100.99\n');
  if (!parsed.ok) throw new Error('bad config');
  const svc = (name: string, ip: string, local = false): k8s.V1Service => ({
    metadata: { name, namespace: 'ns' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: local ? 'Local' : 'Cluster' },
    status: { loadBalancer: { ingress: [{ ip }] } },
  });
  interface Case {
    rule: string;
    labels: Record<string, Record<string, string>>;
    alive?: string[];
    self: string;
    /** Local policy with endpoints on these nodes only. */
    localOn?: string[];
    /** Per Service a / b: announcer, drainFallback, handoverTo (as seen from `self`). */
    expect: Record<string, [string | undefined, boolean, string | undefined]>;
  }
  const cases: Case[] = [
    { rule: 'no label: the hash decides; a candidate that is not first would hand over (a rebalance)', labels: {}, self: 'node3', expect: { a: ['node3', false, undefined], b: ['node4', false, 'node4'] } },
    { rule: 'a node that is no candidate (its speaker is dead) hands nothing over', labels: {}, alive: ['node2', 'node4'], self: 'node3', expect: { a: ['node4', false, undefined], b: ['node4', false, undefined] } },
    { rule: 'the draining owner hands its address to the next in order; others are untouched', labels: { node3: DRAIN }, self: 'node3', expect: { a: ['node4', false, 'node4'], b: ['node4', false, undefined] } },
    { rule: 'the heir sees the same owners, and hands nothing over', labels: { node3: DRAIN }, self: 'node4', expect: { a: ['node4', false, undefined], b: ['node4', false, undefined] } },
    { rule: 'a candidate behind the heir would hand over to it', labels: { node3: DRAIN }, self: 'node2', expect: { a: ['node4', false, 'node4'], b: ['node4', false, 'node4'] } },
    { rule: 'two draining nodes: the third in order', labels: { node3: DRAIN, node4: DRAIN }, self: 'node3', expect: { a: ['node2', false, 'node2'], b: ['node2', false, undefined] } },
    { rule: 'the label value must be "true"', labels: { node3: { [DRAIN_LABEL]: 'false' } }, self: 'node3', expect: { a: ['node3', false, undefined], b: ['node4', false, 'node4'] } },
    { rule: 'every node draining: the hash owner still announces, flagged', labels: Object.fromEntries(ALL.map((n) => [n, DRAIN])), self: 'node3', expect: { a: ['node3', true, undefined], b: ['node4', true, 'node4'] } },
    { rule: 'Local policy, endpoints only on the draining node: it keeps announcing', labels: { node3: DRAIN }, self: 'node3', localOn: ['node3'], expect: { a: ['node3', true, undefined], b: ['node3', true, undefined] } },
    { rule: 'the exclude label hands over too, and is never a fallback', labels: { node3: { [EXCLUDE_LABEL]: '' } }, self: 'node3', expect: { a: ['node4', false, 'node4'], b: ['node4', false, undefined] } },
    { rule: 'a dead heir is skipped: the handover goes to the next live node', labels: { node3: DRAIN }, alive: ['node1', 'node2', 'node3'], self: 'node3', expect: { a: ['node2', false, 'node2'], b: ['node2', false, undefined] } },
  ];
  it.each(cases)('$rule', (c) => {
    const nodes = new Map<string, NodeFacts>(ALL.map((name) => [name, { name, labels: c.labels[name] ?? {}, networkUnavailable: false }]));
    const d = desiredOwnership({
      config: parsed.config,
      services: [svc('a', A, c.localOn !== undefined), svc('b', B, c.localOn !== undefined)],
      endpoints: () => ({ anyReady: true, readyNodes: new Set(c.localOn ?? ALL) }),
      nodes,
      members: { alive: new Set(c.alive ?? ALL), layer2Unready: new Set() },
      self: c.self,
    });
    const got = Object.fromEntries(d.services.map((e) => [e.service.slice(3), [e.result.announcer, e.drainFallback === true, e.handoverTo]]));
    expect(got).toEqual(c.expect);
  });
});

describe('HandoverKeeper (make-before-break decisions)', () => {
  const GRACE = 2300;
  type Shown = Record<string, 'loud' | 'quiet'>;
  interface Step {
    at: number;
    elected: string[];
    handingOver?: Record<string, string>;
    owned: Shown;
    started?: string[];
    ended?: Array<[string, HandoverOutcome]>;
    nextAt?: number;
  }
  interface Case {
    rule: string;
    /** What the responder answered for before the first step (all announced). */
    before: string[];
    steps: Step[];
  }
  const cases: Case[] = [
    {
      rule: 'drained: answers quietly for the grace, then stops',
      before: [A, B],
      steps: [
        { at: 0, elected: [B], handingOver: { [A]: 'node4' }, owned: { [A]: 'quiet', [B]: 'loud' }, started: [A], nextAt: GRACE },
        { at: 1000, elected: [B], handingOver: { [A]: 'node4' }, owned: { [A]: 'quiet', [B]: 'loud' }, nextAt: GRACE },
        { at: GRACE, elected: [B], handingOver: { [A]: 'node4' }, owned: { [B]: 'loud' }, ended: [[A, 'completed']] },
        { at: GRACE + 1, elected: [B], handingOver: { [A]: 'node4' }, owned: { [B]: 'loud' } },
      ],
    },
    {
      rule: 'drain cancelled midway: announced again (loud: the engine bursts)',
      before: [A],
      steps: [
        { at: 0, elected: [], handingOver: { [A]: 'node4' }, owned: { [A]: 'quiet' }, started: [A], nextAt: GRACE },
        { at: 500, elected: [A], owned: { [A]: 'loud' }, ended: [[A, 'reclaimed']] },
      ],
    },
    {
      rule: 'the heir dies and this node is the only one left: reclaimed',
      before: [A],
      steps: [
        { at: 0, elected: [], handingOver: { [A]: 'node4' }, owned: { [A]: 'quiet' }, started: [A], nextAt: GRACE },
        { at: 300, elected: [A], owned: { [A]: 'loud' }, ended: [[A, 'reclaimed']] },
      ],
    },
    {
      rule: 'the heir dies and another takes over: the same deadline',
      before: [A],
      steps: [
        { at: 0, elected: [], handingOver: { [A]: 'node4' }, owned: { [A]: 'quiet' }, started: [A], nextAt: GRACE },
        { at: 300, elected: [], handingOver: { [A]: 'node2' }, owned: { [A]: 'quiet' }, nextAt: GRACE },
        { at: GRACE, elected: [], handingOver: { [A]: 'node2' }, owned: {}, ended: [[A, 'completed']] },
      ],
    },
    {
      rule: 'the Service goes away during the handover: stops at once',
      before: [A],
      steps: [
        { at: 0, elected: [], handingOver: { [A]: 'node4' }, owned: { [A]: 'quiet' }, started: [A], nextAt: GRACE },
        { at: 100, elected: [], owned: {}, ended: [[A, 'aborted']] },
      ],
    },
    {
      rule: 'not announced before (a speaker that starts already drained): nothing to hand over',
      before: [],
      steps: [{ at: 0, elected: [], handingOver: { [A]: 'node4' }, owned: {} }],
    },
    {
      rule: 'lost for another reason (not a planned exit): stops at once, as without handovers',
      before: [A],
      steps: [{ at: 0, elected: [], owned: {} }],
    },
  ];
  it.each(cases)('$rule', (c) => {
    const k = new HandoverKeeper();
    let previous = new Map<string, OwnedAddress>(c.before.map((ip) => [ip, { address: ip }]));
    for (const s of c.steps) {
      const p = k.plan({
        elected: new Map(s.elected.map((ip) => [ip, { address: ip }])),
        handingOver: new Map(Object.entries(s.handingOver ?? {})),
        previous,
        now: s.at,
        graceMs: GRACE,
      });
      const shown = Object.fromEntries([...p.owned].map(([ip, o]) => [ip, o.quiet ? 'quiet' : 'loud']));
      expect({ at: s.at, owned: shown, started: p.started.map((h) => h.address.address), ended: p.ended.map((e) => [e.address, e.outcome]), nextAt: p.nextAt }).toEqual({
        at: s.at,
        owned: s.owned,
        started: s.started ?? [],
        ended: s.ended ?? [],
        nextAt: s.nextAt,
      });
      previous = p.owned;
    }
  });
});

describe('quiet addresses (a handover) send no gratuitous frame', () => {
  it('GratuitousSchedule: a muted key has no burst and no refresh; unmuting asks for a burst', () => {
    const s = new GratuitousSchedule<string>({ burstIntervalMs: 1100, burstDurationMs: 5000, refreshIntervalMs: 60_000 });
    s.burst(A, 0);
    expect(s.mute(A, true)).toBe(false);
    expect(s.takeDue(0)).toEqual([]);
    s.burst(A, 10);
    expect(s.nextDueAt()).toBe(Infinity);
    expect(s.mute(A, false)).toBe(true);
    expect(s.mute(A, false)).toBe(false);
    s.burst(A, 20);
    expect(s.takeDue(20)).toEqual([A]);
  });

  it('ResponderEngine: a quiet address is answered, never announced, and bursts when loud again', () => {
    const clock = new FakeClock(1000);
    const io = new FakePacketIo(clock);
    const posted: FromWorker[] = [];
    const engine = new ResponderEngine(io, io.createEventFd(), { post: (m) => posted.push(m), now: () => clock.now(), wallNow: () => clock.wallNow() });
    let id = 0;
    const send = (m: Omit<ToWorker, 'id'>) => engine.command({ ...m, id: ++id } as ToWorker);
    const eth0 = { name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:11' };
    send({ type: 'configure', interfaces: [eth0], timing: { ...DEFAULT_TIMING, refreshIntervalMs: 1000 } } as Omit<ToWorker, 'id'>);
    send({ type: 'setAddresses', addresses: [{ address: A }] } as Omit<ToWorker, 'id'>);
    const arp = io.socketsOn(2, ETH_P_ARP)[0];
    expect(arp.sent).toHaveLength(2); // the gain's gratuitous request + reply
    arp.sent.length = 0;
    send({ type: 'setAddresses', addresses: [{ address: A, quiet: true }] } as Omit<ToWorker, 'id'>);
    // Past the rest of the burst and two refresh intervals, and an interface comeback: silence.
    for (let i = 0; i < 80; i++) {
      clock.advance(100);
      engine.runSlice();
    }
    send({ type: 'configure', interfaces: [], timing: DEFAULT_TIMING } as Omit<ToWorker, 'id'>);
    send({ type: 'configure', interfaces: [eth0], timing: { ...DEFAULT_TIMING, refreshIntervalMs: 1000 } } as Omit<ToWorker, 'id'>);
    const arp2 = io.socketsOn(2, ETH_P_ARP)[0];
    expect(arp.sent.length + arp2.sent.length).toBe(0);
    // ...but a request is answered (an ARP reply, opcode 2, with our MAC).
    io.deliver(2, ETH_P_ARP, buildArpRequest(parseMac('02:00:00:00:00:10'), parseIPv4('198.51.100.10'), parseIPv4(A)));
    engine.runSlice();
    expect(arp2.sent).toHaveLength(1);
    expect(arp2.sent[0].readUInt16BE(20)).toBe(2);
    expect(arp2.sent[0].subarray(22, 28).toString('hex')).toBe('020000000011');
    arp2.sent.length = 0;
    // Loud again (the drain was cancelled): a burst starts at once.
    send({ type: 'setAddresses', addresses: [{ address: A }] } as Omit<ToWorker, 'id'>);
    expect(arp2.sent).toHaveLength(2);
  });
});
