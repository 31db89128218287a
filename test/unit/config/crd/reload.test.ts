// The object source's decisions: the same guarantees as the ConfigMap watcher, and the
// --config-source choice, each case written out by hand.
import { ObjectConfigTracker, rejectionMessages, warningMessages } from '../../../../src/config/crd/reload';
import { chooseConfigSource, parseConfigSourceFlag } from '../../../../src/config/crd/source-choice';
import { bgpPeer, ipPool, l2Adv, NS } from './objects';

const POOL = ipPool('p', { addresses: ['192.0.2.0/28'] });
const L2 = l2Adv('l2');

describe('ObjectConfigTracker', () => {
  it('loads, then ignores changes that do not matter (status, resourceVersion, managedFields)', () => {
    const t = new ObjectConfigTracker(NS);
    expect(t.decide([POOL, L2]).action).toBe('load');
    const withStatus = { ...POOL, metadata: { name: 'p', namespace: NS, resourceVersion: '42', managedFields: [{}] }, status: { assignedIPv4: 3 } };
    expect(t.decide([L2, withStatus]).action).toBe('unchanged');
  });

  it('refuses an invalid set, does not report the same set twice, and a return to the last good set is not a reload', () => {
    const t = new ObjectConfigTracker(NS);
    expect(t.decide([POOL, L2]).action).toBe('load');
    const broken = ipPool('p', { addresses: ['192.0.2.9-192.0.2.1'] });
    const refused = t.decide([broken, L2]);
    expect(refused.action).toBe('reject');
    expect(t.decide([broken, L2]).action).toBe('unchanged');
    expect(t.decide([POOL, L2]).action).toBe('restored');
  });

  it('every IPAddressPool gone keeps the last good configuration', () => {
    const t = new ObjectConfigTracker(NS);
    t.decide([POOL, L2]);
    expect(t.decide([L2]).action).toBe('no-pools');
    expect(t.decide([]).action).toBe('no-pools');
    expect(t.decide([POOL, L2]).action).toBe('restored');
  });

  it('a Secret change is a change; reset() evaluates again', () => {
    const t = new ObjectConfigTracker(NS);
    const peer = bgpPeer('r', { myASN: 64500, peerASN: 64501, peerAddress: '203.0.113.1', passwordSecret: { name: 's' } });
    const secret = (password: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: NS }, type: 'kubernetes.io/basic-auth', data: { password: Buffer.from(password).toString('base64') } });
    const first = t.decide([POOL, L2, peer, secret('a')]);
    expect(first.action === 'load' && first.config.peers[0].password).toBe('a');
    const second = t.decide([POOL, L2, peer, secret('b')]);
    expect(second.action === 'load' && second.config.peers[0].password).toBe('b');
    t.reset();
    expect(t.decide([POOL, L2, peer, secret('b')]).action).toBe('load');
  });
});

describe('Event messages', () => {
  it('one message per object, naming each field', () => {
    const messages = rejectionMessages(
      [
        { object: { kind: 'IPAddressPool', namespace: NS, name: 'p' }, path: 'spec.addresses[0]', message: 'range start 192.0.2.9 is after end 192.0.2.1' },
        { object: { kind: 'L2Advertisement', namespace: NS, name: 'l2' }, path: 'spec.ipAddressPools[0]', message: 'IPAddressPool "q" does not exist' },
      ],
      true,
    );
    expect([...messages]).toEqual([
      [
        'IPAddressPool metallb-system/p',
        'invalid configuration refused (1 error in this object, 2 in all); the last good configuration stays in force:\nspec.addresses[0]: range start 192.0.2.9 is after end 192.0.2.1',
      ],
      [
        'L2Advertisement metallb-system/l2',
        'invalid configuration refused (1 error in this object, 2 in all); the last good configuration stays in force:\nspec.ipAddressPools[0]: IPAddressPool "q" does not exist',
      ],
    ]);
    expect([...warningMessages([{ object: { kind: 'BGPPeer', namespace: NS, name: 'r' }, path: 'spec.vrf', message: 'VRFs are not supported' }])]).toEqual([
      ['BGPPeer metallb-system/r', 'accepted with 1 warning:\nspec.vrf: VRFs are not supported'],
    ]);
  });
});

describe('--config-source', () => {
  const none = { crdsInstalled: false, pools: 0, configMapPresent: true };
  const crdsNoPool = { crdsInstalled: true, pools: 0, configMapPresent: true };
  const both = { crdsInstalled: true, pools: 1, configMapPresent: true };
  const onlyObjects = { crdsInstalled: true, pools: 1, configMapPresent: false };
  it.each([
    ['auto', none, 'configmap', false],
    ['auto', crdsNoPool, 'configmap', false],
    ['auto', both, 'crds', true],
    ['auto', onlyObjects, 'crds', false],
    ['configmap', both, 'configmap', false],
    ['crds', none, 'crds', true],
  ] as const)('%s with %j → %s (ConfigMap ignored: %s)', (flag, facts, source, ignored) => {
    const choice = chooseConfigSource(flag, facts);
    expect([choice.source, choice.configMapIgnored]).toEqual([source, ignored]);
    expect(choice.reason).not.toBe('');
  });

  it('the flag takes auto, configmap or crds', () => {
    expect(parseConfigSourceFlag('crds')).toEqual({ ok: true, value: 'crds' });
    expect(parseConfigSourceFlag('crd')).toEqual({ ok: false, error: 'unknown config source "crd"; use auto, configmap, crds' });
  });
});
