// The small run of the frame fuzzer (test/fuzz/frames.ts) inside npm test; the full million is
// `npm run fuzz:frames`. A fixed seed (FRAME_FUZZ_SEED to try others), so that npm test is
// deterministic; the full run covers other samples.
import { fuzzFrames } from '../../fuzz/frames';

const COUNT = Number(process.env.FRAME_FUZZ_SMALL_COUNT ?? 20_000);
const SEED = Number(process.env.FRAME_FUZZ_SEED ?? 0x5eed);

describe('frame fuzzing (small run)', () => {
  jest.setTimeout(120_000);

  it(`${COUNT} mutated captures through the ARP/NDP decoders and the responder's answer path: nothing throws, every answer is valid (seed ${SEED})`, () => {
    const r = fuzzFrames(COUNT, SEED);
    expect(r.firstFailure).toBeUndefined();
    expect(r.failures).toBe(0);
    expect(r.inputs).toBe(COUNT);
    // The mutations must reach the deep paths, not only be dropped at the door.
    expect(r.decoded.arp).toBeGreaterThan(COUNT / 20);
    expect(r.decoded.ndp).toBeGreaterThan(COUNT / 50);
    expect(r.answered.arp).toBeGreaterThan(COUNT / 100);
    expect(r.answered.ndp).toBeGreaterThan(COUNT / 200);
  });
});
