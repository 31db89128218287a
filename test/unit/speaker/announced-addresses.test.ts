// AnnouncedAddresses: which newly owned addresses are probed before their first announcement
// (false) and which are announced at once and audited (true). Expected answers written by hand
// from the rule in conflict-watch.ts: at our first pass every address counts as announced before
// (found at start-up); later, an address counts once some speaker was elected for it in an
// earlier pass, and is forgotten when no Service shows it any more.
import { AnnouncedAddresses } from '../../../src/speaker/layer2/announced-addresses';

const e = (service: string, ips: string[], announcer?: string) => ({ service, ips, result: { announcer } });

describe('AnnouncedAddresses', () => {
  it('start-up: everything present at the first pass counts as announced before, even without an announcer', () => {
    const a = new AnnouncedAddresses();
    a.update([e('ns/a', ['192.0.2.1'], 'n1'), e('ns/b', ['192.0.2.2'])], []);
    expect(a.announcedBefore('192.0.2.1')).toBe(true);
    expect(a.announcedBefore('192.0.2.2')).toBe(true);
    expect(a.announcedBefore('192.0.2.3')).toBe(false);
  });

  it('a new address is probed in the pass that first elects someone for it, audited afterwards', () => {
    const a = new AnnouncedAddresses();
    a.update([], []);
    a.update([e('ns/a', ['192.0.2.1'], 'n1')], []);
    expect(a.announcedBefore('192.0.2.1')).toBe(false); // its first announcement: probe
    a.update([e('ns/a', ['192.0.2.1'], 'n2')], []); // moved between our speakers
    expect(a.announcedBefore('192.0.2.1')).toBe(true);
  });

  it('an address without an announcer is not counted until one is elected', () => {
    const a = new AnnouncedAddresses();
    a.update([], []);
    a.update([e('ns/a', ['192.0.2.1'])], []);
    a.update([e('ns/a', ['192.0.2.1'])], []);
    expect(a.announcedBefore('192.0.2.1')).toBe(false);
    a.update([e('ns/a', ['192.0.2.1'], 'n1')], []);
    expect(a.announcedBefore('192.0.2.1')).toBe(false);
  });

  it('shared addresses stay known while one Service still shows them; forgotten when none does', () => {
    const a = new AnnouncedAddresses();
    a.update([e('ns/a', ['192.0.2.1'], 'n1'), e('ns/b', ['192.0.2.1'], 'n1')], []);
    a.update([], ['ns/a']);
    expect(a.announcedBefore('192.0.2.1')).toBe(true);
    a.update([], ['ns/b']);
    expect(a.announcedBefore('192.0.2.1')).toBe(false);
    // Back later (a new Service got it): a first announcement again, so probed.
    a.update([e('ns/c', ['192.0.2.1'], 'n2')], []);
    expect(a.announcedBefore('192.0.2.1')).toBe(false);
  });

  it('a Service that changes address forgets the old one and probes the new one', () => {
    const a = new AnnouncedAddresses();
    a.update([e('ns/a', ['192.0.2.1'], 'n1')], []);
    a.update([e('ns/a', ['192.0.2.9'], 'n1')], []);
    expect(a.announcedBefore('192.0.2.1')).toBe(false);
    expect(a.announcedBefore('192.0.2.9')).toBe(false);
    a.update([e('ns/a', ['192.0.2.9'], 'n1')], []); // re-elected, same address: kept
    expect(a.announcedBefore('192.0.2.9')).toBe(true);
  });
});
