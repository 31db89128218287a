// ConfigurationState and IPAddressPool status as MetalLB's tooling reads them; values by hand.
import { configurationStateStatus, poolStatus } from '../../../../src/config/crd/status';

describe('ConfigurationState status', () => {
  const T0 = '2026-01-01T00:00:00.000Z';
  const T1 = '2026-01-01T00:01:00.000Z';
  it('Valid, Invalid with the reason, Unknown before anything loads; the transition time moves only on a change', () => {
    const valid = configurationStateStatus({ loaded: true, stale: false }, T0);
    expect(valid).toEqual({ result: 'Valid', errorSummary: '', conditions: [{ type: 'configReconcilerValid', status: 'True', reason: 'Reconciled', message: 'the configuration is in force', lastTransitionTime: T0 }] });
    expect(configurationStateStatus({ loaded: true, stale: false }, T1, valid).conditions[0].lastTransitionTime).toBe(T0);
    const invalid = configurationStateStatus({ loaded: true, stale: true, error: 'IPAddressPool ns/p: spec.addresses[0]: bad' }, T1, valid);
    expect(invalid).toEqual({
      result: 'Invalid',
      errorSummary: 'IPAddressPool ns/p: spec.addresses[0]: bad',
      conditions: [{ type: 'configReconcilerValid', status: 'False', reason: 'ConfigurationError', message: 'IPAddressPool ns/p: spec.addresses[0]: bad', lastTransitionTime: T1 }],
    });
    expect(configurationStateStatus({ loaded: false, stale: false }, T0).result).toBe('Unknown');
  });
});

describe('IPAddressPool status', () => {
  it('assigned and available per family; IPv6 counts capped at the largest exact JSON number', () => {
    expect(poolStatus({ pool: 'p', totalV4: 4n, inUseV4: 1n, totalV6: 2n ** 64n, inUseV6: 2n })).toEqual({
      assignedIPv4: 1,
      availableIPv4: 3,
      assignedIPv6: 2,
      availableIPv6: Number.MAX_SAFE_INTEGER,
    });
  });
});
