// checkUpdate on hand-built UPDATEs: each session-reset case of RFC 4271 §6 / RFC 7606 with the
// NOTIFICATION code/subcode the RFC names, and weaker errors that must pass unnoticed.
// (test/unit/bgp/fuzz.test.ts holds it to decode()'s verdict on a million mutated messages.)
import { checkUpdate } from '../../../src/protocol/bgp';

/** An UPDATE: withdrawn routes, path attributes and NLRI given as hex; lengths filled in. */
function update(withdrawn: string, attributes: string, nlri: string): Buffer {
  const w = Buffer.from(withdrawn, 'hex');
  const a = Buffer.from(attributes, 'hex');
  const n = Buffer.from(nlri, 'hex');
  const head = Buffer.alloc(19, 0xff);
  head[18] = 2;
  const lengths = [Buffer.alloc(2), Buffer.alloc(2)];
  lengths[0].writeUInt16BE(w.length);
  lengths[1].writeUInt16BE(a.length);
  const m = Buffer.concat([head, lengths[0], w, lengths[1], a, n]);
  m.writeUInt16BE(m.length, 16);
  return m;
}

const ORIGIN = '40010100';
const AS_PATH = '400200';
const NEXT_HOP = '400304c6336401';
const MANDATORY = ORIGIN + AS_PATH + NEXT_HOP;

const ROWS: Array<{ desc: string; frame: Buffer; want?: [number, number] }> = [
  { desc: 'a plain announcement', frame: update('', MANDATORY, '18c63364') },
  { desc: 'End-of-RIB', frame: update('', '', '') },
  { desc: 'NEXT_HOP missing: treat-as-withdraw, ignored', frame: update('', ORIGIN + AS_PATH, '18c63364') },
  { desc: 'bad ORIGIN value: treat-as-withdraw, ignored', frame: update('', '40010107' + AS_PATH + NEXT_HOP, '18c63364') },
  { desc: 'unknown optional attribute: kept, ignored', frame: update('', MANDATORY + 'c0630101', '18c63364') },
  { desc: 'attribute overrunning the list: treat-as-withdraw, ignored', frame: update('', MANDATORY + '400505', '') },
  { desc: 'withdrawn length past the message: Malformed Attribute List', frame: Buffer.concat([update('', '', '').subarray(0, 19), Buffer.from('00ff0000', 'hex')]), want: [3, 1] },
  { desc: 'withdrawn prefix /33: Invalid Network Field', frame: update('21c6336401', '', ''), want: [3, 10] },
  { desc: 'NLRI prefix cut short: Invalid Network Field', frame: update('', MANDATORY, '18c633'), want: [3, 10] },
  { desc: 'MP_REACH_NLRI twice: Malformed Attribute List', frame: update('', MANDATORY + '800e03000101' + '800e03000101', ''), want: [3, 1] },
  { desc: 'MP_UNREACH_NLRI without room for AFI/SAFI: Attribute Length Error', frame: update('', '800f020001', ''), want: [3, 5] },
  { desc: 'unknown well-known attribute: Unrecognized Well-known Attribute', frame: update('', MANDATORY + '40630101', '18c63364'), want: [3, 2] },
  // Found by the fuzz run: the repeat is discarded unread (RFC 7606 §3 g), so its flags do not matter.
  { desc: 'unknown type optional first, then repeated as well-known: no reset', frame: update('', MANDATORY + 'c0630101' + '40630101', '18c63364') },
  { desc: 'shorter than an UPDATE can be: Bad Message Length', frame: Buffer.from('ffffffffffffffffffffffffffffffff001502' + '0000', 'hex'), want: [1, 2] },
];

describe('checkUpdate', () => {
  it.each(ROWS)('$desc', ({ frame, want }) => {
    const e = checkUpdate(frame);
    expect(e === undefined ? undefined : [e.code, e.subcode]).toEqual(want);
    if (e) expect(e.handling).toBe('session-reset');
  });

  it('carries the unrecognized attribute as the NOTIFICATION data (RFC 4271 §6.3)', () => {
    expect(checkUpdate(update('', MANDATORY + '40630101', ''))?.data.toString('hex')).toBe('40630101');
  });
});
