// Mutations of valid configurations for the config fuzzer: edits of the YAML text (lines, tokens,
// indentation, bytes) and of the parsed tree (fields dropped, retyped, renamed, repeated), with
// values picked to sit on the parsers' edges. Deterministic from a seed.
import { prng } from '../../../support/prng';

export { prng };

export class Dice {
  constructor(private readonly random: () => number) {}
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
}

/** Values on the edges of what the parsers accept. */
const TOKENS = [
  '', '~', 'null', '-', '0', '-1', '1', '3', '31', '32', '33', '128', '129', '65535', '65536', '4294967295', '4294967296', '9007199254740993', '1e3', '1.5', '0x10', '1_000',
  'yes', 'no', 'on', 'True', 'true', 'false', '[]', '{}', '[a, b]', '{a: b}', '"x"', "'y'", '|', '>', '&anchor', '*anchor', '!!str 5', '!!binary AA==', '? x',
  '192.0.2.1', '192.0.2.0/24', '192.0.2.0/33', '192.0.2.9-192.0.2.1', '2001:db8::/64', '2001:db8::1-2001:db8::ff', '::', '::/0', '0.0.0.0/0', '256.1.1.1',
  '65535:65282', '1:2:3', 'large:1:2:3', 'large:1:2', '70000:1', 'no-advertise', '90s', '1m30s', '2s', '-3s', '0s', '1h', '1500ms', '3.5s',
  'layer2', 'bgp', 'In', 'NotIn', 'Exists', 'DoesNotExist', 'internal', 'external', 'eth0', 'a very long name with spaces', 'x'.repeat(300), 'ünïcödé', '\t', '#', ': :',
];

const NEAR_KEYS = ['addresses', 'protocol', 'name', 'bgp-advertisements', 'node-selectors', 'match-labels', 'peer-asn', 'my-asn', 'hold-time', 'spec', 'metadata', 'kind', 'apiVersion', 'ipAddressPools', 'nodeSelectors', 'matchExpressions', 'peerASN', 'myASN', 'aggregationLength', 'communities', 'serviceAllocation', 'passwordSecret', 'unknownField'];

/** One edit of YAML text. */
export function mutateText(text: string, d: Dice): string {
  const lines = text.split('\n');
  const i = d.int(lines.length);
  switch (d.int(9)) {
    case 0: // drop a line
      lines.splice(i, 1);
      break;
    case 1: // repeat a line
      lines.splice(i, 0, lines[i]);
      break;
    case 2: {
      // swap two lines
      const j = d.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case 3: // re-indent a line
      lines[i] = d.chance(0.5) ? `  ${lines[i]}` : lines[i].replace(/^ {1,2}/, '');
      break;
    case 4: {
      // replace the value after a colon, or a list item's value
      const m = /^(\s*(?:- )?[^:#]*:\s?)(.*)$/.exec(lines[i]) ?? /^(\s*- )(.*)$/.exec(lines[i]);
      lines[i] = m ? `${m[1]}${d.pick(TOKENS)}` : `${lines[i]}${d.pick(TOKENS)}`;
      break;
    }
    case 5: {
      // rename a key
      const m = /^(\s*(?:- )?)([^:#\s][^:#]*)(:.*)$/.exec(lines[i]);
      if (m) lines[i] = `${m[1]}${d.pick(NEAR_KEYS)}${m[3]}`;
      break;
    }
    case 6: // a bare list entry or an empty value
      lines.splice(i, 0, `${/^\s*/.exec(lines[i])?.[0] ?? ''}${d.pick(['-', '- ~', 'x:', '-   -'])}`);
      break;
    case 7: {
      // insert, delete or change a byte
      const at = d.int(text.length + 1);
      const chars = ['"', "'", ':', '-', '[', ']', '{', '}', ',', '#', '&', '*', '!', '|', '>', '\n', ' ', '\t', '\\', '%', '@', '`', '\u0000', '\u00a0'];
      const op = d.int(3);
      return text.slice(0, at) + (op === 1 ? '' : d.pick(chars)) + text.slice(op === 0 ? at : at + 1);
    }
    default: // truncate
      return text.slice(0, d.int(text.length + 1));
  }
  return lines.join('\n');
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const VALUES: Json[] = [null, true, false, 0, -1, 1, 32, 33, 128, 179, 0x7fffffff, 4294967295, 4294967296, 1.5, 1e300, '', '0', 'x', 'yes', '192.0.2.1', '192.0.2.0/24', '2001:db8::/64', '1:2', 'large:1:2:3', '90s', 'internal', [], [null], ['x'], [{}], {}, { a: 'b' }, { matchLabels: { a: 'b' } }, 'x'.repeat(1000)];

function paths(value: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function getAt(root: Json, path: readonly (string | number)[]): Json {
  let v: Json = root;
  for (const p of path) v = (v as Record<string | number, Json>)[p];
  return v;
}

/** One edit of a JSON tree (a ConfigMap's parsed config, or a list of objects); returns a new tree. */
export function mutateTree(root: Json, d: Dice): Json {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  const all = paths(copy).filter((p) => p.length > 0);
  if (all.length === 0) return d.pick(VALUES);
  const path = d.pick(all);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = path[path.length - 1];
  switch (d.int(5)) {
    case 0: // drop
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, Json>)[key];
      break;
    case 1: // replace with an edge value
      (parent as Record<string | number, Json>)[key] = d.pick(VALUES);
      break;
    case 2: // repeat (list item) or rename (map key)
      if (Array.isArray(parent)) parent.splice(key as number, 0, JSON.parse(JSON.stringify(parent[key as number])) as Json);
      else {
        const value = (parent as Record<string, Json>)[key];
        delete (parent as Record<string, Json>)[key];
        (parent as Record<string, Json>)[d.pick(NEAR_KEYS)] = value;
      }
      break;
    case 3: // retype: a scalar into a list or a map, a container into a string
      (parent as Record<string | number, Json>)[key] = ((v: Json): Json => (v !== null && typeof v === 'object' ? JSON.stringify(v) : d.chance(0.5) ? [v] : { value: v }))(getAt(copy, path));
      break;
    default: // copy a value from elsewhere in the tree
      (parent as Record<string | number, Json>)[key] = JSON.parse(JSON.stringify(getAt(copy, d.pick(all)) ?? null)) as Json;
  }
  return copy;
}

export type { Json };
