// The fast path for block YAML (src/config/block-yaml.ts) against its oracle, the `yaml` package:
// on every document it accepts it must build the same nodes (value, type, source, start offset)
// and the same line table, and the config parser must give the same result (issues and lines
// included) as through the full parser. Documents are generated to sit on the subset's edges:
// scalars YAML resolves to other types, indentless lists, comments, odd indents, broken lines.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { blockYamlDocument } from '../../../src/config/block-yaml';
import { extractConfigText, parseConfigText, parseConfigTextFully } from '../../../src/config/parse';
import { Dice, mutateText, prng } from './fuzz/mutate';

const REPO = path.join(__dirname, '..', '..', '..');

type Shape = string | { s: unknown; type?: string; source?: string; at?: number } | { map?: number; seq?: number; items: Shape[] };

function shape(node: unknown): Shape {
  const n = node as Node | null;
  if (isScalar(n)) return { s: n.value, type: n.type, source: n.source, at: n.range?.[0] };
  if (isMap(n)) return { map: n.range?.[0], items: n.items.flatMap((p) => [shape(p.key), shape(p.value)]) };
  if (isSeq(n)) return { seq: n.range?.[0], items: n.items.map(shape) };
  return `other: ${String(n)}`;
}

/** Both parses of `text`; `fast` is undefined when the text is outside the subset. */
function both(text: string): { fast?: { shape: Shape; lines: number[] }; full: { shape: Shape; lines: number[]; errors: number } } {
  const fastLines = new LineCounter();
  const doc = blockYamlDocument(text, fastLines);
  const fullLines = new LineCounter();
  const full = parseDocument(text, { lineCounter: fullLines, prettyErrors: false, uniqueKeys: false });
  return {
    ...(doc && { fast: { shape: shape(doc.contents), lines: fastLines.lineStarts } }),
    full: { shape: shape(full.contents), lines: fullLines.lineStarts, errors: full.errors.length },
  };
}

// Scalars as written: plain words, addresses and numbers the subset reads, and (rarer, so that
// documents still often stay in the subset) everything the core schema reads otherwise.
const SCALARS = [
  'a', 'foo-bar', 'layer2', 'x_y', 'a b', 'a  b', 'http://x/y', 'x,y', 'a=b', 'a@b', 'a+b', '1_000',
  '198.51.100.0/24', '198.51.100.1-198.51.100.9', '198.51.100.1 - 198.51.100.9', '2001:db8::/64', '2001:db8::1', '10:00', '64500:100', 'large:1:2:3',
  '0', '7', '64512', '4294967295', '123456789012345', 'true', 'false', '"quoted"', '"q # not a comment"', '"true"', '"7"', "'single'", '""', "''", '"q" # c', 'a #c',
];
const EDGE_SCALARS = [
  '2001:db8::', '::1', '12345678901234567890', '007', '1e3', '1.5', '.5', '1.', '0x1f', '0o17', '+12', '-3',
  'True', 'FALSE', 'yes', 'no', 'on', 'off', 'y', 'n', 'null', 'Null', '~', '.inf', '-.inf', '.nan',
  '"with \\"esc"', "'it''s'", '"unterminated', '"q"x', 'a#b', 'a: b', 'a:b', 'key:', '[a, b]', '{a: 1}', '&x a', '*x', '!tag a', '!!str 5', '|', '>',
  '-a', '- a', '@x', '`x', '%x', '?x', '? x', ':x', ',x', '#x', 'x ', 'ünï',
];
const KEYS = ['a', 'b', 'name', 'addresses', 'auto-assign', 'my-asn', '1', 'true', 'a.b', 'x/y', 'a_b'];
const EDGE_KEYS = ['0x1', 'yes', '1.5', 'k k', '"q"', "'s'", '-k', '? k', 'a:b', 'ünï', 'null'];

type Tree = { kind: 'scalar'; text: string } | { kind: 'map'; entries: [string, Tree][] } | { kind: 'seq'; items: Tree[] };

const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof({ arbitrary: fc.constantFrom(...SCALARS), weight: 12 }, { arbitrary: fc.constantFrom(...EDGE_SCALARS), weight: 1 }).map((text): Tree => ({ kind: 'scalar', text })),
    fc.array(fc.tuple(fc.oneof({ arbitrary: fc.constantFrom(...KEYS), weight: 12 }, { arbitrary: fc.constantFrom(...EDGE_KEYS), weight: 1 }), tie('node')), { minLength: 1, maxLength: 4 }).map((entries): Tree => ({ kind: 'map', entries })),
    fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((items): Tree => ({ kind: 'seq', items })),
  ),
})).node;

interface Style {
  step: number; // indent per level
  indentless: boolean; // lists under a key at the key's own indent
  dashGap: number; // spaces after "- "
  comments: boolean;
}

function render(t: Tree, style: Style, d: Dice): string[] {
  const comment = (): string[] => (style.comments && d.chance(0.2) ? [`${' '.repeat(d.int(6))}# note`] : style.comments && d.chance(0.1) ? [''] : []);
  const tail = (): string => (style.comments && d.chance(0.2) ? ' # trailing' : d.chance(0.1) ? '  ' : '');
  const lines = (node: Tree, indent: number): string[] => {
    const pad = ' '.repeat(indent);
    if (node.kind === 'scalar') return [`${pad}${node.text}${tail()}`];
    if (node.kind === 'map') {
      return node.entries.flatMap(([k, v]) => {
        if (v.kind === 'scalar') return [...comment(), `${pad}${k}: ${v.text}${tail()}`];
        const childIndent = v.kind === 'seq' && style.indentless ? indent : indent + style.step;
        return [...comment(), `${pad}${k}:${tail()}`, ...lines(v, childIndent)];
      });
    }
    return node.items.flatMap((item) => {
      const dash = `${pad}-${' '.repeat(style.dashGap)}`;
      if (item.kind === 'scalar') return [...comment(), `${dash}${item.text}${tail()}`];
      if (item.kind === 'map') {
        // The first key on the dash's line, the others at its column.
        const inner = lines(item, indent + 1 + style.dashGap);
        return [...comment(), dash + inner[0].trimStart(), ...inner.slice(1)];
      }
      return [...comment(), `${pad}-`, ...lines(item, indent + style.step)]; // a list in a list: left to the full parser
    });
  };
  return lines(t, 0);
}

/** Breaks a rendered document a little: an indent off by one, a tab, a CR, a lost line. */
function perturb(lines: string[], d: Dice): string[] {
  const out = [...lines];
  const i = d.int(out.length);
  switch (d.int(6)) {
    case 0:
      out[i] = ` ${out[i]}`;
      break;
    case 1:
      out[i] = out[i].replace(/^ /, '');
      break;
    case 2:
      out[i] = out[i].replace(' ', '\t');
      break;
    case 3:
      out[i] = `${out[i]}\r`;
      break;
    case 4:
      out.splice(i, 1);
      break;
    default:
      out.splice(i, 0, out[i]);
  }
  return out;
}

describe('blockYamlDocument against the yaml package', () => {
  it('builds the same nodes and line table on every generated document it accepts', () => {
    let accepted = 0;
    let runs = 0;
    fc.assert(
      fc.property(tree, fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.integer(), fc.integer({ min: 0, max: 3 }), fc.boolean(), (t, step, indentless, dashGap, comments, seed, broken, finalNewline) => {
        const d = new Dice(prng(seed));
        let lines = render(t, { step, indentless, dashGap, comments }, d);
        if (broken === 0) lines = perturb(lines, d);
        const text = lines.join('\n') + (finalNewline ? '\n' : '');
        const r = both(text);
        runs++;
        if (r.fast === undefined) return;
        accepted++;
        expect({ text, errors: r.full.errors }).toEqual({ text, errors: 0 });
        expect({ text, ...r.fast }).toEqual({ text, shape: r.full.shape, lines: r.full.lines });
      }),
      { numRuns: 3000, seed: 0x6b10c },
    );
    // The comparison means something only if a good share of documents take the fast path.
    expect(accepted).toBeGreaterThan(runs * 0.15);
  });

  it.each([
    ['a flow list', 'addresses: [198.51.100.0/24]\n'],
    ['an anchor and alias', 'a: &x 1\nb: *x\n'],
    ['an escaped double-quoted string', 'a: "x\\ny"\n'],
    ["a single-quoted string with ''", "a: 'it''s'\n"],
    ['a tab', 'a:\n\t- x\n'],
    ['a CR', 'a: b\r\n'],
    ['an empty value', 'a:\nb: 1\n'],
    ['an empty document', '# only a comment\n'],
    ['a YAML 1.1 boolean', 'a: yes\n'],
    ['a float', 'a: 1.5\n'],
    ['a zero-led integer', 'a: 0755\n'],
    ['an integer beyond 2^53', 'a: 12345678901234567890\n'],
    ['a multi-line plain scalar', 'a: b\n  c\n'],
    ['a block scalar', 'a: |\n  x\n'],
    ['a document marker', '---\na: 1\n'],
    ['a root at an indent', '  a: 1\n'],
    ['a nested list on the dash line', '- - a\n'],
    ['a quoted key', '"a": 1\n'],
    ['a tag', 'a: !!str 5\n'],
    ['a value ending in a colon', 'a: 2001:db8::\n'],
  ])('leaves %s to the full parser', (_what, text) => {
    expect(blockYamlDocument(text, new LineCounter())).toBeUndefined();
  });

  it('takes the fast path for an 8,000-entry pool list and the shipped example configs', () => {
    const pool = ['address-pools:', '- name: many', '  protocol: layer2', '  addresses:', ...Array.from({ length: 8000 }, (_, i) => `  - 10.${i >> 8}.${i & 255}.1/32`)].join('\n');
    expect(blockYamlDocument(pool, new LineCounter())).toBeDefined();
    for (const file of ['config/example-config.yaml', 'test/fixtures/config/seed-configmap.yaml']) {
      const e = extractConfigText(readFileSync(path.join(REPO, file), 'utf8'));
      if (!e.ok) throw new Error(e.message);
      expect({ file, fast: blockYamlDocument(e.source.text, new LineCounter()) !== undefined }).toEqual({ file, fast: true });
    }
  });
});

describe('parseConfigText with the fast path', () => {
  const seeds = ['config/example-config.yaml', 'config/metallb-bgp-example.yaml', 'test/fixtures/config/seed-configmap.yaml', 'test/fixtures/config/invalid-configmap.yaml'].flatMap((file) => {
    const e = extractConfigText(readFileSync(path.join(REPO, file), 'utf8'));
    return e.ok ? [e.source.text] : [];
  });

  it('gives the full parser’s result, issues and lines included, on 2,000 mutated configs', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(3);
    const d = new Dice(prng(0xb10c));
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      let text = d.pick(seeds);
      const edits = d.int(3); // 0: the seed itself
      for (let e = 0; e < edits; e++) text = mutateText(text, d);
      if (blockYamlDocument(text, new LineCounter())) fast++;
      expect({ i, text, result: parseConfigText(text) }).toEqual({ i, text, result: parseConfigTextFully(text) });
    }
    expect(fast).toBeGreaterThan(400);
  });
});
