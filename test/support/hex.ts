// Bytes for codec fixtures, written one field per line in the test and never produced by the
// code under test. One helper for every suite (the layer-2 and the BGP codec tests).

/**
 * Bytes from hex text. Several fragments are joined as separate lines; whitespace and ':' are
 * ignored (so MACs and spaced bytes read naturally) and `#` starts a comment running to the end
 * of its line. Anything else that is not an even number of hex digits is an error, never a
 * silently shorter buffer.
 */
export function hex(...parts: string[]): Buffer {
  const digits = parts.join('\n').replace(/#.*$/gm, '').replace(/[\s:]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}
