// The harness's polling helper: `false` from a predicate means "not yet", never "done".
import { eventually } from '../../../scripts/lib/wait';

describe('eventually', () => {
  it('keeps polling while the predicate says false and returns once it says true', async () => {
    let calls = 0;
    const v = await eventually('the third call', async () => ++calls >= 3, 5_000, 1);
    expect(v).toBe(true);
    expect(calls).toBe(3);
  });

  it('treats undefined and null as not yet and returns the first other value', async () => {
    const answers: Array<string | undefined | null> = [undefined, null, 'done'];
    let i = 0;
    await expect(eventually('a value', async () => answers[i++], 5_000, 1)).resolves.toBe('done');
  });

  it('names what it waited for when time runs out', async () => {
    await expect(eventually('the impossible', async () => false, 20, 5)).rejects.toThrow(/timed out after 20 ms waiting for the impossible/);
  });
});
