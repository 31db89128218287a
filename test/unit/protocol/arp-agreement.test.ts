// One ARP decode path (issue 17): the responder's zero-copy answerArp must accept exactly the
// frames decodeArpFrame decodes as requests, and its reply must be byte for byte buildArpReply's.
// The expected verdict below is derived from decodeArpFrame's result and the responder's rules
// as written in docs (ownership, our own frames, destination, unicast sender), with ownership
// judged from a plain set of address strings rather than OwnedAddresses.
import fc from 'fast-check';
import { formatIPv4, formatMac, parseIPv4, parseMac } from '../../../src/protocol/address';
import { ArpOperation, buildArpReply, buildArpRequest, buildGratuitousArp, decodeArpFrame } from '../../../src/protocol/arp';
import { answerArp, type L2DropReason, OwnedAddresses, type ResponderInterfaceView } from '../../../src/protocol/l2-responder';
import { arpReplyFrame, arpRequestFrame, CLIENT_MAC, NODE_MAC } from './fixtures';

const iface: ResponderInterfaceView = { ifindex: 2, mac: parseMac(NODE_MAC) };
const OWNED = ['198.51.100.90', '198.51.100.11'];
const OTHER_IFACE_ONLY = '198.51.100.91';

function owned(): OwnedAddresses {
  const o = new OwnedAddresses();
  for (const a of OWNED) o.setV4(parseIPv4(a));
  o.setV4(parseIPv4(OTHER_IFACE_ONLY), new Set([3]));
  return o;
}

const isGroupOrZero = (mac: Buffer) => (mac[0] & 1) === 1 || mac.every((b) => b === 0);

/** What the responder must do with `frame`, from decodeArpFrame alone. */
function expected(frame: Uint8Array, length: number): { verdict: L2DropReason } | { reply: Buffer } {
  const d = decodeArpFrame(frame, length);
  if (!d.ok) return { verdict: d.reason === 'badOperation' ? 'notRequest' : 'malformed' };
  const { ethernet, arp } = d.value;
  if (ethernet.vlan !== undefined) return { verdict: 'malformed' };
  if (arp.operation !== ArpOperation.Request) return { verdict: 'notRequest' };
  const target = formatIPv4(arp.targetProtocolAddress);
  if (target === OTHER_IFACE_ONLY) return { verdict: 'interfaceNotAllowed' };
  if (!OWNED.includes(target)) return { verdict: 'notOwned' };
  if (formatMac(ethernet.source) === NODE_MAC) return { verdict: 'ownPacket' };
  const dst = formatMac(ethernet.destination);
  if (dst !== 'ff:ff:ff:ff:ff:ff' && dst !== NODE_MAC) return { verdict: 'badDst' };
  if (isGroupOrZero(arp.senderHardwareAddress) || isGroupOrZero(ethernet.source)) return { verdict: 'badSender' };
  return { reply: buildArpReply(arp, iface.mac) };
}

function check(frame: Uint8Array, length: number): void {
  const out = Buffer.alloc(64, 0xee);
  const got = answerArp(frame, length, iface, owned(), out);
  const want = expected(frame, length);
  if ('verdict' in want) expect(got).toBe(want.verdict);
  else {
    expect(got).toBe(want.reply.length);
    expect(out.subarray(0, want.reply.length).toString('hex')).toBe(want.reply.toString('hex'));
  }
}

const client = parseMac(CLIENT_MAC);
/** Valid starting points: requests for owned, other-interface and foreign addresses, replies, gratuitous frames, captures. */
const SEEDS: Buffer[] = [
  arpRequestFrame(),
  arpReplyFrame(),
  buildArpRequest(client, parseIPv4('198.51.100.10'), parseIPv4('198.51.100.90')),
  buildArpRequest(client, parseIPv4('198.51.100.10'), parseIPv4('198.51.100.90'), iface.mac),
  buildArpRequest(client, parseIPv4('198.51.100.10'), parseIPv4(OTHER_IFACE_ONLY)),
  buildArpRequest(client, parseIPv4('198.51.100.10'), parseIPv4('198.51.100.99')),
  ...buildGratuitousArp(client, parseIPv4('198.51.100.90')),
  ...buildGratuitousArp(iface.mac, parseIPv4('198.51.100.90')),
  // 802.1Q-tagged request (the decoder reads one tag)
  Buffer.concat([Buffer.from('ffffffffffff020000000010810000640806', 'hex'), arpRequestFrame().subarray(14)]),
];

/** Bytes worth writing into header fields: the values the checks compare against and their neighbours. */
const INTERESTING = [0x00, 0x01, 0x02, 0x04, 0x06, 0x08, 0x06, 0x11, 0x33, 0x5e, 0x64, 0x5a, 0x81, 0xc6, 0xff];

describe('answerArp agrees with decodeArpFrame + buildArpReply', () => {
  it('on the seed frames', () => {
    for (const f of SEEDS) check(f, f.length);
  });

  it('property: on mutations of valid frames (field bytes, lengths, truncation, padding)', () => {
    const mutation = fc.tuple(fc.nat(63), fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })));
    fc.assert(
      fc.property(fc.nat(SEEDS.length - 1), fc.array(mutation, { maxLength: 6 }), fc.integer({ min: -2, max: 70 }), fc.uint8Array({ maxLength: 12 }), (seed, edits, length, tail) => {
        const frame = Buffer.concat([SEEDS[seed], Buffer.from(tail)]);
        for (const [at, value] of edits) if (at < frame.length) frame[at] = value;
        check(frame, Math.min(length, frame.length));
        check(frame, frame.length);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: on random bytes, with lengths past the buffer too', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: -5, max: 100 }), (bytes, length) => check(bytes, length)),
      { numRuns: 5000 },
    );
  });
});
