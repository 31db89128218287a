// The coalescing hand-over of owned-address sets to the responder (src/speaker/layer2/address-push.ts):
// one set in flight, a waiting set superseded by the next, gain modes and takeovers carried over.
import fc from 'fast-check';
import { AddressPusher, supersede, type AddressSet } from '../../../src/speaker/layer2/address-push';
import type { OwnedAddress } from '../../../src/speaker/layer2/responder-messages';
import type { GainMode } from '../../../src/speaker/layer2/conflict-watch';

/** A send() the test acknowledges by hand. */
function manualSend(): { sent: OwnedAddress[][]; ack: () => Promise<void>; send: (l: OwnedAddress[]) => Promise<void> } {
  const sent: OwnedAddress[][] = [];
  const acks: Array<() => void> = [];
  return {
    sent,
    send: (l) => {
      sent.push(l);
      return new Promise<void>((r) => acks.push(r));
    },
    ack: async () => {
      acks.shift()?.();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('AddressPusher', () => {
  it('sends the first set at once, and of the sets pushed while it is in flight only the newest', async () => {
    const s = manualSend();
    const done: string[] = [];
    const p = new AddressPusher({ send: s.send });
    void p.push({ list: [{ address: '10.0.0.1' }] }).then(() => done.push('a'));
    void p.push({ list: [{ address: '10.0.0.1' }, { address: '10.0.0.2' }] }).then(() => done.push('b'));
    void p.push({ list: [{ address: '10.0.0.2' }] }).then(() => done.push('c'));
    await flush();
    expect(s.sent.map((l) => l.map((o) => o.address))).toEqual([['10.0.0.1']]);
    await s.ack();
    expect(done).toEqual(['a']);
    expect(s.sent.map((l) => l.map((o) => o.address))).toEqual([['10.0.0.1'], ['10.0.0.2']]);
    await s.ack();
    expect(done).toEqual(['a', 'b', 'c']); // b was superseded by c: it resolves when c is sent
    expect(p.sends).toBe(2);
    await p.idle();
  });

  it('keeps the gain mode an address had in the superseded set, and the earliest takeover', () => {
    const older: AddressSet = { list: [{ address: '10.0.0.1', gain: 'probe' }, { address: '10.0.0.2', gain: 'audit' }], takeoverLossAt: 200 };
    const newer: AddressSet = { list: [{ address: '10.0.0.1', gain: 'audit', quiet: true }, { address: '10.0.0.3', gain: 'audit' }], takeoverLossAt: 100 };
    expect(supersede(older, newer)).toEqual({ list: [{ address: '10.0.0.1', gain: 'probe', quiet: true }, { address: '10.0.0.3', gain: 'audit' }], takeoverLossAt: 100 });
    expect(supersede({ list: [{ address: '10.0.0.1' }] }, { list: [{ address: '10.0.0.1', gain: 'probe' }] })).toEqual({ list: [{ address: '10.0.0.1' }] });
    expect(supersede({ list: [] }, { list: [{ address: '10.0.0.1', gain: 'probe' }], takeoverLossAt: 7 })).toEqual({ list: [{ address: '10.0.0.1', gain: 'probe' }], takeoverLossAt: 7 });
  });

  it('reports a takeover once its set is acknowledged, and a failed send without stopping', async () => {
    const sent: AddressSet[] = [];
    const errors: string[] = [];
    let fail = true;
    const p = new AddressPusher({
      send: async () => {
        if (fail) {
          fail = false;
          throw new Error('worker gone');
        }
      },
      sent: (set) => sent.push(set),
      failed: (e) => errors.push(e.message),
    });
    await p.push({ list: [{ address: '10.0.0.1' }], takeoverLossAt: 5 });
    await p.push({ list: [{ address: '10.0.0.1' }], takeoverLossAt: 9 });
    expect(errors).toEqual(['worker gone']);
    expect(sent).toEqual([{ list: [{ address: '10.0.0.1' }], takeoverLossAt: 9 }]);
  });

  it('property: the sets sent are the pushes in order, coalesced runs ending in the newest, with each address\'s gain from the start of its run of presence', async () => {
    const gainArb = fc.constantFrom<GainMode | undefined>(undefined, 'none', 'probe', 'audit');
    const setArb = fc.record({
      addrs: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { maxLength: 6 }),
      gains: fc.array(gainArb, { minLength: 6, maxLength: 6 }),
      takeover: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    });
    // Each step: push a set, or acknowledge the send in flight.
    const stepArb = fc.oneof(setArb.map((s) => ({ push: s })), fc.constant({ ack: true as const }));
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 30 }), async (steps) => {
        const s = manualSend();
        const reported: Array<number | undefined> = [];
        const p = new AddressPusher({ send: s.send, sent: (set) => reported.push(set.takeoverLossAt) });
        const pushed: AddressSet[] = [];
        const runs: Array<[number, number]> = []; // for each send: the pushes it stands for
        const observe = (): void => {
          while (runs.length < s.sent.length) {
            const from = runs.length ? runs[runs.length - 1][1] + 1 : 0;
            runs.push([from, pushed.length - 1]);
          }
        };
        for (const step of steps) {
          if ('push' in step) {
            const set: AddressSet = { list: step.push.addrs.map((a) => ({ address: `10.0.0.${a}`, ...(step.push.gains[a - 1] ? { gain: step.push.gains[a - 1] } : {}) })) };
            if (step.push.takeover !== undefined) set.takeoverLossAt = step.push.takeover;
            pushed.push(set);
            void p.push(set);
            await flush();
          } else await s.ack();
          observe();
        }
        for (let i = 0; i < 3; i++) {
          await s.ack();
          observe();
        }
        await p.idle();
        // Every push is covered, in order, by exactly one send; the newest push was sent last.
        expect(runs.length ? runs[runs.length - 1][1] : -1).toBe(pushed.length - 1);
        expect(reported).toHaveLength(s.sent.length);
        for (const [i, [from, to]] of runs.entries()) {
          expect(from).toBeLessThanOrEqual(to);
          const expected = pushed[to].list.map((o) => {
            let k = to; // the earliest set of the run from which this address stayed present
            while (k > from && pushed[k - 1].list.some((x) => x.address === o.address)) k--;
            const gain = pushed[k].list.find((x) => x.address === o.address)?.gain;
            const { gain: _drop, ...rest } = o;
            return gain === undefined ? rest : { ...rest, gain };
          });
          expect(s.sent[i]).toEqual(expected);
          const takeovers = pushed.slice(from, to + 1).flatMap((x) => (x.takeoverLossAt === undefined ? [] : [x.takeoverLossAt]));
          expect(reported[i]).toEqual(takeovers.length ? Math.min(...takeovers) : undefined);
        }
      }),
      { numRuns: 300 },
    );
  });
});
