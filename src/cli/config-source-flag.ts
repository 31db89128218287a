// `--config-source auto|configmap|crds` and `--config-source-recheck`, shared by `ironlb controller` and `ironlb speaker`.
import { parseConfigSourceFlag, type ConfigSourceFlag } from '../config/crd/source-choice';
import { FlagError } from './flags';

export function configSourceFlag(value: string | undefined): ConfigSourceFlag {
  const parsed = parseConfigSourceFlag(value ?? 'auto');
  if (!parsed.ok) throw new FlagError(`--config-source: ${parsed.error}`);
  return parsed.value;
}

/** `--config-source-recheck`: whole seconds, at least 1. */
export function recheckSeconds(value: string | undefined): number {
  const n = Number(value ?? '30');
  if (!Number.isInteger(n) || n < 1) throw new FlagError(`--config-source-recheck: "${value}" is not a whole number of seconds (at least 1)`);
  return n;
}
