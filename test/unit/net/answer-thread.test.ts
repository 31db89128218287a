// The addon's answer thread (native/src/answer_thread.c) on real packet sockets on lo: what it
// answers, what it passes to the main thread, its fence, limit, beats, faults and stop. The answer
// bytes themselves are compared with the TypeScript answer path in l2-answer-native*.test.ts;
// here the expected values are written from the ARP rules (RFC 826) by hand.
import { ETH_P_ARP, tryLoadNative, type IronlbNative } from '../../../src/net/native';
import { ANSWER_SLOT, type AnswerHandle, type AnswerStats } from '../../../src/net/answer-thread-types';
import { arpFilter } from '../../../src/net/bpf';
import { formatIPv4, formatMac, parseIPv4, parseMac } from '../../../src/protocol/address';
import { ArpOperation, buildArpRequest, decodeArpFrame } from '../../../src/protocol/arp';

const native = tryLoadNative();
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const d = native && root ? describe : describe.skip;

const LO = 1;
const NODE_MAC = '02:00:00:00:aa:01';
const CLIENT_MAC = '02:00:00:00:bb:02';
const VIP = '198.51.100.90';
const CLIENT_IP = '198.51.100.10';
/** The thread's loop beats at least every 100 ms (ANS_IDLE_WAIT_MS): bounds below are in those. */
const LOOP_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

d('answer thread on lo', () => {
  const n = native as IronlbNative;
  let h: AnswerHandle;
  let threadFd: number;
  let testFd: number;
  let events = 0;

  /** ARP replies seen on lo (a packet socket there sees the looped-back copy of each frame only). */
  function readReplies(): Array<{ to: string; ip: string; mac: string }> {
    const out: Array<{ to: string; ip: string; mac: string }> = [];
    const buf = Buffer.alloc(2048);
    const meta = new Int32Array(3);
    for (;;) {
      const len = n.recv(testFd, buf, meta);
      if (len < 0) return out;
      const f = decodeArpFrame(buf, len);
      if (f.ok && f.value.arp.operation === ArpOperation.Reply) {
        out.push({ to: formatMac(f.value.ethernet.destination), ip: formatIPv4(f.value.arp.senderProtocolAddress), mac: formatMac(f.value.arp.senderHardwareAddress) });
      }
    }
  }

  function request(from = CLIENT_MAC, target = VIP): void {
    n.send(testFd, buildArpRequest(parseMac(from), parseIPv4(CLIENT_IP), parseIPv4(target)));
  }

  /** Waits until onEvent has run `count` times: it is delivered on a later turn of the event loop than the thread's counters move. */
  async function eventsAtLeast(count: number): Promise<void> {
    for (let i = 0; i < 30 && events < count; i++) await sleep(LOOP_MS / 5);
    expect(events).toBeGreaterThanOrEqual(count);
  }

  /** Waits until the thread's counters satisfy `ok` (a few loop passes at most). */
  async function until(ok: (s: AnswerStats) => boolean, what: string): Promise<AnswerStats> {
    for (let i = 0; i < 30; i++) {
      const s = n.ansStats(h);
      if (ok(s)) return s;
      await sleep(LOOP_MS / 5);
    }
    throw new Error(`answer thread: ${what}: ${JSON.stringify(n.ansStats(h))}`);
  }

  beforeEach(() => {
    events = 0;
    h = n.ansStart(() => events++, { capacity: 8, forwardRate: 1000, forwardBurst: 100, replyRate: 0, replyBurst: 0 });
    threadFd = n.openPacketSocket(LO, ETH_P_ARP, arpFilter());
    testFd = n.openPacketSocket(LO, ETH_P_ARP, arpFilter());
    n.ansSockets(h, [{ fd: threadFd, ifindex: LO, mac: parseMac(NODE_MAC), kind: 0 }], -1);
    n.ansOwned(h, [{ ip: parseIPv4(VIP), ifindexes: null }]);
  });

  afterEach(() => {
    n.ansStop(h, 1000);
    n.close(threadFd);
    n.close(testFd);
  });

  it('answers a request for an owned address from the interface MAC to the requester', async () => {
    request();
    await until((s) => s.replies.arp === 1, 'one reply');
    expect(readReplies()).toEqual([{ to: CLIENT_MAC, ip: VIP, mac: NODE_MAC }]);
    // It also reads its own reply looped back (a reply: not answered, notRequest).
    const s = await until((x) => x.requests.arp === 2, 'its reply read back');
    expect(s.drops.notRequest).toBe(1);
  });

  it('stops answering an address the moment a table without it is handed over', async () => {
    n.ansOwned(h, []);
    request();
    await until((s) => s.drops.notOwned >= 1, 'a notOwned drop');
    await sleep(LOOP_MS);
    expect(n.ansStats(h).replies.arp).toBe(0);
    expect(readReplies()).toEqual([]);
  });

  it('answers on the interfaces an address is limited to only', async () => {
    n.ansOwned(h, [{ ip: parseIPv4(VIP), ifindexes: [LO + 100] }]);
    request();
    await until((s) => s.drops.interfaceNotAllowed >= 1, 'an interfaceNotAllowed drop');
    expect(n.ansStats(h).replies.arp).toBe(0);
  });

  it('passes replies (claims) to the main thread, but not a client request it answered', async () => {
    request();
    await until((s) => s.replies.arp === 1, 'one reply');
    // Our request (answered): not passed on; the looped copy of the thread's own reply is a reply
    // from another MAC's point of view on lo: passed on, with its interface and kind.
    const s = await until((x) => x.forwarded >= 1, 'a forwarded reply');
    expect(s.notForwarded).toBeGreaterThanOrEqual(1);
    await eventsAtLeast(1);
    expect(n.ansEvents(h)).toMatchObject({ frames: true, monitor: false, exited: false });
    const buf = Buffer.alloc(ANSWER_SLOT * 4);
    const meta = new Float64Array(16);
    const got = n.ansTake(h, buf, meta);
    expect(got).toBeGreaterThanOrEqual(1);
    const f = decodeArpFrame(buf, meta[0]);
    expect(f.ok && f.value.arp.operation).toBe(ArpOperation.Reply);
    expect([meta[1], meta[2]]).toEqual([LO, 0]);
  });

  it('a fenced thread sends nothing', async () => {
    n.ansFence(h);
    request();
    await until((s) => s.fenced === 1, 'one fenced answer');
    expect(n.ansStats(h).replies.arp).toBe(0);
    expect(readReplies()).toEqual([]);
  });

  it('answers only inside the window the main thread keeps extending (ansAnswerFor), and again once extended', async () => {
    // Before any ansAnswerFor there is no window: answered.
    request();
    await until((s) => s.replies.arp === 1, 'an answer without a window');
    n.ansAnswerFor(h, 150);
    request();
    await until((s) => s.replies.arp === 2, 'an answer inside the window');
    // Not extended: 150 ms later the window has closed (waited 250 ms to be clear of it).
    await sleep(250);
    request();
    const s = await until((x) => x.withheld === 1, 'one withheld answer');
    expect(s.replies.arp).toBe(2);
    n.ansAnswerFor(h, 150);
    request();
    const after = await until((x) => x.replies.arp === 3, 'an answer once extended again');
    expect(after.withheld).toBe(1);
    expect(readReplies().filter((r) => r.to === CLIENT_MAC)).toHaveLength(3);
  });

  it('holds one destination to its answer limit', async () => {
    n.ansLimit(h, 1, 2); // 1 per second, 2 at once
    for (let i = 0; i < 4; i++) request();
    const s = await until((x) => x.replies.arp + x.drops.rateLimited === 4, 'four requests decided');
    expect([s.replies.arp, s.drops.rateLimited]).toEqual([2, 2]);
  });

  it('keeps answering on its own dup of a socket the caller closed, until handed a new set', async () => {
    n.close(threadFd);
    threadFd = n.openPacketSocket(LO, ETH_P_ARP, arpFilter()); // the same number, most likely: not the thread's
    request();
    await until((s) => s.replies.arp === 1, 'a reply through the dup');
    n.ansSockets(h, [], -1);
    await sleep(LOOP_MS);
    request();
    await sleep(2 * LOOP_MS);
    expect(n.ansStats(h).replies.arp).toBe(1);
  });

  it('beats while idle, and not while wedged; a wedged thread still stops when asked', async () => {
    const b0 = n.ansBeats(h);
    await sleep(3.5 * LOOP_MS);
    expect(n.ansBeats(h) - b0).toBeGreaterThanOrEqual(3);
    n.ansFault(h, 'wedge');
    await sleep(LOOP_MS);
    const b1 = n.ansBeats(h);
    await sleep(3 * LOOP_MS);
    expect(n.ansBeats(h)).toBe(b1);
    request();
    await sleep(2 * LOOP_MS);
    expect(n.ansStats(h).replies.arp).toBe(0);
    expect(n.ansStop(h, 1000)).toBe(true);
  });

  it('says when its loop ended (fault exit), and refuses calls that need it running after a stop', async () => {
    n.ansFault(h, 'exit');
    for (let i = 0; i < 20 && !n.ansEvents(h).exited; i++) await sleep(LOOP_MS / 5);
    expect(n.ansEvents(h).exited).toBe(true);
    await eventsAtLeast(1);
    expect(n.ansStop(h, 1000)).toBe(true);
    expect(() => n.ansOwned(h, [])).toThrow(/stopped/);
    expect(n.ansStop(h, 1000)).toBe(true); // idempotent
  });

  it('reports a readable route monitor once, until re-armed', async () => {
    const monitor = n.createEventFd();
    try {
      n.ansSockets(h, [{ fd: threadFd, ifindex: LO, mac: parseMac(NODE_MAC), kind: 0 }], monitor);
      n.signalEventFd(monitor);
      for (let i = 0; i < 20 && events === 0; i++) await sleep(LOOP_MS / 5);
      expect(n.ansEvents(h).monitor).toBe(true);
      const seen = events;
      await sleep(2 * LOOP_MS); // still readable (not drained), but not polled until re-armed
      expect(events).toBe(seen);
      n.drainEventFd(monitor);
      n.ansMonitorRearm(h);
      expect(n.ansEvents(h).monitor).toBe(false);
      n.signalEventFd(monitor);
      for (let i = 0; i < 20 && events === seen; i++) await sleep(LOOP_MS / 5);
      expect(events).toBe(seen + 1);
    } finally {
      n.close(monitor);
    }
  });

  it('rejects bad arguments', () => {
    // Addon errors come from the main realm: matched by name, not instanceof.
    const range = expect.objectContaining({ name: 'RangeError' });
    expect(() => n.ansSockets(h, [{ fd: threadFd, ifindex: LO, mac: Buffer.alloc(5), kind: 0 }], -1)).toThrow(range);
    expect(() => n.ansOwned(h, [{ ip: Buffer.alloc(5), ifindexes: null }])).toThrow(range);
    expect(() => n.ansStop(h, -1)).toThrow(range);
    expect(() => n.ansAnswerFor(h, 0)).toThrow(range);
    expect(() => n.ansAnswerFor(h, NaN)).toThrow(range);
    expect(() => n.ansAnswerFor(h, 60_001)).toThrow(range);
    expect(() => n.ansStart(() => undefined, { capacity: 0, forwardRate: 1, forwardBurst: 1, replyRate: 0, replyBurst: 0 })).toThrow(range);
  });
});
