// peers: BGP sessions, with Go-duration timers and the iBGP/eBGP rules.
import { canonicalIP, tryParseIP } from '../ipam/address';
import { canonical, definedOnly } from './canonical';
import { parseSeconds } from './duration';
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
const DEFAULT_PORT = 179;
const DEFAULT_HOLD_SECONDS = 90;
// The hold time travels in a 16-bit field of the BGP OPEN message.
const MAX_HOLD_SECONDS = 65535;

function readASN(r: YamlReader, f: PeerFields, key: 'my-asn' | 'peer-asn', peer: At): number | undefined {
  const at = r.require(f, key, peer, 'is required (an AS number between 1 and 4294967295)');
  if (at && r.numberValue(at) === 0) {
    r.report(at, 'must not be 0');
    return undefined;
  }
  return r.integer(at, ASN);
}

function readAddress(r: YamlReader, at: At | undefined, what: string): string | undefined {
  const text = r.string(at);
  if (text === undefined || !at) return undefined;
  const canonical = canonicalIP(text);
  if (!canonical) r.report(at, `invalid ${what} "${text}": not an IP address`);
  return canonical;
}

/** Seconds from a Go duration (`90s`, `1m30s`) or a bare number, truncated to whole seconds. */
function readSeconds(r: YamlReader, at: At | undefined): { seconds: number; text: string } | undefined {
  const text = r.string(at);
  if (!at || text === undefined) return undefined;
  const bare = r.numberValue(at);
  if (bare !== undefined) return { seconds: Math.trunc(bare), text };
  const parsed = parseSeconds(text);
  if (!parsed.ok) r.report(at, parsed.error);
  return parsed.ok ? { seconds: parsed.value, text } : undefined;
}

function readTimers(r: YamlReader, f: PeerFields): { hold: number; keepalive: number } {
  const holdAt = f['hold-time'];
  const holdRead = readSeconds(r, holdAt);
  if (holdAt && holdRead) {
    const { seconds, text } = holdRead;
    if (seconds !== 0 && seconds < 3) r.report(holdAt, `invalid hold time "${text}": must be 0 or at least 3s`);
    else if (seconds > MAX_HOLD_SECONDS) r.report(holdAt, `invalid hold time "${text}": must be at most ${MAX_HOLD_SECONDS}s`);
  }
  const hold = holdRead?.seconds ?? DEFAULT_HOLD_SECONDS;
  const keepaliveAt = f['keepalive-time'];
  const keepaliveRead = readSeconds(r, keepaliveAt);
  if (keepaliveAt && keepaliveRead) {
    const { seconds, text } = keepaliveRead;
    if (seconds < 0) r.report(keepaliveAt, `invalid keepalive time "${text}": must not be negative`);
    else if (seconds > hold) r.report(keepaliveAt, `keepalive time ${seconds}s is longer than the hold time ${hold}s`);
  }
  return { hold, keepalive: keepaliveRead?.seconds ?? Math.floor(hold / 3) };
}

function readPeer(r: YamlReader, at: At, bfdProfiles: ReadonlySet<string>): Peer | undefined {
  const f = r.fields(at, PEER_KEYS);
  if (!f) return undefined;
  const myASN = readASN(r, f, 'my-asn', at);
  const peerASN = readASN(r, f, 'peer-asn', at);
  const peerAddress = readAddress(r, r.require(f, 'peer-address', at), 'peer-address');
  const sourceAddress = readAddress(r, f['source-address'], 'source-address');
  if (peerAddress && sourceAddress && f['source-address'] && tryParseIP(peerAddress)?.family !== tryParseIP(sourceAddress)?.family) {
    r.report(f['source-address'], `source-address ${sourceAddress} and peer-address ${peerAddress} are of different IP families`);
  }
  const peerPort = r.integer(f['peer-port'], PORT) ?? DEFAULT_PORT;
  const { hold, keepalive } = readTimers(r, f);
  const routerID = readAddress(r, f['router-id'], 'router-id');
  if (routerID && f['router-id'] && tryParseIP(routerID)?.family !== 4) {
    r.report(f['router-id'], `invalid router-id "${routerID}": must be an IPv4 address`);
  }
  const nodeSelectors = readNodeSelectors(r, f['node-selectors']);
  const password = r.string(f.password);
  const bfdProfile = r.string(f['bfd-profile']);
  if (bfdProfile !== undefined && f['bfd-profile'] && !bfdProfiles.has(bfdProfile)) {
    r.report(f['bfd-profile'], `bfd profile "${bfdProfile}" is not defined in bfd-profiles`);
  }
  const ebgpMultihop = r.bool(f['ebgp-multihop']) ?? false;
  if (ebgpMultihop && f['ebgp-multihop'] && myASN !== undefined && myASN === peerASN) {
    r.report(f['ebgp-multihop'], `ebgp-multihop cannot be set on an iBGP peer (my-asn and peer-asn are both ${myASN})`);
  }
  if (myASN === undefined || peerASN === undefined || peerAddress === undefined) return undefined;
  return {
    myASN,
    peerASN,
    peerAddress,
    peerPort,
    holdTimeSeconds: hold,
    keepaliveTimeSeconds: keepalive,
    nodeSelectors,
    ebgpMultihop,
    ...definedOnly({ sourceAddress, routerID, password, bfdProfile }),
  };
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
