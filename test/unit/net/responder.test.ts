// The responder's worker plumbing without packet sockets (no interfaces): the worker starts from
// TypeScript under jest (ts-node in the worker), answers commands, posts stats, stops promptly.
// The packet path is covered by test/unit/protocol/l2-responder.test.ts and test/e2e/net-responder.
import { tryLoadNative } from '../../../src/net/native';
import { resolveWorkerModule } from '../../../src/net/ts-worker';
import { canonicalAddress, Responder, ResponderStats } from '../../../src/speaker/layer2/responder';
import * as path from 'path';

const d = tryLoadNative() ? describe : describe.skip;

describe('canonicalAddress', () => {
  it('normalises text forms', () => {
    expect(canonicalAddress('2001:DB8:0100::0090')).toBe('2001:db8:100::90');
    expect(canonicalAddress('198.51.100.90')).toBe('198.51.100.90');
    expect(canonicalAddress('198.51.100.900')).toBeUndefined();
  });
});

describe('resolveWorkerModule', () => {
  it('picks the .ts sibling when called from TypeScript', () => {
    const base = path.join(__dirname, '../../../src/speaker/layer2/responder-worker');
    expect(resolveWorkerModule(base, 'x.ts')).toBe(`${base}.ts`);
    expect(() => resolveWorkerModule('/nowhere/x', 'x.js')).toThrow(/not found/);
  });
});

d('Responder (worker thread)', () => {
  jest.setTimeout(60_000);
  let r: Responder;

  beforeAll(async () => {
    r = await Responder.start({ timing: { statsIntervalMs: 100, refreshIntervalMs: 0 } });
  });

  afterAll(async () => {
    await r?.stop();
  });

  it('accepts addresses and reports them in stats', async () => {
    await r.setAddresses(['198.51.100.90', { address: '2001:db8:100::90', interfaces: ['eth9'] }]);
    const s = await r.getStats();
    expect(s).toMatchObject({ ownedV4: 1, ownedV6: 1, interfaces: [] });
    expect(s.counters.drops).toEqual({ notOwned: 0, notRequest: 0, badDst: 0, malformed: 0, interfaceNotAllowed: 0, ownPacket: 0 });
  });

  it('rejects invalid input before it reaches the worker', async () => {
    await expect(r.setAddresses(['not-an-ip'])).rejects.toThrow(/invalid address/);
    await expect(r.setInterfaces([{ name: 'x', ifindex: 0, mac: '02:00:00:00:00:01' }])).rejects.toThrow(/ifindex/);
    await expect(r.setInterfaces([{ name: 'x', ifindex: 3, mac: 'nope' }])).rejects.toThrow(/MAC/);
  });

  it('posts counters periodically without being asked', async () => {
    const s = await new Promise<ResponderStats>((resolve) => r.once('stats', resolve));
    expect(s.at).toBeGreaterThan(0);
    expect(r.lastStats).toBeDefined();
  });

  it('reports an interface it cannot open (missing ifindex) without failing', async () => {
    if (process.getuid?.() !== 0) return; // without root the error is EPERM, same path
    const errors: string[] = [];
    r.on('interfaceError', (e) => errors.push(`${e.interface}:${e.code}`));
    await r.setInterfaces([{ name: 'ghost0', ifindex: 999999, mac: '02:00:00:00:00:01' }]);
    const s = await r.getStats();
    expect(s.interfaces[0]).toMatchObject({ name: 'ghost0', arp: false, ndp: false });
    expect(s.interfaces[0].error).toMatch(/ENODEV/);
    expect(errors).toContain('ghost0:ENODEV');
    await r.setInterfaces([]);
  });

  it('announce() with nothing to send on is harmless', async () => {
    await r.announce();
    await r.announce(['198.51.100.90']);
    expect((await r.getStats()).announcing).toBeGreaterThanOrEqual(1);
  });

  it('stops promptly and refuses commands afterwards', async () => {
    const t = Date.now();
    await r.stop();
    expect(Date.now() - t).toBeLessThan(2000);
    expect(r.running).toBe(false);
    await expect(r.getStats()).rejects.toThrow(/stopped/);
  });
});
