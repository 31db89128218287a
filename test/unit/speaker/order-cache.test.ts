// ElectionOrders against a brute-force model written here: hash every candidate with sha256
// ("node#ip") and sort the digests by bytes (MetalLB's rule). Random sequences of candidate sets,
// addresses and retain() calls; the cache must answer exactly like the model every time.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ElectionOrders } from '../../../src/speaker/election/order-cache';

function bruteOrder(candidates: readonly string[], ip: string): string[] {
  return candidates
    .map((n) => ({ n, h: createHash('sha256').update(`${n}#${ip}`).digest('hex') }))
    .sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0))
    .map((x) => x.n);
}

const NODES = Array.from({ length: 12 }, (_, i) => `node-${i}`);
const IPS = ['198.51.100.1', '198.51.100.2', '2001:db8::1', '203.0.113.7', '10.0.0.1'];

type Step = { kind: 'order'; nodes: string[]; ip: string } | { kind: 'retain'; ips: string[]; nodes: string[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('order' as const), nodes: fc.shuffledSubarray(NODES), ip: fc.constantFrom(...IPS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retain' as const), ips: fc.subarray(IPS), nodes: fc.subarray(NODES) }) },
);

describe('ElectionOrders (cached election order per address)', () => {
  it('orders any candidate set exactly as sorting sha256(node#ip) does, across calls and retains', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const orders = new ElectionOrders();
        for (const s of steps) {
          if (s.kind === 'retain') orders.retain(new Set(s.ips), new Set(s.nodes));
          else expect(orders.order(s.nodes, s.ip)).toEqual(bruteOrder(s.nodes, s.ip));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('hand-checked orders (coreutils sha256sum, as in election.test.ts)', () => {
    const orders = new ElectionOrders();
    expect(orders.order(['node1', 'node2'], '198.51.100.90')).toEqual(['node2', 'node1']);
    // Nodes learned later are put in place in the cached order.
    expect(orders.order(['node1', 'node2', 'node3', 'node4'], '198.51.100.90')).toEqual(['node3', 'node4', 'node2', 'node1']);
    expect(orders.order(['node4', 'node1'], '198.51.100.91')).toEqual(['node4', 'node1']);
    expect(orders.order(['node1', 'node2', 'node3', 'node4'], '198.51.100.92')).toEqual(['node1', 'node3', 'node2', 'node4']);
  });

  it('forgets addresses not retained, and stale nodes once they outnumber the live ones', () => {
    const orders = new ElectionOrders();
    orders.order(['a', 'b'], '198.51.100.1');
    orders.order(['a', 'b'], '198.51.100.2');
    orders.retain(new Set(['198.51.100.1']), new Set(['a', 'b']));
    expect(orders.size).toBe(1);
    orders.retain(new Set(['198.51.100.1']), new Set());
    expect(orders.size).toBe(0);
  });
});
