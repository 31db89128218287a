// Result of parsing one value: the value, or a message for people saying why it was refused.
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail<T>(error: string): Outcome<T> {
  return { ok: false, error };
}

export function mapOutcome<T, U>(o: Outcome<T>, f: (value: T) => U): Outcome<U> {
  return o.ok ? ok(f(o.value)) : o;
}
