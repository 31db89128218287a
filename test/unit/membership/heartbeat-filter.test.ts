// The heartbeat socket filter: the program in the TS interpreter, then the same program in the
// kernel on real UDP sockets on loopback (127.0.0.1 is a "peer", 127.0.0.2 is not).
import * as dgram from 'node:dgram';
import { maxFilteredSources, runFilter, udpHeartbeatFilter } from '../../../src/net/bpf';
import { tryLoadNative } from '../../../src/net/native';
import { encodeHeartbeat, HEARTBEAT_MAGIC_U32, HEARTBEAT_MAX_LEN, HEARTBEAT_MIN_LEN, HEARTBEAT_VERSION, heartbeatKey } from '../../../src/speaker/membership/heartbeat-codec';

const SHAPE = { minPayload: HEARTBEAT_MIN_LEN, maxPayload: HEARTBEAT_MAX_LEN, magic: HEARTBEAT_MAGIC_U32, version: HEARTBEAT_VERSION };
const key = heartbeatKey(Buffer.alloc(32, 7));
const payload = encodeHeartbeat({ node: 'a', addressee: 'b', incarnation: 1, sequence: 1, timestamp: 1, flags: 0, echoTimestamp: 0, echoDelayMs: 0, echoIncarnation: 0, echoSequence: 0 }, key);

/** UDP header + payload as a socket filter sees it, and an IPv4 or IPv6 header with `src`. */
function datagram(src: number[], body: Buffer): [Buffer, Buffer] {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(7946, 0);
  udp.writeUInt16BE(7946, 2);
  udp.writeUInt16BE(8 + body.length, 4);
  const ip = src.length === 4 ? Buffer.alloc(20) : Buffer.alloc(40);
  Buffer.from(src).copy(ip, src.length === 4 ? 12 : 8);
  return [Buffer.concat([udp, body]), ip];
}

const v6 = (last: number): number[] => [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), last];

describe('heartbeat socket filter (interpreted)', () => {
  it('accepts heartbeat-shaped datagrams from listed IPv4 sources only', () => {
    const prog = udpHeartbeatFilter(4, SHAPE, [Buffer.from([198, 51, 100, 11]), Buffer.from([198, 51, 100, 12])]);
    expect(runFilter(prog, ...datagram([198, 51, 100, 11], payload))).toBeGreaterThan(0);
    expect(runFilter(prog, ...datagram([198, 51, 100, 12], payload))).toBeGreaterThan(0);
    expect(runFilter(prog, ...datagram([198, 51, 100, 66], payload))).toBe(0);
    expect(runFilter(prog, ...datagram([198, 51, 100, 11], Buffer.from('short')))).toBe(0);
    expect(runFilter(prog, ...datagram([198, 51, 100, 11], Buffer.alloc(HEARTBEAT_MAX_LEN + 1)))).toBe(0);
    const wrongMagic = Buffer.from(payload);
    wrongMagic[0] = 0x58;
    expect(runFilter(prog, ...datagram([198, 51, 100, 11], wrongMagic))).toBe(0);
    const oldVersion = Buffer.from(payload);
    oldVersion[4] = 1;
    expect(runFilter(prog, ...datagram([198, 51, 100, 11], oldVersion))).toBe(0);
  });

  it('accepts nothing with no peers, and checks only the shape when sources are not listed', () => {
    expect(runFilter(udpHeartbeatFilter(4, SHAPE, []), ...datagram([198, 51, 100, 11], payload))).toBe(0);
    expect(runFilter(udpHeartbeatFilter(4, SHAPE, undefined), ...datagram([198, 51, 100, 66], payload))).toBeGreaterThan(0);
  });

  it('compares all 16 bytes of IPv6 sources', () => {
    const prog = udpHeartbeatFilter(6, SHAPE, [Buffer.from(v6(0x11)), Buffer.from(v6(0x12))]);
    expect(runFilter(prog, ...datagram(v6(0x11), payload))).toBeGreaterThan(0);
    expect(runFilter(prog, ...datagram(v6(0x12), payload))).toBeGreaterThan(0);
    expect(runFilter(prog, ...datagram(v6(0x13), payload))).toBe(0);
    for (const byte of [0, 5, 9, 14]) {
      const near = v6(0x11);
      near[byte] ^= 0x80; // differs in one word only
      expect(runFilter(prog, ...datagram(near, payload))).toBe(0);
    }
  });

  it('fits the kernel limit and refuses more sources than fit', () => {
    expect(udpHeartbeatFilter(4, SHAPE, Array(maxFilteredSources(4)).fill(Buffer.alloc(4))).length).toBeLessThanOrEqual(4096);
    expect(udpHeartbeatFilter(6, SHAPE, Array(maxFilteredSources(6)).fill(Buffer.alloc(16))).length).toBeLessThanOrEqual(4096);
    expect(() => udpHeartbeatFilter(4, SHAPE, Array(maxFilteredSources(4) + 1).fill(Buffer.alloc(4)))).toThrow(RangeError);
  });
});

const native = tryLoadNative();
(native ? describe : describe.skip)('heartbeat socket filter (in the kernel, on loopback)', () => {
  const n = native!;
  let fd = -1;
  const senders: dgram.Socket[] = [];

  afterEach(() => {
    if (fd >= 0) n.close(fd);
    fd = -1;
    for (const s of senders.splice(0)) s.close();
  });

  async function sendFrom(address: string, port: number, body: Buffer): Promise<void> {
    const s = dgram.createSocket('udp4');
    senders.push(s);
    await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
    await new Promise<void>((resolve, reject) => s.send(body, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }

  function receiveAll(): Array<{ len: number; from: string; port: number }> {
    const buf = Buffer.alloc(1024 * 64);
    const meta = new Int32Array(3 * 64);
    const addrs = new Uint8Array(16 * 64);
    const got: Array<{ len: number; from: string; port: number }> = [];
    for (let k = n.recvUdpBatch(fd, buf, 1024, meta, addrs); k > 0; k = n.recvUdpBatch(fd, buf, 1024, meta, addrs)) {
      for (let i = 0; i < k; i++) got.push({ len: meta[3 * i], from: [...addrs.subarray(16 * i, 16 * i + 4)].join('.'), port: meta[3 * i + 2] });
    }
    return got;
  }

  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

  it('lets through only heartbeats from listed sources, counts the rest as kernel drops, and follows a new filter', async () => {
    fd = n.openUdpSocket(4, 0, udpHeartbeatFilter(4, SHAPE, [Buffer.from([127, 0, 0, 1])]));
    // Port 0 binds an ephemeral port: find it by sending to ourselves through a helper socket.
    const probe = dgram.createSocket('udp4');
    senders.push(probe);
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = await boundPort(fd);
    expect(n.socketDrops(fd)).toBe(0);
    await sendFrom('127.0.0.1', port, payload);
    await sendFrom('127.0.0.2', port, payload); // not a peer
    await sendFrom('127.0.0.1', port, Buffer.from('hello')); // a peer, but not a heartbeat
    await settle();
    expect(receiveAll()).toEqual([{ len: payload.length, from: '127.0.0.1', port: expect.any(Number) }]);
    expect(n.socketDrops(fd)).toBe(2);
    // The peer set changes: 127.0.0.2 now, 127.0.0.1 no longer.
    n.setSocketFilter(fd, udpHeartbeatFilter(4, SHAPE, [Buffer.from([127, 0, 0, 2])]));
    await sendFrom('127.0.0.1', port, payload);
    await sendFrom('127.0.0.2', port, payload);
    await settle();
    expect(receiveAll().map((r) => r.from)).toEqual(['127.0.0.2']);
    expect(n.socketDrops(fd)).toBe(3);
    // sendUdp from the socket itself (heartbeats leave from the heartbeat port).
    const echo = await new Promise<Buffer>((resolve) => {
      probe.once('message', (m) => resolve(m));
      expect(n.sendUdp(fd, payload, '127.0.0.1', probe.address().port)).toBe(payload.length);
    });
    expect(echo.equals(payload)).toBe(true);
  });

  it('reports a datagram larger than the slot as truncated', async () => {
    fd = n.openUdpSocket(4, 0, udpHeartbeatFilter(4, SHAPE, undefined));
    const port = await boundPort(fd);
    await sendFrom('127.0.0.1', port, payload);
    await settle();
    const meta = new Int32Array(3);
    expect(n.recvUdpBatch(fd, Buffer.alloc(16), 16, meta, new Uint8Array(16))).toBe(1);
    expect(meta[0]).toBe(-1);
    expect(n.recvUdpBatch(fd, Buffer.alloc(16), 16, meta, new Uint8Array(16))).toBe(0);
  });

  /** The port an fd is bound to: the kernel tells a sender's recvmsg, so ask it. */
  async function boundPort(sock: number): Promise<number> {
    const helper = dgram.createSocket('udp4');
    senders.push(helper);
    await new Promise<void>((r) => helper.bind(0, '127.0.0.1', () => r()));
    // A datagram from the fd to the helper carries the fd's port as its source port.
    const got = new Promise<number>((resolve) => helper.once('message', (_m, rinfo) => resolve(rinfo.port)));
    n.sendUdp(sock, Buffer.from('x'), '127.0.0.1', helper.address().port);
    return got;
  }
});
