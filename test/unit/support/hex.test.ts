import { hex } from '../../support/hex';

describe('hex fixtures (test/support/hex.ts)', () => {
  it('reads both styles: spaced fragments with MAC colons, and commented lines', () => {
    expect(hex('02:00:00:00:00:10', '08 06')).toEqual(Buffer.from([2, 0, 0, 0, 0, 0x10, 8, 6]));
    expect(hex('40 01 01 00 # ORIGIN IGP\n  40 03 04 c0000201 # NEXT_HOP')).toEqual(Buffer.from('40010100400304c0000201', 'hex'));
    expect(hex('ff # a comment ends with its fragment', '01')).toEqual(Buffer.from([0xff, 1]));
  });

  it.each(['0', 'zz', '0x01', '01 0'])('refuses %j instead of returning fewer bytes', (text) => {
    expect(() => hex(text)).toThrow('bad hex fixture');
  });
});
