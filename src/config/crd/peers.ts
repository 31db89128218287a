// BGPPeer (v1beta2, and v1beta1's subset), BFDProfile, and the basic-auth Secrets that hold peer
// passwords. The ConfigMap's peer rules are reused (timers, addresses, AS numbers, iBGP/eBGP);
// MetalLB's CEL and webhook rules are added; fields ironlb's speaker cannot honour are accepted
// and reported as warnings, and a peer ironlb cannot connect to as written is left out.
import { isMap, isScalar } from 'yaml';
import { canonical } from '../canonical';
import { parseGoDuration } from '../duration';
import type { BfdProfile, Peer } from '../types';
import { BFD_OBJECT_KEYS, readBfdSettings } from '../validate-bfd';
import { assemblePeer, checkPeerRules, DEFAULT_PORT, readAddress, readASNAt, readTimers, type PeerKeys } from '../validate-peers';
import type { At, Fields, YamlReader } from '../yaml-walk';
import { describeRef, type ObjectAt } from './objects';
import { readSelectorList, specOf } from './pools';

const V1BETA1_KEYS = ['myASN', 'peerASN', 'peerAddress', 'sourceAddress', 'peerPort', 'holdTime', 'keepaliveTime', 'routerID', 'nodeSelectors', 'password', 'bfdProfile', 'ebgpMultiHop'] as const;
const V1BETA2_KEYS = [
  ...V1BETA1_KEYS,
  'dynamicASN',
  'localASN',
  'interface',
  'connectTime',
  'passwordSecret',
  'enableGracefulRestart',
  'vrf',
  'disableMP',
  'dualStackAddressFamily',
] as const;
type PeerFields = Fields<(typeof V1BETA2_KEYS)[number]>;

const KEYS: PeerKeys = { myASN: 'myASN', peerASN: 'peerASN', peerAddress: 'peerAddress', sourceAddress: 'sourceAddress', routerID: 'routerID', ebgpMultihop: 'ebgpMultiHop' };
// MetalLB's schema allows ports up to 16384; 0 would be "unset" to Go, which the API server fills with 179.
const PORT = { min: 1, max: 16384 };
const ASN_OR_ZERO = { min: 0, max: 0xffffffff };

/** Secrets by name: type and decoded data, as the Secret informer (or a file) gives them. */
export interface SecretData {
  readonly type: string;
  readonly data: Readonly<Record<string, string>>;
}

/** Secret objects: `data` is base64 as the API returns it, `stringData` plain (files only). */
export function readSecrets(r: YamlReader, objects: readonly ObjectAt[]): Map<string, SecretData> {
  const out = new Map<string, SecretData>();
  for (const o of objects) {
    const node = o.at.node;
    if (!isMap(node)) continue;
    const type = node.get('type', true);
    const data: Record<string, string> = {};
    for (const [key, encoded] of [['data', true], ['stringData', false]] as const) {
      const m = node.get(key, true);
      if (!isMap(m)) continue;
      for (const pair of m.items) {
        if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== 'string') continue;
        const k = String(pair.key.value);
        data[k] = encoded ? Buffer.from(pair.value.value, 'base64').toString('utf8') : pair.value.value;
      }
    }
    out.set(o.name, { type: isScalar(type) && typeof type.value === 'string' ? type.value : 'Opaque', data });
  }
  return out;
}

/** BFDProfile objects by name. */
export function readBfdObjects(r: YamlReader, objects: readonly ObjectAt[]): BfdProfile[] {
  return objects.map((o) => {
    const f = r.fields(specOf(r, o), BFD_OBJECT_KEYS, { unknown: 'warn' }) ?? {};
    return { name: o.name, ...readBfdSettings(r, f, 'object') };
  });
}

export interface PeerContext {
  readonly bfdProfiles: ReadonlySet<string>;
  /**
   * The basic-auth Secrets; 'skip': this process needs no passwords (the controller), references
   * are not resolved; 'unreadable': it needs them but may not read Secrets (an error names the flag).
   */
  readonly secrets: ReadonlyMap<string, SecretData> | 'skip' | 'unreadable';
}

function readPassword(r: YamlReader, o: ObjectAt, f: PeerFields, ctx: PeerContext): string | undefined {
  const password = r.string(f.password);
  const ref = r.fields(f.passwordSecret, ['name', 'namespace'], { unknown: 'warn' });
  const secretName = r.string(ref?.name);
  if (!ref || !f.passwordSecret || !secretName) return password === '' ? undefined : password;
  if (password) {
    r.report(f.passwordSecret, 'set either password or passwordSecret, not both');
    return undefined;
  }
  const namespace = r.string(ref.namespace);
  if (namespace && o.namespace && namespace !== o.namespace) {
    r.report(ref.namespace ?? f.passwordSecret, `the Secret must be in ${o.namespace}, the configuration namespace`);
    return undefined;
  }
  if (ctx.secrets === 'skip') return undefined;
  if (ctx.secrets === 'unreadable') {
    r.report(f.passwordSecret, 'this speaker does not read Secrets: run it with --read-peer-secrets and grant it list/watch on Secrets in the configuration namespace (docs/configuration.md)');
    return undefined;
  }
  const secret = ctx.secrets.get(secretName);
  const what = `Secret ${o.namespace ? `${o.namespace}/` : ''}${secretName}`;
  if (!secret) r.report(f.passwordSecret, `${what} does not exist (or is not of type kubernetes.io/basic-auth)`);
  else if (secret.type !== 'kubernetes.io/basic-auth') r.report(f.passwordSecret, `${what} must be of type kubernetes.io/basic-auth, not ${secret.type}`);
  else if (secret.data.password === undefined) r.report(f.passwordSecret, `${what} has no key "password"`);
  else return secret.data.password;
  return undefined;
}

function checkConnectTime(r: YamlReader, at: At | undefined): void {
  const text = r.string(at);
  if (!at || text === undefined) return;
  const d = parseGoDuration(text);
  if (!d.ok) r.report(at, d.error);
  else if (d.value % 1_000_000_000n !== 0n) r.report(at, 'connect time should contain a whole number of seconds');
  else if (d.value < 1_000_000_000n || d.value > 65535_000_000_000n) r.report(at, 'connect time should be between 1 seconds to 65535');
  else r.warn(at, 'has no effect: ironlb retries a session with its own backoff (docs/bgp.md)');
}

/** How the router's AS number is given: a number, internal (= myASN), or undefined (reported, or left out). */
function readPeerASN(r: YamlReader, f: PeerFields, spec: At, myASN: number | undefined, dynamic: string | undefined, v1: boolean): number | undefined {
  if (v1) return readASNAt(r, r.require(f, 'peerASN', spec, 'is required (an AS number between 1 and 4294967295)'));
  const peerASN = r.integer(f.peerASN, ASN_OR_ZERO);
  const hasNumber = peerASN !== undefined && peerASN !== 0;
  if (hasNumber && dynamic) r.report(f.dynamicASN ?? spec, 'set either peerASN or dynamicASN, not both');
  else if (!hasNumber && !dynamic && peerASN === undefined) r.reportMissing(spec, 'peerASN', 'is required unless dynamicASN is set (internal or external)');
  else if (!hasNumber && !dynamic && f.peerASN) r.report(f.peerASN, 'must not be 0 (or set dynamicASN instead)');
  else if (dynamic === 'internal') return myASN;
  else if (dynamic === 'external') {
    r.warn(f.dynamicASN ?? spec, "dynamicASN external is not supported: ironlb's speaker needs the router's AS number; this peer is left out (set peerASN)");
  } else if (dynamic !== undefined) r.report(f.dynamicASN ?? spec, `unknown dynamicASN "${dynamic}"; use internal or external`);
  return hasNumber && !dynamic ? peerASN : undefined;
}

/** Fields that change nothing in ironlb: say so, keep the peer. */
function warnNoEffect(r: YamlReader, f: PeerFields, ctx: PeerContext, bfdProfile: string | undefined): void {
  if (bfdProfile !== undefined && f.bfdProfile) {
    if (!ctx.bfdProfiles.has(bfdProfile)) r.report(f.bfdProfile, `BFDProfile "${bfdProfile}" does not exist`);
    else r.warn(f.bfdProfile, 'has no effect: ironlb has no BFD; the session relies on the BGP hold timer');
  }
  if (r.bool(f.disableMP) && f.disableMP) r.warn(f.disableMP, 'has no effect (deprecated by MetalLB too)');
  if (r.bool(f.dualStackAddressFamily) && f.dualStackAddressFamily) {
    r.warn(f.dualStackAddressFamily, "has no effect: ironlb's speaker chooses the address families of a session itself (docs/bgp.md)");
  }
}

/** One BGPPeer; undefined when it is in error or cannot be connected to as written (reported either way). */
function readPeer(r: YamlReader, o: ObjectAt, ctx: PeerContext): Peer | undefined {
  const before = r.issues.length;
  const v1 = o.apiVersion.endsWith('/v1beta1');
  const spec = specOf(r, o);
  if (!spec) {
    r.reportMissing(o.at, 'spec', 'is required');
    return undefined;
  }
  const f: PeerFields = r.fields(spec, v1 ? V1BETA1_KEYS : V1BETA2_KEYS, { unknown: 'warn' }) ?? {};
  const specASN = readASNAt(r, r.require(f, 'myASN', spec, 'is required (an AS number between 1 and 4294967295)'));
  const localASN = r.integer(f.localASN, ASN_OR_ZERO);
  // local-as with no-prepend replace-as: this router only ever sees localASN.
  const myASN = localASN ? localASN : specASN;
  const dynamic = r.string(f.dynamicASN);
  const peerASN = readPeerASN(r, f, spec, specASN, dynamic, v1);
  const iface = r.string(f.interface);
  const peerAddress = readAddress(r, f.peerAddress, 'peerAddress');
  if (f.peerAddress && iface) r.report(f.interface ?? spec, 'set either peerAddress or interface, not both');
  else if (!f.peerAddress && !iface) r.reportMissing(spec, 'peerAddress', v1 ? 'is required' : 'is required unless interface is set');
  else if (iface && f.interface) r.warn(f.interface, 'unnumbered BGP is not supported by ironlb; this peer is left out (set peerAddress)');
  const sourceAddress = readAddress(r, f.sourceAddress, 'sourceAddress');
  const routerID = readAddress(r, f.routerID, 'routerID');
  const ebgpMultihop = r.bool(f.ebgpMultiHop) ?? false;
  checkPeerRules(r, { myASN, peerASN, peerAddress, sourceAddress, sourceAt: f.sourceAddress, routerID, routerIDAt: f.routerID, ebgpMultihop, ebgpMultihopAt: f.ebgpMultiHop }, KEYS);
  const peerPort = r.integer(f.peerPort, PORT) ?? DEFAULT_PORT;
  const { hold, keepalive } = readTimers(r, f.holdTime, f.keepaliveTime, { objectRules: true });
  checkConnectTime(r, f.connectTime);
  const nodeSelectors = readSelectorList(r, f.nodeSelectors);
  const password = readPassword(r, o, f, ctx);
  const bfdProfile = r.string(f.bfdProfile) || undefined;
  warnNoEffect(r, f, ctx, bfdProfile);
  const gracefulRestart = r.bool(f.enableGracefulRestart) ? true : undefined;
  const vrf = r.string(f.vrf);
  if (vrf && f.vrf) r.warn(f.vrf, 'VRFs are not supported by ironlb; this peer is left out');
  if (r.issues.length > before || vrf || iface || myASN === undefined || peerASN === undefined || peerAddress === undefined) return undefined;
  return {
    ...assemblePeer({ myASN, peerASN, peerAddress, peerPort, hold, keepalive, nodeSelectors, ebgpMultihop, sourceAddress, routerID, password, bfdProfile }),
    name: o.name,
    ...(gracefulRestart && { gracefulRestart }),
    ...(dynamic === 'internal' && { dynamicASN: 'internal' as const }),
  };
}

/** Every BGPPeer that ironlb connects to; a peer identical to another (but for its name) is refused. */
export function readPeerObjects(r: YamlReader, objects: readonly ObjectAt[], ctx: PeerContext): Peer[] {
  const peers: Peer[] = [];
  const seen = new Map<string, string>();
  for (const o of objects) {
    const peer = readPeer(r, o, ctx);
    if (!peer) continue;
    const key = canonical({ ...peer, name: undefined });
    const first = seen.get(key);
    if (first !== undefined) {
      r.report(o.at, `identical to ${first} (the same session twice)`);
      continue;
    }
    seen.set(key, describeRef(o.ref));
    peers.push(peer);
  }
  return peers;
}
