// Sorting by BigInt keys. A comparator that compares BigInts directly costs a builtin call per
// comparison, which made sorting 100k address ranges take tens of milliseconds; here every key is
// paired with Number(key), a double compared inline, and the BigInts are only compared when two
// doubles are equal (IPv6 values that differ below the 53-bit mantissa). Number() rounds
// monotonically, so wherever the doubles differ they order the keys correctly.

/** Indexes of `keys` in ascending key order; equal keys keep their input order (a stable sort). */
export function orderByBigInt(keys: readonly bigint[]): number[] {
  const order = keys.map((_, i) => i);
  if (keys.length < 2) return order; // a pool's entries of one family are often a single one
  const approx = keys.map(Number);
  return order.sort((a, b) => approx[a] - approx[b] || (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b));
}

/** The items sorted by a BigInt key; equal keys keep their input order. */
export function sortByBigInt<T>(items: readonly T[], key: (item: T) => bigint): T[] {
  return orderByBigInt(items.map(key)).map((i) => items[i]);
}
