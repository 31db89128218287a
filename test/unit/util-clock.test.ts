import { FakeClock } from '../support/fake-clock';

describe('FakeClock', () => {
  it('fires timers in due order as time passes, including timers set by timers', () => {
    const clock = new FakeClock(100);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 15);
    }, 10);
    const gone = clock.setTimeout(() => seen.push('never'), 5);
    clock.clearTimeout(gone);
    clock.advance(19);
    expect(seen).toEqual(['a@110']);
    clock.advance(100);
    expect(seen).toEqual(['a@110', 'b@120', 'c@125']);
    expect(clock.now()).toBe(219);
    expect(clock.pending).toBe(0);
  });
});
