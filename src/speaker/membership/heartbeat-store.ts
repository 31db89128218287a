// What the heartbeat layer keeps in the API server:
// - the shared key: Secret `ironlb-memberlist` (data key `secretkey`) in the speaker namespace.
//   Speakers only read it (RBAC: get on that one name); it is created at install time
//   (docs/install.md) and rotated by replacing it (heartbeat-keys.ts makes that hitless);
// - the incarnation: annotation `ironlb.io/heartbeat-incarnation` of the speaker's own Lease. A
//   restarted speaker continues from the stored value + 1, so its incarnations only grow, whatever
//   the wall clock does (issue 14.4). If that value was lost (the Lease is deleted on a graceful
//   stop) the peers' echo of our last incarnation tells us to move past it (staleIncarnation).
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { apiStatus, errorText } from '../../k8s/api-call';
import type { RestClient } from '../../k8s/rest';
import type { Logger } from '../../util/log';

export const MEMBERLIST_SECRET = 'ironlb-memberlist';
export const MEMBERLIST_SECRET_KEY = 'secretkey';
export const INCARNATION_ANNOTATION = 'ironlb.io/heartbeat-incarnation';
/** Shorter keys are refused: the key is the only thing between a LAN host and the heartbeats. */
export const MIN_KEY_BYTES = 16;

export class HeartbeatSecretError extends Error {}

/** The key bytes; undefined when the Secret does not exist; HeartbeatSecretError when it is unusable. */
export async function readHeartbeatSecret(api: RestClient, namespace: string): Promise<Buffer | undefined> {
  const secret = await api.find<k8s.V1Secret>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${MEMBERLIST_SECRET}`);
  if (!secret) return undefined;
  const b64 = secret.data?.[MEMBERLIST_SECRET_KEY];
  if (!b64) throw new HeartbeatSecretError(`secret ${namespace}/${MEMBERLIST_SECRET} has no key "${MEMBERLIST_SECRET_KEY}"`);
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_KEY_BYTES) throw new HeartbeatSecretError(`secret ${namespace}/${MEMBERLIST_SECRET} key "${MEMBERLIST_SECRET_KEY}" has ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed`);
  return key;
}

/**
 * The key from the Secret. `initial`: waits until it can be read (start-up), warning now and
 * then; otherwise one quiet attempt, undefined if it failed (the periodic re-read).
 */
export async function fetchHeartbeatKey(api: RestClient, namespace: string, log: Logger, initial: boolean): Promise<Buffer | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      const key = await readHeartbeatSecret(api, namespace);
      if (!key) throw new Error(`secret ${namespace}/${MEMBERLIST_SECRET} not found: create it (docs/install.md, "The heartbeat key")`);
      return key;
    } catch (e) {
      if (!initial) {
        log.debug('could not read the heartbeat key secret', { error: errorText(e) });
        return undefined;
      }
      if (attempt % 10 === 0) log.warn('waiting for the heartbeat key secret', { error: errorText(e) });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Creates the Secret with 32 random bytes unless it exists (install tooling, `npm run lab`, tests:
 * what docs/install.md does with kubectl). The speaker itself never creates it.
 */
export async function ensureHeartbeatSecret(core: k8s.CoreV1Api, namespace: string): Promise<void> {
  const body: k8s.V1Secret = {
    metadata: { name: MEMBERLIST_SECRET, namespace, labels: { 'app.kubernetes.io/name': 'ironlb' } },
    type: 'Opaque',
    data: { [MEMBERLIST_SECRET_KEY]: randomBytes(32).toString('base64') },
  };
  await core.createNamespacedSecret({ namespace, body }).catch((e: unknown) => {
    if (apiStatus(e) !== 409) throw e;
  });
}

/** The incarnation stored in our Lease by our previous life (0: no Lease or no annotation). */
export async function readStoredIncarnation(api: RestClient, namespace: string, leaseName: string): Promise<number> {
  const lease = await api.find<k8s.V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(leaseName)}`);
  if (!lease) return 0;
  const text = lease.metadata?.annotations?.[INCARNATION_ANNOTATION] ?? '';
  const n = /^\d{1,15}$/.test(text) ? Number(text) : 0;
  return n;
}

/**
 * A peer's authentic heartbeat echoes the newest incarnation (and sequence in it) it accepted
 * from us. If that is beyond anything this life sent it, an earlier life already used our
 * incarnation, and the peer drops us as replayed until we move past it.
 */
export function staleIncarnation(ours: number, lastSentToPeer: number, echoIncarnation: number, echoSequence: number): boolean {
  return echoIncarnation > ours || (echoIncarnation === ours && echoSequence > lastSentToPeer);
}

/** Runs `read` until the API server answers; logs now and then while it does not. */
export async function untilApiAnswers<T>(log: Logger, what: string, read: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (e) {
      if (attempt % 10 === 0) log.warn(`waiting for the API server: ${what}`, { error: errorText(e) });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
