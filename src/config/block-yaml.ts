// A fast path for the common shape of a `config` text: block maps and lists of plain or simply
// quoted scalars, as every MetalLB example and every generated pool list is written. The `yaml`
// package lexes, parses and composes through three layers, which alone cost more than issue 18's
// 100 ms budget for an 8,000-entry pool list; this reads that shape in one pass.
//
// It builds the same nodes the `yaml` package builds (value, type, source, range start) and fills
// the LineCounter the same way, so the config reader reports the same issues on the same lines.
// Anything outside the subset (flow collections, anchors, tags, block scalars, multi-line or
// escaped scalars, tabs, CR, document markers, empty values, any scalar whose YAML 1.2 core
// resolution is not obviously a string, a canonical integer or a lowercase boolean) returns
// undefined, and the caller uses the `yaml` package. The unit test compares both on random
// documents built to sit on the subset's edges.
import { Document, LineCounter, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import type { Node } from 'yaml';

/** Outside the subset: the caller falls back to the full parser. */
class NotBlockYaml extends Error {}

/** A mapping key: plain, followed by `:` and a space or the end of the line. */
const KEY = /([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +|$)/y;
/** A plain scalar made only of characters that cannot start or hide YAML syntax (after comments are cut). */
const SAFE_PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_./:+,=@ -]*$/;
const CANONICAL_INT = /^(?:0|[1-9][0-9]{0,14})$/;
/** What the core schema may read as a number (floats, signed or zero-led integers) or a special. */
const NUMBER_LIKE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?0[oOxX]/;
const SPECIAL_WORD = /^(?:true|false|null|~|yes|no|on|off|y|n)$/i;

interface Cursor {
  /** Index of the current content line. */
  i: number;
}

interface Line {
  readonly text: string;
  /** Offset of the line's first character in the whole text. */
  readonly offset: number;
  /** Column of the first non-space character. */
  readonly indent: number;
}

function fail(): never {
  throw new NotBlockYaml();
}

function scalar(value: string | number | boolean, type: Scalar.Type, source: string, start: number, end: number): Scalar {
  const s = new Scalar(value);
  s.type = type;
  s.source = source;
  s.range = [start, end, end];
  return s;
}

/** A plain scalar's node, resolved as the YAML 1.2 core schema would, or a failure when that is not clear-cut. */
function plain(source: string, start: number): Scalar {
  if (!SAFE_PLAIN.test(source) || source.includes(': ') || source.endsWith(':')) fail();
  const end = start + source.length;
  if (CANONICAL_INT.test(source)) return scalar(Number(source), 'PLAIN', source, start, end);
  if (source === 'true' || source === 'false') return scalar(source === 'true', 'PLAIN', source, start, end);
  if (NUMBER_LIKE.test(source) || SPECIAL_WORD.test(source)) fail();
  return scalar(source, 'PLAIN', source, start, end);
}

/** The scalar that starts at column `col` and runs to the end of the line (a comment may follow). */
function scalarAt(line: Line, col: number): Scalar {
  const t = line.text;
  const start = line.offset + col;
  const quote = t[col];
  let rest: string;
  let node: Scalar;
  if (quote === '"' || quote === "'") {
    const close = t.indexOf(quote, col + 1);
    if (close < 0) fail();
    const value = t.slice(col + 1, close);
    if (value.includes('\\') || t[close + 1] === quote) fail();
    node = scalar(value, quote === '"' ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE', value, start, line.offset + close + 1);
    rest = t.slice(close + 1);
  } else {
    const hash = t.indexOf(' #', col);
    const text = (hash < 0 ? t.slice(col) : t.slice(col, hash)).trimEnd();
    node = plain(text, start);
    rest = hash < 0 ? '' : t.slice(hash);
  }
  const after = rest.trimStart();
  if (after !== '' && !(after.startsWith('#') && rest !== after)) fail();
  return node;
}

function isSeqItem(t: string, col: number): boolean {
  return t[col] === '-' && (col + 1 === t.length || t[col + 1] === ' ');
}

class BlockReader {
  constructor(private readonly lines: readonly Line[]) {}

  node(c: Cursor, indent: number): Node {
    const line = this.lines[c.i];
    return isSeqItem(line.text, indent) ? this.seq(c, indent) : this.map(c, indent, indent);
  }

  /** A map whose first key is at column `firstCol` of the current line and whose other keys are at `indent`. */
  map(c: Cursor, indent: number, firstCol: number): YAMLMap {
    const map = new YAMLMap();
    let col = firstCol;
    const first = this.lines[c.i];
    map.range = [first.offset + firstCol, first.offset + firstCol, first.offset + firstCol];
    while (c.i < this.lines.length) {
      const line = this.lines[c.i];
      if (map.items.length > 0) {
        if (line.indent < indent) break;
        if (line.indent > indent) fail();
        col = indent;
      }
      KEY.lastIndex = col;
      const m = KEY.exec(line.text);
      if (!m) fail();
      const key = plain(m[1], line.offset + col);
      const valueCol = KEY.lastIndex;
      let value: Node;
      if (valueCol < line.text.length && line.text[valueCol] !== '#') {
        value = scalarAt(line, valueCol);
        c.i++;
      } else {
        c.i++;
        const next = this.lines[c.i];
        if (next === undefined) fail(); // an empty value: left to the full parser
        if (next.indent > indent) value = this.node(c, next.indent);
        else if (next.indent === indent && isSeqItem(next.text, indent)) value = this.seq(c, indent);
        else fail();
      }
      map.items.push(new Pair(key, value));
    }
    return map;
  }

  seq(c: Cursor, indent: number): YAMLSeq {
    const seq = new YAMLSeq();
    const first = this.lines[c.i];
    seq.range = [first.offset + indent, first.offset + indent, first.offset + indent];
    while (c.i < this.lines.length) {
      const line = this.lines[c.i];
      if (line.indent < indent) break;
      if (line.indent > indent) fail();
      if (!isSeqItem(line.text, indent)) break; // the parent map's next key
      let col = indent + 1;
      while (line.text[col] === ' ') col++;
      if (col >= line.text.length || line.text[col] === '#' || isSeqItem(line.text, col)) fail();
      KEY.lastIndex = col;
      if (KEY.test(line.text)) {
        seq.items.push(this.map(c, col, col));
      } else {
        seq.items.push(scalarAt(line, col));
        c.i++;
      }
    }
    return seq;
  }
}

/** The content lines of `text` (blank and comment-only lines left out), filling `counter` as the yaml lexer does. */
function contentLines(text: string, counter: LineCounter): Line[] {
  if (text.includes('\r') || text.includes('\t')) fail();
  const lines: Line[] = [];
  counter.addNewLine(0);
  let offset = 0;
  while (offset <= text.length) {
    let nl = text.indexOf('\n', offset);
    if (nl < 0) nl = text.length;
    else counter.addNewLine(nl + 1);
    const t = text.slice(offset, nl);
    let indent = 0;
    while (t.charCodeAt(indent) === 32) indent++;
    if (indent < t.length && t[indent] !== '#') {
      const c0 = t[0];
      if (c0 === '%' || t.startsWith('---') || t.startsWith('...')) fail();
      lines.push({ text: t.trimEnd(), offset, indent });
    }
    offset = nl + 1;
  }
  return lines;
}

/**
 * The document of `text` when it is in the block subset, with `counter` filled; undefined when it
 * is not (then `counter` may be partly filled: use a fresh one for the full parser).
 */
export function blockYamlDocument(text: string, counter: LineCounter): Document | undefined {
  try {
    const lines = contentLines(text, counter);
    if (lines.length === 0 || lines[0].indent !== 0) return undefined;
    const c: Cursor = { i: 0 };
    const root = new BlockReader(lines).node(c, 0);
    if (c.i !== lines.length) return undefined;
    const doc = new Document();
    doc.contents = root;
    return doc;
  } catch (e) {
    if (e instanceof NotBlockYaml) return undefined;
    throw e;
  }
}
