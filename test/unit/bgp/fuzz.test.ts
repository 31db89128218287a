// Feeds random and mutated messages to the decoder: nothing may escape `decode`, no verdict may
// come from the internal-error fallback, and whatever decodes must survive encode + decode.
// Every UPDATE-typed input also goes through checkUpdate, which must agree with decode on every
// verdict that resets the session (and find none where decode finds none).
// BGP_FUZZ_COUNT sets the number of inputs (default 1,000,000); BGP_FUZZ_SEED the seed.
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { BgpDecodeError, BgpFramer, checkUpdate, type DecodeContext, decode, encode } from '../../../src/protocol/bgp';
import { bgpMessage, CONTEXTS, openMessage, updateMessage } from './arbitraries';
import { prng } from '../../support/prng';

const COUNT = Number(process.env.BGP_FUZZ_COUNT ?? 1_000_000);
const SEED = Number(process.env.BGP_FUZZ_SEED ?? 0x5eed);


const random = prng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const INTERESTING = [0, 1, 2, 3, 4, 5, 6, 8, 12, 16, 18, 19, 23, 29, 32, 33, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xfe, 0xff];

function randomBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const r = int(0x100000000);
    for (let j = 0; j < 4 && i + j < n; j++) b[i + j] = (r >>> (j * 8)) & 0xff;
  }
  return b;
}

/** Rewrites the header length to match, so the mutation reaches the body decoders. */
function fixLength(b: Buffer): Buffer {
  if (b.length >= 19 && b.length <= 4096) b.writeUInt16BE(b.length, 16);
  return b;
}

type Mutator = (b: Buffer) => Buffer;

/** Byte-level edits of one field's value. */
const VALUE_EDITS: ReadonlyArray<(v: Buffer) => Buffer> = [
  (v) => {
    const out = Buffer.from(v);
    if (out.length > 0) out[int(out.length)] ^= 1 << int(8);
    return out;
  },
  (v) => {
    const out = Buffer.from(v);
    if (out.length > 0) out[int(out.length)] = pick(INTERESTING);
    return out;
  },
  (v) => {
    const at = int(v.length + 1);
    return Buffer.concat([v.subarray(0, at), randomBytes(1 + int(4)), v.subarray(at)]);
  },
  (v) => {
    const at = int(v.length + 1);
    return Buffer.concat([v.subarray(0, at), v.subarray(at + 1 + int(4))]);
  },
  (v) => v.subarray(0, int(v.length + 1)),
  // A short value built from boundary octets, the classic way to hit degenerate structures.
  () => Buffer.from(Array.from({ length: int(9) }, () => (random() < 0.7 ? pick(INTERESTING) : int(256)))),
];

function editValue(v: Buffer): Buffer {
  for (let n = 1 + (random() < 0.4 ? int(3) : 0); n > 0; n--) v = pick(VALUE_EDITS)(v);
  return v;
}

interface Field {
  head: Buffer;
  value: Buffer;
}

/** Splits `type(1) length(1) value` records, as OPEN parameters and capabilities are laid out. */
function splitTlv(region: Buffer): Field[] {
  const out: Field[] = [];
  for (let i = 0; i + 2 <= region.length; ) {
    const end = i + 2 + region[i + 1];
    out.push({ head: region.subarray(i, i + 1), value: region.subarray(i + 2, end) });
    i = end;
  }
  return out;
}

function joinTlv(fields: Field[]): Buffer {
  return Buffer.concat(fields.flatMap((f) => [f.head, Buffer.from([Math.min(f.value.length, 255)]), f.value.subarray(0, 255)]));
}

/** Splits path attributes into `flags type` heads and values. */
function splitAttributes(region: Buffer): Field[] {
  const out: Field[] = [];
  for (let i = 0; i + 3 <= region.length; ) {
    const extended = (region[i] & 0x10) !== 0;
    const start = i + (extended ? 4 : 3);
    const end = start + (extended ? region.readUInt16BE(i + 2) : region[i + 2]);
    out.push({ head: Buffer.from([region[i] & ~0x10, region[i + 1]]), value: region.subarray(start, end) });
    i = end;
  }
  return out;
}

function joinAttributes(fields: Field[]): Buffer {
  return Buffer.concat(
    fields.flatMap((f) => {
      const extended = f.value.length > 255;
      const length = Buffer.alloc(extended ? 2 : 1);
      if (extended) length.writeUInt16BE(f.value.length);
      else length[0] = f.value.length;
      return [Buffer.from([f.head[0] | (extended ? 0x10 : 0), f.head[1]]), length, f.value];
    }),
  );
}

/** Edits one record, sometimes its head, keeping every enclosing length consistent. */
function editOne(fields: Field[]): Field[] {
  if (fields.length === 0) return fields;
  const at = int(fields.length);
  const f = fields[at];
  const head = Buffer.from(f.head);
  if (random() < 0.15) head[int(head.length)] = random() < 0.5 ? pick(INTERESTING) : int(256);
  const out = [...fields];
  out[at] = { head, value: editValue(f.value) };
  return out;
}

const MUTATORS: readonly Mutator[] = [
  function flipBits(b) {
    const out = Buffer.from(b);
    for (let n = 1 + int(4); n > 0; n--) {
      const at = b.length > 19 && random() < 0.9 ? 19 + int(b.length - 19) : int(b.length);
      out[at] ^= 1 << int(8);
    }
    return out;
  },
  function interestingBytes(b) {
    const out = Buffer.from(b);
    for (let n = 1 + int(3); n > 0; n--) out[19 + int(Math.max(out.length - 19, 1))] = pick(INTERESTING);
    return out.subarray(0, b.length);
  },
  function truncate(b) {
    return Buffer.from(b.subarray(0, int(b.length + 1)));
  },
  function truncateKeepingHeaderValid(b) {
    return fixLength(Buffer.from(b.subarray(0, 19 + int(Math.max(b.length - 18, 1)))));
  },
  function extend(b) {
    return fixLength(Buffer.concat([b, randomBytes(1 + int(16))]));
  },
  function tamperHeaderLength(b) {
    const out = Buffer.from(b);
    if (out.length >= 18) out.writeUInt16BE(random() < 0.5 ? int(0x10000) : Math.max(0, Math.min(0xffff, out.length + int(9) - 4)), 16);
    return out;
  },
  function tamperInnerLength(b) {
    // Inner length fields are 1 or 2 octets anywhere in the body.
    const out = Buffer.from(b);
    if (out.length < 21) return out;
    const at = 19 + int(out.length - 20);
    if (random() < 0.5) out[at] = random() < 0.5 ? pick(INTERESTING) : (out[at] + int(5) - 2) & 0xff;
    else out.writeUInt16BE(random() < 0.5 ? pick(INTERESTING) : (out.readUInt16BE(at) + int(5) - 2) & 0xffff, at);
    return out;
  },
  function splice(b) {
    const other = pick(corpus);
    return fixLength(Buffer.concat([b.subarray(0, int(b.length + 1)), other.subarray(int(other.length + 1))]));
  },
  function insertOrDelete(b) {
    if (b.length < 20) return b;
    const at = 19 + int(b.length - 19);
    const n = 1 + int(4);
    const out = random() < 0.5 ? Buffer.concat([b.subarray(0, at), randomBytes(n), b.subarray(at)]) : Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    return fixLength(out);
  },
  function randomBodyValidHeader() {
    const body = randomBytes(int(80));
    const header = Buffer.alloc(19, 0xff);
    header[18] = 1 + int(5);
    return fixLength(Buffer.concat([header, body]));
  },
  function randomBytesAtAll() {
    return randomBytes(int(64));
  },
];

/** Mutators that parse their input, so they only ever see intact corpus messages. */
const STRUCTURAL: readonly Mutator[] = [
  function editAttributeValue(b) {
    // Reaches inside attribute values (segments, next hops, NLRI) with every length re-framed.
    if (b[18] !== 2) return b;
    const attrsAt = 21 + b.readUInt16BE(19) + 2;
    const attrsEnd = attrsAt + b.readUInt16BE(attrsAt - 2);
    const attributes = joinAttributes(editOne(splitAttributes(b.subarray(attrsAt, attrsEnd))));
    const lengths = Buffer.alloc(2);
    lengths.writeUInt16BE(attributes.length);
    return fixLength(Buffer.concat([b.subarray(0, attrsAt - 2), lengths, attributes, b.subarray(attrsEnd)]));
  },
  function editCapabilityValue(b) {
    if (b[18] !== 1 || b.length < 30) return b;
    const params = splitTlv(b.subarray(29)).map((p) => ({ head: p.head, value: joinTlv(editOne(splitTlv(p.value))) }));
    const region = joinTlv(random() < 0.5 ? params : editOne(params));
    return fixLength(Buffer.concat([b.subarray(0, 28), Buffer.from([Math.min(region.length, 255)]), region]));
  },
];

const CONTEXT_VARIANTS: readonly DecodeContext[] = [
  ...CONTEXTS,
  { fourOctetAS: true, peerAS: 65001, localAS: 65001, localIdentifier: 1 },
  { fourOctetAS: false, peerAS: 23456 },
];

/** Valid encodings to mutate, weighted towards UPDATE and OPEN, whose decoders have the most structure. */
const corpus: Buffer[] = CONTEXTS.flatMap((ctx, i) =>
  [
    ...fc.sample(updateMessage(ctx), { numRuns: 600, seed: SEED + i }),
    ...fc.sample(openMessage, { numRuns: 200, seed: SEED + i }),
    ...fc.sample(bgpMessage(ctx), { numRuns: 200, seed: SEED + i }),
  ].map((m) => encode(m, ctx)),
);

/** checkUpdate must give decode's verdict exactly when that verdict resets the session. */
function sameResetVerdict(fast: BgpDecodeError | undefined, full: BgpDecodeError | BgpMessageLike): boolean {
  const reset = full instanceof BgpDecodeError && full.handling === 'session-reset' ? full : undefined;
  if (fast === undefined || reset === undefined) return fast === reset;
  return fast.code === reset.code && fast.subcode === reset.subcode && fast.handling === reset.handling && fast.message === reset.message && fast.data.equals(reset.data);
}
type BgpMessageLike = ReturnType<typeof decode>;

/** Every code/subcode decode can return (RFC 4271 §6.1–§6.3, RFC 7313 §5). */
const REACHABLE_ERRORS = [
  ...['1/1', '1/2', '1/3'],
  ...['2/0', '2/1', '2/2', '2/3', '2/4', '2/6'],
  ...['3/1', '3/2', '3/3', '3/4', '3/5', '3/6', '3/8', '3/9', '3/10', '3/11'],
  '7/1',
];

function mutate(): Buffer {
  let b = pick(corpus);
  const structural = random() < 0.4;
  if (structural) b = pick(STRUCTURAL)(b);
  for (let n = (structural ? 0 : 1) + (random() < 0.3 ? int(3) : 0); n > 0; n--) b = pick(MUTATORS)(b);
  return b;
}

describe('decode fuzzing', () => {
  it(`survives ${COUNT.toLocaleString('en')} random and mutated messages`, () => {
    const failures: string[] = [];
    const verdicts = new Map<string, number>();
    const fail = (why: string, input: Buffer, ctx: DecodeContext) => {
      if (failures.length < 10) failures.push(`${why} fourOctetAS=${ctx.fourOctetAS} input=${input.toString('hex')}`);
    };

    for (let i = 0; i < COUNT; i++) {
      const ctx = CONTEXT_VARIANTS[i % CONTEXT_VARIANTS.length];
      const input = mutate();
      let got;
      try {
        got = decode(input, ctx);
      } catch (e) {
        fail(`escaped: ${String(e)}`, input, ctx);
        continue;
      }
      if (input.length >= 19 && input[18] === 2 && !sameResetVerdict(checkUpdate(input), got)) {
        fail(`checkUpdate disagrees with decode: ${checkUpdate(input)?.message} / ${got instanceof BgpDecodeError ? got.message : got.kind}`, input, ctx);
      }
      if (got instanceof BgpDecodeError) {
        if (got.cause !== undefined) fail(`internal error: ${String(got.cause)}`, input, ctx);
        const key = `${got.code}/${got.subcode}`;
        verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
        continue;
      }
      verdicts.set(got.kind, (verdicts.get(got.kind) ?? 0) + 1);
      try {
        const again = decode(encode(got, ctx), ctx);
        if (!isDeepStrictEqual(again, got)) fail('re-encoding changed the message', input, ctx);
      } catch (e) {
        fail(`re-encoding threw: ${String(e)}`, input, ctx);
      }
      // Some inputs also go through the framer, split at random.
      if (i % 64 === 0) {
        const framer = new BgpFramer();
        const at = int(input.length + 1);
        framer.push(input.subarray(0, at));
        framer.push(input.subarray(at));
      }
    }

    if (process.env.BGP_FUZZ_VERBOSE) console.log([...verdicts.entries()].sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
    expect(failures).toEqual([]);
    if (COUNT >= 100_000) {
      // The mutations must get past the header into every message type's decoder.
      for (const kind of ['open', 'update', 'notification', 'keepalive', 'route-refresh']) expect(verdicts.get(kind)).toBeGreaterThan(100);
    }
    if (COUNT >= 500_000) {
      // ...and reach every error a decoder can report.
      const missing = REACHABLE_ERRORS.filter((k) => !verdicts.has(k));
      expect(missing).toEqual([]);
    }
  }, 600_000);
});
