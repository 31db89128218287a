// peers: BGP sessions, with Go-duration timers and the iBGP/eBGP rules.
import { canonicalIP, tryParseIP } from '../ipam/address';
import { canonical, definedOnly } from './canonical';
import { parseGoDuration, parseSeconds, wholeSeconds } from './duration';
import { mapOutcome } from './outcome';
import type { Peer } from './types';
import { readNodeSelectors } from './validate-selectors';
import type { At, Fields, YamlReader } from './yaml-walk';

const PEER_KEYS = [
  'my-asn',
  'peer-asn',
  'peer-address',
  'source-address',
  'peer-port',
  'hold-time',
  'keepalive-time',
  'router-id',
  'node-selectors',
  'password',
  'bfd-profile',
  'ebgp-multihop',
] as const;

type PeerFields = Fields<(typeof PEER_KEYS)[number]>;

const ASN = { min: 1, max: 0xffffffff };
const PORT = { min: 1, max: 65535 };
export const DEFAULT_PORT = 179;
const DEFAULT_HOLD_SECONDS = 90;
// The hold time travels in a 16-bit field of the BGP OPEN message.
const MAX_HOLD_SECONDS = 65535;

/** An AS number between 1 and 2^32-1. */
export function readASNAt(r: YamlReader, at: At | undefined): number | undefined {
  if (at && r.numberValue(at) === 0) {
    r.report(at, 'must not be 0');
    return undefined;
  }
  return r.integer(at, ASN);
}

function readASN(r: YamlReader, f: PeerFields, key: 'my-asn' | 'peer-asn', peer: At): number | undefined {
  return readASNAt(r, r.require(f, key, peer, 'is required (an AS number between 1 and 4294967295)'));
}

export function readAddress(r: YamlReader, at: At | undefined, what: string): string | undefined {
  const text = r.string(at);
  if (text === undefined || !at) return undefined;
  const canonical = canonicalIP(text);
  if (!canonical) r.report(at, `invalid ${what} "${text}": not an IP address`);
  return canonical;
}

/**
 * Seconds from a Go duration (`90s`, `1m30s`) or a bare number, truncated to whole seconds.
 * `goOnly` (metav1.Duration fields of the metallb.io objects): a Go duration string and nothing else.
 */
export function readSeconds(r: YamlReader, at: At | undefined, goOnly = false): { seconds: number; text: string } | undefined {
  const text = r.string(at);
  if (!at || text === undefined) return undefined;
  const bare = r.numberValue(at);
  if (bare !== undefined && goOnly) {
    r.report(at, `expected a duration such as "90s", got the number ${text}`);
    return undefined;
  }
  if (bare !== undefined) return { seconds: Math.trunc(bare), text };
  const parsed = goOnly ? mapOutcome(parseGoDuration(text), wholeSeconds) : parseSeconds(text);
  if (!parsed.ok) r.report(at, parsed.error);
  return parsed.ok ? { seconds: parsed.value, text } : undefined;
}

export interface TimerOptions {
  /** metallb.io BGPPeer: Go durations only, and a hold time left out is 3 × the keepalive time when that is set. */
  readonly objectRules?: boolean;
}

export function readTimers(r: YamlReader, holdAt: At | undefined, keepaliveAt: At | undefined, opts: TimerOptions = {}): { hold: number; keepalive: number } {
  const goOnly = opts.objectRules === true;
  const holdRead = readSeconds(r, holdAt, goOnly);
  if (holdAt && holdRead) {
    const { seconds, text } = holdRead;
    if (seconds !== 0 && seconds < 3) r.report(holdAt, `invalid hold time "${text}": must be 0 or at least 3s`);
    else if (seconds > MAX_HOLD_SECONDS) r.report(holdAt, `invalid hold time "${text}": must be at most ${MAX_HOLD_SECONDS}s`);
  }
  const keepaliveRead = readSeconds(r, keepaliveAt, goOnly);
  const derived = goOnly && !holdAt && keepaliveRead !== undefined && keepaliveRead.seconds >= 0 ? keepaliveRead.seconds * 3 : undefined;
  const hold = holdRead?.seconds ?? derived ?? DEFAULT_HOLD_SECONDS;
  if (derived !== undefined && keepaliveAt && derived !== 0 && (derived < 3 || derived > MAX_HOLD_SECONDS)) {
    r.report(keepaliveAt, `the hold time derived from it (3 × ${keepaliveRead?.seconds}s) must be 0 or between 3s and ${MAX_HOLD_SECONDS}s; set holdTime`);
  }
  if (keepaliveAt && keepaliveRead) {
    const { seconds, text } = keepaliveRead;
    if (seconds < 0) r.report(keepaliveAt, `invalid keepalive time "${text}": must not be negative`);
    else if (seconds > hold) r.report(keepaliveAt, `keepalive time ${seconds}s is longer than the hold time ${hold}s`);
  }
  return { hold, keepalive: keepaliveRead?.seconds ?? Math.floor(hold / 3) };
}

/** The field names a peer's messages use: the ConfigMap's, or a BGPPeer's. */
export interface PeerKeys {
  readonly myASN: string;
  readonly peerASN: string;
  readonly peerAddress: string;
  readonly sourceAddress: string;
  readonly routerID: string;
  readonly ebgpMultihop: string;
}

const CONFIGMAP_KEYS: PeerKeys = {
  myASN: 'my-asn',
  peerASN: 'peer-asn',
  peerAddress: 'peer-address',
  sourceAddress: 'source-address',
  routerID: 'router-id',
  ebgpMultihop: 'ebgp-multihop',
};

export interface PeerRuleInput {
  readonly myASN?: number;
  readonly peerASN?: number;
  readonly peerAddress?: string;
  readonly sourceAddress?: string;
  readonly sourceAt?: At;
  readonly routerID?: string;
  readonly routerIDAt?: At;
  readonly ebgpMultihop: boolean;
  readonly ebgpMultihopAt?: At;
}

/** Rules across a peer's fields: one family for both addresses, an IPv4 router ID, no multihop on iBGP. */
export function checkPeerRules(r: YamlReader, p: PeerRuleInput, keys: PeerKeys = CONFIGMAP_KEYS): void {
  if (p.peerAddress && p.sourceAddress && p.sourceAt && tryParseIP(p.peerAddress)?.family !== tryParseIP(p.sourceAddress)?.family) {
    r.report(p.sourceAt, `${keys.sourceAddress} ${p.sourceAddress} and ${keys.peerAddress} ${p.peerAddress} are of different IP families`);
  }
  if (p.routerID && p.routerIDAt && tryParseIP(p.routerID)?.family !== 4) {
    r.report(p.routerIDAt, `invalid ${keys.routerID} "${p.routerID}": must be an IPv4 address`);
  }
  if (p.ebgpMultihop && p.ebgpMultihopAt && p.myASN !== undefined && p.myASN === p.peerASN) {
    r.report(p.ebgpMultihopAt, `${keys.ebgpMultihop} cannot be set on an iBGP peer (${keys.myASN} and ${keys.peerASN} are both ${p.myASN})`);
  }
}

function readPeer(r: YamlReader, at: At, bfdProfiles: ReadonlySet<string>): Peer | undefined {
  const f = r.fields(at, PEER_KEYS);
  if (!f) return undefined;
  const myASN = readASN(r, f, 'my-asn', at);
  const peerASN = readASN(r, f, 'peer-asn', at);
  const peerAddress = readAddress(r, r.require(f, 'peer-address', at), 'peer-address');
  const sourceAddress = readAddress(r, f['source-address'], 'source-address');
  const peerPort = r.integer(f['peer-port'], PORT) ?? DEFAULT_PORT;
  const { hold, keepalive } = readTimers(r, f['hold-time'], f['keepalive-time']);
  const routerID = readAddress(r, f['router-id'], 'router-id');
  const nodeSelectors = readNodeSelectors(r, f['node-selectors']);
  const password = r.string(f.password);
  const bfdProfile = r.string(f['bfd-profile']);
  if (bfdProfile !== undefined && f['bfd-profile'] && !bfdProfiles.has(bfdProfile)) {
    r.report(f['bfd-profile'], `bfd profile "${bfdProfile}" is not defined in bfd-profiles`);
  }
  const ebgpMultihop = r.bool(f['ebgp-multihop']) ?? false;
  const [sourceAt, routerIDAt, ebgpMultihopAt] = [f['source-address'], f['router-id'], f['ebgp-multihop']];
  checkPeerRules(r, { myASN, peerASN, peerAddress, sourceAddress, sourceAt, routerID, routerIDAt, ebgpMultihop, ebgpMultihopAt });
  if (myASN === undefined || peerASN === undefined || peerAddress === undefined) return undefined;
  return assemblePeer({ myASN, peerASN, peerAddress, peerPort, hold, keepalive, nodeSelectors, ebgpMultihop, sourceAddress, routerID, password, bfdProfile });
}

/** A peer's read values; optional ones left undefined stay absent from the Peer. */
export interface PeerParts {
  readonly myASN: number;
  readonly peerASN: number;
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly hold: number;
  readonly keepalive: number;
  readonly nodeSelectors: Peer['nodeSelectors'];
  readonly ebgpMultihop: boolean;
  readonly sourceAddress?: string;
  readonly routerID?: string;
  readonly password?: string;
  readonly bfdProfile?: string;
}

export function assemblePeer(p: PeerParts): Peer {
  const { hold, keepalive, sourceAddress, routerID, password, bfdProfile, ...rest } = p;
  return { ...rest, holdTimeSeconds: hold, keepaliveTimeSeconds: keepalive, ...definedOnly({ sourceAddress, routerID, password, bfdProfile }) };
}

export function readPeers(r: YamlReader, at: At | undefined, bfdProfiles: ReadonlySet<string>): Peer[] {
  const peers: Peer[] = [];
  const seen = new Map<string, string>();
  for (const item of r.items(at) ?? []) {
    const peer = readPeer(r, item, bfdProfiles);
    if (!peer) continue;
    // MetalLB rejects a peer equal (after defaults) to an earlier one.
    const key = canonical(peer);
    const first = seen.get(key);
    if (first !== undefined) {
      r.report(item, `duplicate peer: identical to ${first}`);
      continue;
    }
    seen.set(key, item.path);
    peers.push(peer);
  }
  return peers;
}
