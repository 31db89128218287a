// Model-based test of the controller (issue 13): random sequences of Service creates, updates
// (ports, type, annotations including invalid ones, traffic policy), deletes, configuration
// changes (narrow, widen, rename, reorder, invalid, with and without the opt-in), restarts and
// leader changes run against the real Reconciler/decide/ConfigGate on fakes. After every step
// the result is checked against model.ts, which knows nothing of the allocator:
// - no address on two Services without a valid sharing relation;
// - no Service's address changes unless its own request changed, it waits for what it asks for,
//   or an allowed configuration change took it; a restart, leader change or a leader that pauses
//   and resumes its term changes nothing else;
// - nobody waits while what it asks for is free; the configuration in force is the model's.
import fc from 'fast-check';
import { FakeClock } from '../../support/fake-clock';
import { FakeServices, ipsOf, lbService } from './fakes';
import { Replica, settle } from './harness';
import { UNIVERSE, addressesOf, configText, ip, losers, mayShare, num, poolWith, satisfied, validRequest, type ConfigMapSpec, type PoolName, type PoolSpec, type SvcSpec } from './model';

interface Model {
  services: Map<string, SvcSpec>;
  cm: ConfigMapSpec;
  inForce?: PoolSpec[];
  appliedKey?: string;
  waiting?: ConfigMapSpec;
  stale: boolean;
}

interface Real {
  api: FakeServices;
  clock: FakeClock;
  leader: Replica;
  standby: Replica;
  cm: ConfigMapSpec;
}

const cmKey = (cm: ConfigMapSpec): string => `${cm.allow}|${configText(cm)}`;

function k8sService(key: string, s: SvcSpec) {
  const [ns, name] = key.split('/');
  const annotations: Record<string, string> = {};
  if (s.lbIP !== undefined) annotations['ironlb.io/loadBalancerIPs'] = s.lbIP === 'bad' ? 'not-an-ip' : ip(s.lbIP);
  if (s.pool !== undefined) annotations['ironlb.io/address-pool'] = s.pool;
  if (s.share !== undefined) annotations['ironlb.io/allow-shared-ip'] = s.share;
  return lbService(ns, name, { annotations, ports: s.ports, local: s.local, selector: { app: s.app }, type: s.lb ? 'LoadBalancer' : 'ClusterIP' });
}

/** Every ConfigMap version offered, by the key ConfigGate.applied reports. */
const offered = new Map<string, PoolSpec[]>();

function offerBoth(r: Real): void {
  if (r.cm.pools !== 'invalid') offered.set(cmKey(r.cm), r.cm.pools);
  const annotations = r.cm.allow ? { 'ironlb.io/allow-address-changes': 'true' } : undefined;
  for (const rep of [r.leader, r.standby]) rep.offer({ text: configText(r.cm), annotations });
}

/** The model's ConfigGate: accept, refuse as invalid, or keep waiting because live addresses would be lost. */
function modelOffer(m: Model, shown: (key: string) => number[]): Set<string> {
  const cm = m.cm;
  m.waiting = undefined;
  if (cm.pools === 'invalid') {
    m.stale = true;
    return new Set();
  }
  if (cmKey(cm) === m.appliedKey) {
    m.stale = false;
    return new Set();
  }
  return modelConsider(m, cm, shown);
}

function modelConsider(m: Model, cm: ConfigMapSpec, shown: (key: string) => number[]): Set<string> {
  const pools = cm.pools as PoolSpec[];
  const lost = m.inForce ? losers(m.services, shown, m.inForce, pools) : new Set<string>();
  if (lost.size > 0 && !cm.allow) {
    m.waiting = cm;
    m.stale = true;
    return new Set();
  }
  const movers = cm.allow ? outsideOf(m, shown, pools) : new Set<string>();
  for (const k of lost) movers.add(k);
  m.inForce = pools;
  m.appliedKey = cmKey(cm);
  m.stale = false;
  return movers;
}

/** With the opt-in, every Service showing an address no pool contains may move. */
function outsideOf(m: Model, shown: (key: string) => number[], pools: readonly PoolSpec[]): Set<string> {
  return new Set([...m.services.keys()].filter((k) => shown(k).some((n) => !poolWith(pools, n))));
}

type Cmd = fc.AsyncCommand<Model, Real, false>;

abstract class Step implements Cmd {
  abstract check(m: Readonly<Model>): boolean;
  abstract toString(): string;
  /** Changes the real system and the model; returns the Services allowed to move in this step. */
  protected abstract apply(m: Model, r: Real, shown: (key: string) => number[]): Promise<Set<string>>;

  async run(m: Model, r: Real): Promise<void> {
    const shownNow = (key: string): number[] => ipsOf(r.api.store.get(key)).map(num);
    const before = new Map([...m.services.keys()].map((k) => [k, shownNow(k)]));
    const poolsBefore = m.inForce;
    const specBefore = new Map(m.services);
    const movers = await this.apply(m, r, (k) => before.get(k) ?? []);
    // While the ConfigMap opts in, whatever is outside the pools in force may move at any time.
    if (m.cm.allow) for (const k of outsideOf(m, (k) => before.get(k) ?? [], m.inForce ?? [])) movers.add(k);
    await settle(r.api, r.clock, [r.leader, r.standby]);
    if (m.waiting) for (const k of modelConsider(m, m.waiting, shownNow)) movers.add(k);
    if (m.waiting && !m.stale) m.waiting = undefined;
    verify(m, r, before, specBefore, poolsBefore, movers, this.toString());
  }
}

class Create extends Step {
  constructor(readonly key: string, readonly spec: SvcSpec) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return !m.services.has(this.key);
  }
  async apply(m: Model, r: Real): Promise<Set<string>> {
    m.services.set(this.key, this.spec);
    r.api.put(k8sService(this.key, this.spec));
    return new Set();
  }
  toString(): string {
    return `create ${this.key} ${JSON.stringify(this.spec)}`;
  }
}

class Update extends Create {
  override check(m: Readonly<Model>): boolean {
    return m.services.has(this.key);
  }
  override async apply(m: Model, r: Real): Promise<Set<string>> {
    const old = m.services.get(this.key) as SvcSpec;
    await super.apply(m, r);
    const changed = JSON.stringify(old) !== JSON.stringify(this.spec);
    const profile = (s: SvcSpec): string => JSON.stringify([s.ports, s.share, s.local, s.app]);
    // Its own new request may move it. A request that does not parse keeps the address, unless
    // the Service's new ports or sharing key no longer let it share that address.
    return new Set(changed && (validRequest(this.spec) || !this.spec.lb || profile(old) !== profile(this.spec)) ? [this.key] : []);
  }
  override toString(): string {
    return `update ${this.key} ${JSON.stringify(this.spec)}`;
  }
}

class Delete extends Step {
  constructor(readonly key: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.services.has(this.key);
  }
  async apply(m: Model, r: Real): Promise<Set<string>> {
    m.services.delete(this.key);
    const [ns, name] = this.key.split('/');
    r.api.remove(ns, name);
    return new Set();
  }
  toString(): string {
    return `delete ${this.key}`;
  }
}

class Configure extends Step {
  constructor(readonly cm: ConfigMapSpec) {
    super();
  }
  check(): boolean {
    return true;
  }
  async apply(m: Model, r: Real, shown: (key: string) => number[]): Promise<Set<string>> {
    m.cm = this.cm;
    r.cm = this.cm;
    offerBoth(r);
    return modelOffer(m, shown);
  }
  toString(): string {
    return `config ${this.cm.allow ? '(allow) ' : ''}${this.cm.pools === 'invalid' ? 'invalid' : JSON.stringify(this.cm.pools)}`;
  }
}

class Restart extends Step {
  check(): boolean {
    return true;
  }
  async apply(m: Model, r: Real, shown: (key: string) => number[]): Promise<Set<string>> {
    r.leader.kill();
    r.standby.kill();
    r.leader = new Replica(r.api, r.clock);
    r.standby = new Replica(r.api, r.clock);
    offerBoth(r);
    r.leader.lead();
    m.inForce = undefined;
    m.appliedKey = undefined;
    m.stale = false;
    return modelOffer(m, shown);
  }
  toString(): string {
    return 'restart both replicas';
  }
}

class LeaderChange extends Step {
  check(): boolean {
    return true;
  }
  async apply(m: Model, r: Real): Promise<Set<string>> {
    r.leader.stepDown();
    [r.leader, r.standby] = [r.standby, r.leader];
    r.leader.lead();
    // Each replica judges the ConfigMap on its own view; a standby may have judged a refused one
    // at another moment than the leader (both keep every address either way). The new leader's
    // configuration is what counts from now on.
    const applied = r.leader.config.applied;
    m.appliedKey = applied;
    m.inForce = applied === undefined ? undefined : (offered.get(applied) as PoolSpec[]);
    m.stale = r.leader.stale;
    m.waiting = r.leader.config.waiting ? m.cm : undefined;
    return new Set();
  }
  toString(): string {
    return 'leader change';
  }
}

/** The leader misses its renew deadline and takes its own Lease back; a Service may go away meanwhile. */
class Pause extends Step {
  constructor(readonly deleted: string) {
    super();
  }
  check(): boolean {
    return true;
  }
  async apply(m: Model, r: Real): Promise<Set<string>> {
    r.leader.stepDown();
    if (m.services.delete(this.deleted)) {
      const [ns, name] = this.deleted.split('/');
      r.api.remove(ns, name);
      await settle(r.api, r.clock, [r.leader, r.standby]);
    }
    r.leader.lead(true);
    return new Set();
  }
  toString(): string {
    return `leader pauses (deleting ${this.deleted} meanwhile) and resumes`;
  }
}

function verify(m: Model, r: Real, before: Map<string, number[]>, specBefore: Map<string, SvcSpec>, poolsBefore: PoolSpec[] | undefined, movers: Set<string>, step: string): void {
  const shown = (key: string): number[] => ipsOf(r.api.store.get(key)).map(num);
  const fail = (why: string): never => {
    const state = [...m.services].map(([k, s]) => `${k} ${JSON.stringify(s)} shows [${shown(k)}] (was [${before.get(k) ?? ''}])`).join('\n  ');
    throw new Error(`after "${step}": ${why}\n  in force: ${JSON.stringify(m.inForce)}\n  ${state}`);
  };
  if (r.leader.stale !== m.stale) fail(`config_stale is ${r.leader.stale}, the model says ${m.stale}`);
  const inForce = r.leader.reconciler.config?.pools.map((p) => p.name).sort();
  if (JSON.stringify(inForce) !== JSON.stringify(m.inForce?.map((p) => p.name).sort())) fail(`pools in force ${JSON.stringify(inForce)}`);

  const byAddress = new Map<number, string[]>();
  for (const [key, spec] of m.services) {
    const now = shown(key);
    if (!spec.lb && now.length > 0) fail(`${key} is not a LoadBalancer and still shows ${now}`);
    for (const n of now) byAddress.set(n, [...(byAddress.get(n) ?? []), key]);
  }
  for (const [n, keys] of byAddress) {
    for (let i = 0; i < keys.length; i++) {
      for (let j = i + 1; j < keys.length; j++) {
        const [a, b] = [keys[i], keys[j]];
        if (!mayShare(a, m.services.get(a) as SvcSpec, b, m.services.get(b) as SvcSpec)) fail(`${ip(n)} is on ${a} and ${b}, which may not share it`);
      }
    }
  }
  for (const [key, spec] of m.services) {
    const now = shown(key);
    const was = before.get(key) ?? [];
    if (was.length === 0 || JSON.stringify(was) === JSON.stringify(now)) continue;
    const prior = specBefore.get(key) ?? spec;
    const waited = spec.lb && validRequest(spec) && !satisfied(prior, was, poolsBefore) && satisfied(spec, now, m.inForce);
    if (!movers.has(key) && !waited) fail(`${key} moved from ${was} to [${now}] without a reason`);
  }
  // New takings in a pool that keeps sharing inside one namespace.
  for (const [key] of m.services) {
    const now = shown(key);
    if (now.length === 0 || JSON.stringify(now) === JSON.stringify(before.get(key) ?? [])) continue;
    const pool = poolWith(m.inForce, now[0]);
    const others = (byAddress.get(now[0]) ?? []).filter((k) => k !== key && k.split('/')[0] !== key.split('/')[0]);
    if (pool && !pool.crossNs && others.length > 0) fail(`${key} took ${ip(now[0])} shared with ${others} across namespaces in pool ${pool.name}`);
  }
  if (!m.inForce) return;
  const free = (n: number): boolean => !byAddress.has(n);
  for (const [key, spec] of m.services) {
    if (!spec.lb || !validRequest(spec) || spec.share) continue;
    const now = shown(key);
    const named = spec.pool === undefined ? undefined : m.inForce.find((p) => p.name === spec.pool);
    if (typeof spec.lbIP === 'number') {
      const home = poolWith(m.inForce, spec.lbIP);
      const fits = home && (spec.pool === undefined || named?.name === home.name);
      if (fits && free(spec.lbIP) && !(now.length === 1 && now[0] === spec.lbIP)) fail(`${key} asks for the free ${ip(spec.lbIP)} and shows [${now}]`);
    } else if (now.length === 0) {
      const candidates = spec.pool === undefined ? m.inForce.filter((p) => p.auto) : named ? [named] : [];
      const spare = candidates.flatMap(addressesOf).find(free);
      if (spare !== undefined) fail(`${key} waits while ${ip(spare)} is free`);
    }
  }
}

// ---- arbitraries --------------------------------------------------------------------------------

const SLOTS: [number, number][] = [
  [0, 5],
  [6, 10],
  [11, UNIVERSE - 1],
];

const poolsArb: fc.Arbitrary<PoolSpec[]> = fc
  .record({
    present: fc.tuple(fc.constant(true), fc.boolean(), fc.boolean()),
    names: fc.shuffledSubarray<PoolName>(['a', 'b', 'c'], { minLength: 3, maxLength: 3 }),
    cuts: fc.tuple(...SLOTS.map(([lo, hi]) => fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi })))),
    flags: fc.tuple(...SLOTS.map(() => fc.record({ auto: fc.boolean(), avoidBuggy: fc.boolean(), crossNs: fc.boolean() }))),
  })
  .map(({ present, names, cuts, flags }) =>
    SLOTS.flatMap((_, i) => (present[i] ? [{ name: names[i], lo: Math.min(...cuts[i]), hi: Math.max(...cuts[i]), ...flags[i] }] : [])),
  );

const cmArb: fc.Arbitrary<ConfigMapSpec> = fc.record({
  pools: fc.oneof({ weight: 9, arbitrary: poolsArb }, { weight: 1, arbitrary: fc.constant('invalid' as const) }),
  allow: fc.boolean(),
});

const none = <T>(a: fc.Arbitrary<T>, freq: number): fc.Arbitrary<T | undefined> => fc.option(a, { freq, nil: undefined });

const svcArb: fc.Arbitrary<SvcSpec> = fc.record({
  lb: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  ports: fc.subarray([80, 443], { minLength: 1 }),
  local: fc.boolean(),
  app: fc.constantFrom('x' as const, 'y' as const),
  lbIP: none(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: UNIVERSE - 1 }) }, { weight: 1, arbitrary: fc.constant('bad' as const) }), 3),
  pool: none(fc.constantFrom<PoolName | 'nope'>('a', 'b', 'c', 'nope'), 3),
  share: none(fc.constantFrom('k1' as const, 'k2' as const), 3),
});

const keyArb = fc.tuple(fc.constantFrom('n1', 'n2'), fc.integer({ min: 0, max: 2 })).map(([ns, i]) => `${ns}/s${i}`);

const create = fc.tuple(keyArb, svcArb).map(([k, s]): Cmd => new Create(k, s));
const update = fc.tuple(keyArb, svcArb).map(([k, s]): Cmd => new Update(k, s));
const commands = fc.commands<Model, Real, false>(
  [
    create,
    create,
    create,
    update,
    update,
    update,
    keyArb.map((k): Cmd => new Delete(k)),
    cmArb.map((cm): Cmd => new Configure(cm)),
    cmArb.map((cm): Cmd => new Configure(cm)),
    fc.constant<Cmd>(new Restart()),
    fc.constant<Cmd>(new LeaderChange()),
    keyArb.map((k): Cmd => new Pause(k)),
  ],
  { maxCommands: 40, size: 'max' },
);

describe('controller against a brute-force model', () => {
  // adopting: the replicas' caches take their own writes' answers (RawInformer.adopt), as the controller's do.
  it.each([false, true])('keeps every address unique, stable and served through random histories (adopting caches: %s)', async (adopting) => {
    await fc.assert(
      fc.asyncProperty(poolsArb, commands, async (pools, cmds) => {
        const api = new FakeServices({ adopting });
        const clock = new FakeClock();
        const cm: ConfigMapSpec = { pools, allow: false };
        const real: Real = { api, clock, leader: new Replica(api, clock), standby: new Replica(api, clock), cm };
        offerBoth(real);
        real.leader.lead();
        await settle(api, clock, [real.leader, real.standby]);
        const model: Model = { services: new Map(), cm, inForce: pools, appliedKey: cmKey(cm), stale: false };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        real.leader.kill();
        real.standby.kill();
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 60) },
    );
  }, 120_000);
});
