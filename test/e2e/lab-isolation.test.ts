// Two labs on one machine (two e2e runs, a helper's run next to CI): every lab puts ROOT_V4 on a
// veth in the caller's namespace for its API server, so a second lab built while the first exists
// routes its LAN out of the wrong veth and its speakers never reach their API server (CI saw every
// speaker of a concurrent run wait for its informers until the start-up timeout). A lab therefore
// waits for the one before it; once it exists, its nodes reach its own API server.
import { L2Lab } from '../harness/l2-lab';

jest.setTimeout(300_000);

/** curl's verdict on the API server's /healthz from inside a node (any HTTP answer means reachable). */
async function apiReachableFrom(l2: L2Lab): Promise<boolean> {
  const r = await l2.lab.exec(l2.nodes[0], ['curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', `${l2.cluster.server}/healthz`], { allowFailure: true });
  return /^[1-5]\d\d$/.test(r.stdout.trim());
}

describe('labs on one machine', () => {
  const labs: L2Lab[] = [];
  afterAll(async () => {
    for (const l of labs) await l.destroy();
  });

  it('a second lab waits until the first is gone, then its nodes reach its own API server', async () => {
    const first = await L2Lab.create({ nodes: 1, backends: false });
    labs.push(first);
    expect(await apiReachableFrom(first)).toBe(true);

    let secondReady = false;
    const secondPromise = L2Lab.create({ nodes: 1, backends: false }).then((l) => {
      secondReady = true;
      labs.push(l);
      return l;
    });
    // Building a one-node lab takes a few seconds (measured 3-6 s here); while the first exists,
    // the second must not get there at all.
    await new Promise((r) => setTimeout(r, 15_000));
    expect(secondReady).toBe(false);
    expect(await apiReachableFrom(first)).toBe(true);

    await first.destroy();
    labs.splice(labs.indexOf(first), 1);
    const second = await secondPromise;
    expect(await apiReachableFrom(second)).toBe(true);
  });
});
