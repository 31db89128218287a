// NativeResponderHost on lo: the engine on the main thread sees the frames the answer thread
// passes on, with arrival times on the engine's own clock (performance.now()), and the thread
// answers from the table the engine keeps.
import { ETH_P_ARP, tryLoadNative, type IronlbNative } from '../../../src/net/native';
import { arpFilter } from '../../../src/net/bpf';
import { parseIPv4, parseMac } from '../../../src/protocol/address';
import { ArpOperation, arpFrameBytes } from '../../../src/protocol/arp';
import { EtherType } from '../../../src/protocol/ethernet';
import { DEFAULT_REPLY_LIMIT } from '../../../src/speaker/layer2/reply-limiter';
import { DEFAULT_TIMING } from '../../../src/speaker/layer2/gratuitous-schedule';
import { NativeResponderHost } from '../../../src/speaker/layer2/native-responder-host';
import { ResponderEngine } from '../../../src/speaker/layer2/responder-engine';

const native = tryLoadNative();
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const d = native && root ? describe : describe.skip;

const NODE_MAC = '02:00:00:00:aa:01';
const OTHER_MAC = '02:00:00:00:cc:03';

d('NativeResponderHost on lo', () => {
  const n = native as IronlbNative;
  let host: NativeResponderHost;
  let testFd: number;

  beforeEach(async () => {
    host = await NativeResponderHost.start({ testFaults: false });
    await host.request({ type: 'configure', interfaces: [{ name: 'lo', ifindex: 1, mac: NODE_MAC, ndp: false }], timing: { ...DEFAULT_TIMING, refreshIntervalMs: 0 }, limit: DEFAULT_REPLY_LIMIT });
    testFd = n.openPacketSocket(1, ETH_P_ARP, arpFilter());
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await host.exitWithin(1000);
    n.close(testFd);
  });

  it("shows a forwarded reply to the engine with its arrival on the engine's clock", async () => {
    const seen: number[] = [];
    jest.spyOn(ResponderEngine.prototype, 'inspect').mockImplementation((_f, _l, kind, now) => {
      if (kind === 'arp') seen.push(now);
    });
    const t0 = performance.now();
    // Another host's ARP reply (a claim of 198.51.100.90): the thread passes replies on.
    const reply = arpFrameBytes({
      ethernet: { destination: parseMac(NODE_MAC), source: parseMac(OTHER_MAC), etherType: EtherType.ARP },
      arp: { operation: ArpOperation.Reply, senderHardwareAddress: parseMac(OTHER_MAC), senderProtocolAddress: parseIPv4('198.51.100.90'), targetHardwareAddress: parseMac(NODE_MAC), targetProtocolAddress: parseIPv4('198.51.100.10') },
    });
    n.send(testFd, reply);
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0]).toBeGreaterThanOrEqual(t0 - 1);
    expect(seen[0]).toBeLessThanOrEqual(performance.now());
  });

  it('a stop closes the engine (its sockets and route monitor) once', async () => {
    // A second close would close the route monitor's fd number again: by then it may be another fd's.
    const close = jest.spyOn(ResponderEngine.prototype, 'close');
    await host.request({ type: 'stop' });
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('answers an owned address through the thread and reports the counters with the stats', async () => {
    await host.request({ type: 'setAddresses', addresses: [{ address: '198.51.100.90' }] });
    const { stats } = await host.request({ type: 'getStats' });
    expect(stats).toMatchObject({ ownedV4: 1 });
    n.send(testFd, arpFrameBytes({
      ethernet: { destination: Buffer.alloc(6, 0xff), source: parseMac(OTHER_MAC), etherType: EtherType.ARP },
      arp: { operation: ArpOperation.Request, senderHardwareAddress: parseMac(OTHER_MAC), senderProtocolAddress: parseIPv4('198.51.100.10'), targetHardwareAddress: Buffer.alloc(6), targetProtocolAddress: parseIPv4('198.51.100.90') },
    }));
    let replies = 0;
    for (let i = 0; i < 50 && replies === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      replies = (await host.request({ type: 'getStats' })).stats?.counters.replies.arp ?? 0;
    }
    expect(replies).toBe(1);
    await host.request({ type: 'setAddresses', addresses: [] });
    expect((await host.request({ type: 'getStats' })).stats).toMatchObject({ ownedV4: 0 });
  });
});
