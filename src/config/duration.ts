// Go's time.ParseDuration, which MetalLB uses for hold-time and keepalive-time, so that every
// duration MetalLB accepts is read to the same number of nanoseconds here.
import { fail, ok, type Outcome } from './outcome';

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const INT64_MAX = (1n << 63n) - 1n;
const COMPONENT = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

/** Nanoseconds in a Go duration string such as `90s`, `1m30s`, `1.5h` or `-3s`. */
export function parseGoDuration(text: string): Outcome<bigint> {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return ok(0n);
  if (rest === '') return fail(`invalid duration "${text}"`);
  let total = 0n;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m) {
      const missingUnit = /^[\d.]+$/.test(rest);
      return fail(missingUnit ? `missing unit in duration "${text}" (use s, m or h, e.g. 90s)` : `invalid duration "${text}"`);
    }
    const [whole, intDigits, fracDigits = '', unit] = m;
    if (intDigits === '' && fracDigits === '') return fail(`invalid duration "${text}"`);
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) return fail(`unknown unit "${unit}" in duration "${text}" (use ns, us, ms, s, m or h)`);
    // Go truncates the fractional part to whole nanoseconds of the unit.
    const frac = fracDigits === '' ? 0n : (BigInt(fracDigits) * scale) / 10n ** BigInt(fracDigits.length);
    total += BigInt(intDigits === '' ? '0' : intDigits) * scale + frac;
    if (total > INT64_MAX) return fail(`invalid duration "${text}": too large`);
    rest = rest.slice(whole.length);
  }
  return ok(negative ? -total : total);
}

/** Whole seconds, truncated toward zero as Go's int(d.Seconds()) does. */
export function wholeSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n);
}

/** Seconds written either as a Go duration or as a bare number of seconds (an ironlb convenience). */
export function parseSeconds(text: string): Outcome<number> {
  const s = text.trim();
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(s)) return ok(Math.trunc(Number(s)));
  const d = parseGoDuration(s);
  return d.ok ? ok(wholeSeconds(d.value)) : d;
}

export function formatSeconds(seconds: number): string {
  return `${seconds}s`;
}

/** Whole seconds as Go's time.Duration.String() writes them (90 → 1m30s, 3600 → 1h0m0s, 0 → 0s). */
export function formatGoDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}
