// The speaker's Announced writer (src/k8s/announced-writer.ts) against a fake API and jest's fake
// clock: writes only on change, a burst then the steady rate in a failover storm, the latest
// wanted condition per Service, no second write of its own while the watch has not shown it.
import * as k8s from '@kubernetes/client-node';
import { AnnouncedWriter } from '../../../src/k8s/announced-writer';
import type { ConditionWant } from '../../../src/k8s/service-conditions';
import { createLogger } from '../../../src/util/log';

const T = 'ironlb.io/Announced';
const want = (node: string): ConditionWant => ({ type: T, status: 'True', reason: 'Layer2', message: `node "${node}" announces 10.0.0.1 with protocol layer2 on eth0 since 2026-11-28T23:00:00Z` });

describe('AnnouncedWriter', () => {
  let services: Map<string, k8s.V1Service>;
  let patched: Array<{ key: string; condition: k8s.V1Condition }>;
  let writer: AnnouncedWriter;

  const svc = (key: string, conditions: k8s.V1Condition[] = []): k8s.V1Service => {
    const [namespace, name] = key.split('/');
    return { metadata: { namespace, name }, status: { conditions } };
  };
  /** The watch delivering what was written. */
  const deliver = (): void => {
    for (const p of patched) services.set(p.key, svc(p.key, [p.condition]));
  };

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-11-28T23:30:00Z') });
    services = new Map();
    patched = [];
    writer = new AnnouncedWriter({
      kc: new k8s.KubeConfig(),
      log: createLogger({ level: 'error', write: () => undefined }),
      service: (key) => services.get(key),
      recheck: () => undefined,
      writesPerSecond: 10,
      burst: 5,
      patch: async (namespace, name, condition) => {
        patched.push({ key: `${namespace}/${name}`, condition });
      },
    });
  });

  afterEach(() => {
    writer.stop();
    jest.useRealTimers();
  });

  it('writes a changed condition once, and nothing when the Service shows it already', async () => {
    services.set('ns/a', svc('ns/a'));
    writer.want('ns/a', want('n1'));
    writer.want('ns/a', want('n1'));
    await jest.advanceTimersByTimeAsync(10);
    expect(patched.map((p) => [p.key, p.condition.message])).toEqual([['ns/a', want('n1').message]]);
    // Before the watch shows it: not written again.
    writer.want('ns/a', want('n1'));
    await jest.advanceTimersByTimeAsync(10);
    expect(patched).toHaveLength(1);
    deliver();
    writer.want('ns/a', want('n1'));
    await jest.advanceTimersByTimeAsync(10);
    expect(patched).toHaveLength(1);
    // No longer ours (undefined): nothing.
    writer.want('ns/a', undefined);
    await jest.advanceTimersByTimeAsync(10);
    expect(patched).toHaveLength(1);
  });

  it('a storm of 40 Services: the burst (5) at once, then 10 a second; the latest want of each wins', async () => {
    for (let i = 0; i < 40; i++) {
      services.set(`ns/s${i}`, svc(`ns/s${i}`));
      writer.want(`ns/s${i}`, want('old'));
    }
    for (let i = 0; i < 40; i++) writer.want(`ns/s${i}`, want('new'));
    await jest.advanceTimersByTimeAsync(10);
    expect(patched).toHaveLength(5);
    await jest.advanceTimersByTimeAsync(1000);
    expect(patched.length).toBeGreaterThanOrEqual(14);
    expect(patched.length).toBeLessThanOrEqual(16);
    await jest.advanceTimersByTimeAsync(3000);
    expect(patched).toHaveLength(40);
    expect(new Set(patched.map((p) => p.condition.message))).toEqual(new Set([want('new').message]));
  });

  it('a want withdrawn before its turn is not written', async () => {
    for (let i = 0; i < 8; i++) {
      services.set(`ns/s${i}`, svc(`ns/s${i}`));
      writer.want(`ns/s${i}`, want('n1'));
    }
    writer.want('ns/s7', undefined);
    await jest.advanceTimersByTimeAsync(2000);
    expect(patched.map((p) => p.key).sort()).toEqual(['ns/s0', 'ns/s1', 'ns/s2', 'ns/s3', 'ns/s4', 'ns/s5', 'ns/s6']);
  });

  it('keeps lastTransitionTime when only the owner changes', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    services.set('ns/a', svc('ns/a', [{ ...want('n1'), lastTransitionTime: at }]));
    writer.want('ns/a', want('n2'));
    await jest.advanceTimersByTimeAsync(10);
    expect(patched[0].condition).toEqual({ ...want('n2'), lastTransitionTime: at });
  });
});
