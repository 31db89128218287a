// decide() as a table: one allocator state, one Service, the expected outcome, write and Events.
// Addresses and messages written by hand from the rules in docs/configuration.md.
import type * as k8s from '@kubernetes/client-node';
import { parseConfigText } from '../../../src/config/parse';
import type { Config } from '../../../src/config/types';
import { decide } from '../../../src/controller/decide';
import { restoredAllocator } from '../../../src/controller/restore';
import { lbService } from './fakes';

function config(text: string): Config {
  const r = parseConfigText(text);
  if (!r.ok) throw new Error('bad test config');
  return r.config;
}

const POOLS = config('address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.10-198.51.100.11]\n- name: b\n  protocol: layer2\n  auto-assign: false\n  addresses: [198.51.100.20/32]\n');

function run(services: k8s.V1Service[], svc: k8s.V1Service, opts: { allow?: boolean; config?: Config | null } = {}) {
  const cfg = opts.config === null ? undefined : (opts.config ?? POOLS);
  const { allocator } = restoredAllocator(cfg, services, undefined);
  return decide({ config: cfg, allowAddressChanges: opts.allow ?? false }, allocator, svc);
}

const withPool = (svc: k8s.V1Service, pool: string): k8s.V1Service => ({ ...svc, metadata: { ...svc.metadata, annotations: { ...svc.metadata?.annotations, 'ironlb.io/ip-allocated-from-pool': pool } } });

describe('decide', () => {
  it('gives a new Service the first free address and reports it after the write', () => {
    const d = run([], lbService('ns', 'web'));
    expect(d.outcome).toEqual({ kind: 'assigned', ips: ['198.51.100.10'], pool: 'a', moved: false });
    expect(d.write).toEqual({ ips: ['198.51.100.10'], pool: 'a' });
    expect(d.events).toEqual([{ type: 'Normal', reason: 'IPAllocated', message: 'Assigned IP ["198.51.100.10"] from pool "a"', slot: 'state', afterWrite: true }]);
  });

  it('a live address outside every pool is kept, and the Warning says where the opt-in goes (ConfigMap or IPAddressPool)', () => {
    const svc = withPool(lbService('ns', 'old', { ips: ['203.0.113.5'] }), 'gone');
    const { allocator } = restoredAllocator(POOLS, [svc], undefined);
    const cm = decide({ config: POOLS, allowAddressChanges: false }, allocator, svc);
    const cr = decide({ config: POOLS, allowAddressChanges: false, optInWhere: 'on an IPAddressPool' }, allocator, svc);
    const text = (where: string): string =>
      `203.0.113.5 is in no address pool of the configuration in force; the Service keeps it (add it to a pool, or set ironlb.io/allow-address-changes: "true" ${where} to let the controller give it a new address)`;
    expect(cm.events.filter((e) => e.reason === 'AddressOutsideConfig').map((e) => e.message)).toEqual([text('on the ConfigMap')]);
    expect(cr.events.filter((e) => e.reason === 'AddressOutsideConfig').map((e) => e.message)).toEqual([text('on an IPAddressPool')]);
    expect(cm.write).toBeUndefined();
  });

  it('writes nothing for a Service that shows what it holds', () => {
    const svc = withPool(lbService('ns', 'web', { ips: ['198.51.100.11'] }), 'a');
    const d = run([svc], svc);
    expect(d.write).toBeUndefined();
    expect(d.outcome).toMatchObject({ kind: 'assigned', moved: false });
  });

  it('keeps the address of a Service whose request does not parse', () => {
    const svc = withPool(lbService('ns', 'web', { ips: ['198.51.100.11'], annotations: { 'ironlb.io/loadBalancerIPs': 'nope' } }), 'a');
    const d = run([svc], svc);
    expect(d.outcome).toEqual({ kind: 'invalidRequest', reason: 'LoadBalancerFailed', message: '"nope" is not a valid IP address', kept: ['198.51.100.11'] });
    expect(d.write).toBeUndefined();
    expect(d.events[0]).toMatchObject({ type: 'Warning', reason: 'LoadBalancerFailed', message: '"nope" is not a valid IP address; the Service keeps 198.51.100.11' });
  });

  it('keeps an address no pool contains, unless the ConfigMap opts in', () => {
    const svc = lbService('ns', 'old', { ips: ['203.0.113.9'] });
    expect(run([svc], svc).outcome).toEqual({ kind: 'outsideConfig', kept: ['203.0.113.9'] });
    const moved = run([svc], svc, { allow: true });
    expect(moved.outcome).toEqual({ kind: 'assigned', ips: ['198.51.100.10'], pool: 'a', moved: true });
    expect(moved.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning ClearAssignment', 'Normal IPAllocated']);
  });

  it('moves a Service outside every pool when its own request asks for another address', () => {
    const svc = lbService('ns', 'old', { ips: ['203.0.113.9'], annotations: { 'ironlb.io/loadBalancerIPs': '198.51.100.20' } });
    expect(run([svc], svc).outcome).toEqual({ kind: 'assigned', ips: ['198.51.100.20'], pool: 'b', moved: true });
  });

  it('moves the younger of two Services showing one address, and frees nothing the older holds', () => {
    const older = lbService('ns', 'older', { ips: ['198.51.100.10'] });
    const younger = lbService('ns', 'younger', { ips: ['198.51.100.10'] });
    older.metadata = { ...older.metadata, creationTimestamp: new Date(1000) };
    younger.metadata = { ...younger.metadata, creationTimestamp: new Date(2000) };
    const d = run([younger, older], younger);
    expect(d.outcome).toEqual({ kind: 'assigned', ips: ['198.51.100.11'], pool: 'a', moved: true });
    expect(d.events[0]).toMatchObject({ type: 'Warning', reason: 'ClearAssignment', message: expect.stringContaining('already used by ns/older') });
  });

  it('without a configuration writes nothing but gives up an address the Service may not share', () => {
    const a = lbService('ns', 'a', { ips: ['198.51.100.10'], ports: [80] });
    const b = lbService('ns', 'b', { ips: ['198.51.100.10'], ports: [80] });
    a.metadata = { ...a.metadata, creationTimestamp: new Date(1000) };
    b.metadata = { ...b.metadata, creationTimestamp: new Date(2000) };
    const keep = run([a, b], a, { config: null });
    expect(keep.outcome).toEqual({ kind: 'noConfig' });
    expect(keep.write).toBeUndefined();
    expect(run([a, b], b, { config: null })).toMatchObject({ outcome: { kind: 'noConfig' }, write: { ips: [] } });
  });

  it('clears a Service that stops being a LoadBalancer and says the address was freed', () => {
    const svc = withPool(lbService('ns', 'web', { ips: ['198.51.100.10'] }), 'a');
    const d = run([svc], { ...svc, spec: { ...svc.spec, type: 'ClusterIP' } });
    expect(d).toMatchObject({ outcome: { kind: 'notHandled', why: 'notLoadBalancer' }, write: { ips: [] }, freed: true });
  });

  it('keeps a Service on its address when a renamed pool puts it elsewhere, and moves it when it names another pool itself', () => {
    const renamed = config('address-pools:\n- name: a\n  protocol: layer2\n  addresses: [198.51.100.30/32]\n- name: c\n  protocol: layer2\n  addresses: [198.51.100.10-198.51.100.11]\n');
    const svc = withPool(lbService('ns', 'web', { ips: ['198.51.100.10'], annotations: { 'ironlb.io/address-pool': 'a' } }), 'a');
    expect(run([svc], svc, { config: renamed }).outcome).toEqual({ kind: 'outsideConfig', kept: ['198.51.100.10'] });
    const asked = { ...svc, metadata: { ...svc.metadata, annotations: { ...svc.metadata?.annotations, 'ironlb.io/ip-allocated-from-pool': 'c' } } };
    expect(run([asked], asked, { config: renamed }).outcome).toEqual({ kind: 'assigned', ips: ['198.51.100.30'], pool: 'a', moved: true });
  });
});
