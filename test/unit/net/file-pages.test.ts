// native/src/file_pages.c: which mappings of the node executable the speaker may stop mapping
// after startup, and that doing so on a live process loses nothing. The plan's expected ranges
// are written by hand from the rule in file_pages.h (the executable's private, read-only,
// resident mappings without one anonymous or locked page); the live test runs a child process
// that drops its pages and then uses what they held (its code, OpenSSL, relocated pointers).
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { tryLoadNative } from '../../../src/net/native';

const native = tryLoadNative();
const d = native ? describe : describe.skip;

/** A mapping header plus its fields, as /proc/self/smaps prints them (fields trimmed to the ones that matter and a few that do not). */
function mapping(header: string, fields: Record<string, number> | 'none', extra = ''): string {
  const body = fields === 'none' ? '' : Object.entries(fields).map(([k, v]) => `${k}:${' '.repeat(Math.max(1, 16 - k.length))}${v} kB\n`).join('');
  return `${header}\nSize:               4 kB\nKernelPageSize:        4 kB\n${body}${extra}VmFlags: rd mr mw me\n`;
}

const EXE = 'fe:00 260689';
const clean = (rss: number) => ({ Rss: rss, Pss: rss, Anonymous: 0, Locked: 0 });

// The node binary of this machine (v20, non-PIE at 0x400000) plus every kind of mapping the rule must refuse.
const SMAPS = [
  mapping(`00400000-00b6f000 r--p 00000000 ${EXE}                             /usr/bin/node`, clean(6704)),
  mapping(`00b72000-025fe000 r-xp 00772000 ${EXE}                             /usr/bin/node`, clean(21492)),
  mapping(`02600000-02601000 r-xp 02200000 ${EXE}                             /usr/bin/node`, clean(0)), // nothing resident
  mapping(`0563a000-0563e000 r--p 05239000 ${EXE}                             /usr/bin/node`, { Rss: 16, Anonymous: 16, Locked: 0 }), // RELRO: relocated, then made read-only
  mapping(`0563e000-0565d000 rw-p 0523d000 ${EXE}                             /usr/bin/node`, { Rss: 124, Anonymous: 100, Locked: 0 }), // .data
  mapping(`0565d000-0565e000 rw-p 0525c000 ${EXE}                             /usr/bin/node`, clean(4)), // writable, though not yet written
  mapping(`7ff867e40000-7ff867fd2000 r-xp 014c4000 ${EXE}                     /usr/bin/node`, clean(1088)), // V8's remapped builtins, a high address
  mapping('7ff868000000-7ff868100000 r--p 00000000 fe:00 111                        /usr/lib/x86_64-linux-gnu/libc.so.6', clean(100)), // another file
  mapping('7ff868100000-7ff868200000 r--p 00000000 fd:00 260689                     /mnt/other/node', clean(100)), // the same inode on another device
  mapping(`7ff868200000-7ff868300000 r--s 00000000 ${EXE}                     /usr/bin/node`, clean(64)), // shared
  mapping(`7ff868300000-7ff868400000 r-xp 00000000 ${EXE}                     /usr/bin/node`, { Rss: 64, Anonymous: 0, Locked: 64 }), // mlocked
  mapping(`7ff868400000-7ff868500000 r--p 00000000 ${EXE}                     /usr/bin/node`, { Rss: 64, Locked: 0 }), // no Anonymous field
  mapping('7ff868500000-7ff868600000 rw-p 00000000 00:00 0                          [heap]', { Rss: 900, Anonymous: 900, Locked: 0 }),
  mapping('7ffc12345000-7ffc12347000 r-xp 00000000 00:00 0                          [vdso]', clean(8)),
  mapping(`7ff868600000-7ff868700000 r--p 00000000 ${EXE}                     /usr/bin/node`, { Rss: 32, Anonymous: 0 }), // the text ends before Locked
].join('');

/** By hand: the three ranges the rule allows, with their resident KiB. */
const EXPECTED = [
  { start: 0x400000n, end: 0xb6f000n, rssKiB: 6704 },
  { start: 0xb72000n, end: 0x25fe000n, rssKiB: 21492 },
  { start: 0x7ff867e40000n, end: 0x7ff867fd2000n, rssKiB: 1088 },
];

d('file_pages_plan', () => {
  it('allows only the executable\'s private, read-only, resident mappings with no anonymous or locked page', () => {
    expect(native!.filePagesPlanTest(SMAPS, 0xfe, 0, 260689)).toEqual(EXPECTED);
  });

  it('allows nothing for another file', () => {
    expect(native!.filePagesPlanTest(SMAPS, 0xfe, 0, 260690)).toEqual([]);
    expect(native!.filePagesPlanTest(SMAPS, 0xfe, 1, 260689)).toEqual([]);
  });

  it('on a text cut anywhere, allows only ranges of the whole text\'s plan, and a cut mapping only once its fields were read', () => {
    const key = (r: { start: bigint }) => r.start.toString(16);
    const allowed = new Map(EXPECTED.map((r) => [key(r), r]));
    for (let cut = 0; cut <= SMAPS.length; cut++) {
      const plan = native!.filePagesPlanTest(SMAPS.slice(0, cut), 0xfe, 0, 260689);
      for (const r of plan) expect(allowed.get(key(r))).toEqual(r);
    }
  });

  it('reads a field that differs from its own earlier copy, or has no unit, as unreadable', () => {
    const twice = mapping(`00400000-00b6f000 r--p 00000000 ${EXE} /usr/bin/node`, { Rss: 8, Anonymous: 4, Locked: 0 }, 'Anonymous:             0 kB\n');
    expect(native!.filePagesPlanTest(twice, 0xfe, 0, 260689)).toEqual([]);
    const noUnit = `00400000-00b6f000 r--p 00000000 ${EXE} /usr/bin/node\nRss: 8 kB\nAnonymous: 0\nLocked: 0 kB\n`;
    expect(native!.filePagesPlanTest(noUnit, 0xfe, 0, 260689)).toEqual([]);
  });

  it('survives garbage', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) {
      const chars = Array.from({ length: Math.floor(rnd() * 200) }, () => '0123456789abcdef-: rwxp/\nkBAnonymousRsLocked'[Math.floor(rnd() * 42)]);
      expect(Array.isArray(native!.filePagesPlanTest(chars.join(''), 0xfe, 0, 260689))).toBe(true);
    }
  });

  it('rejects arguments that are not whole numbers', () => {
    // The addon's errors come from the main realm, not jest's: matched by message.
    expect(() => native!.filePagesPlanTest(SMAPS, -1, 0, 1)).toThrow('major must be a whole number');
    expect(() => native!.filePagesPlanTest(SMAPS, 0, 0.5, 1)).toThrow('minor must be a whole number');
  });

  it('on this process, refuses the executable\'s relocated and writable mappings', () => {
    const st = statSync('/proc/self/exe');
    // glibc's gnu_dev_major/minor on a 64-bit dev_t.
    const dev = BigInt(st.dev);
    const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
    const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
    const text = readFileSync('/proc/self/smaps', 'utf8');
    const plan = native!.filePagesPlanTest(text, major, minor, st.ino);
    expect(plan.length).toBeGreaterThan(0);
    const planned = new Set(plan.map((r) => r.start));
    let refused = 0;
    for (const block of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
      const m = /^([0-9a-f]+)-[0-9a-f]+ (\S{4}) \S+ \S+ (\d+)/.exec(block);
      if (!m || Number(m[3]) !== st.ino) continue;
      const anon = Number(/\nAnonymous:\s+(\d+) kB/.exec(block)?.[1] ?? -1);
      if (m[2][1] === 'w' || anon !== 0) {
        refused++;
        expect(planned.has(BigInt(`0x${m[1]}`))).toBe(false);
      }
    }
    // node's .data and its RELRO segment at least: the rule above was exercised on real mappings.
    expect(refused).toBeGreaterThanOrEqual(2);
  });
});

d('releaseExecutablePages on a live process', () => {
  it('drops the executable\'s resident pages and the process goes on (its code, OpenSSL, its relocated pointers)', () => {
    const addon = path.join(__dirname, '../../../native/build/Release/ironlb_native.node');
    const script = `
      const fs = require('fs');
      const fileKiB = () => Number(/RssFile:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
      const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addon)});
      const before = fileKiB();
      const r = m.exports.releaseExecutablePages();
      const after = fileKiB();
      const crypto = require('crypto');
      const hash = crypto.createHash('sha256').update('abc').digest('hex');
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const sig = crypto.sign('sha256', Buffer.from('x'), privateKey);
      const ok = crypto.verify('sha256', Buffer.from('x'), publicKey, sig);
      const z = require('zlib').gunzipSync(require('zlib').gzipSync('y'.repeat(1e5))).length;
      process.stdout.write(JSON.stringify({ r, before, after, hash, ok, z, json: JSON.parse('[1,{"a":2}]'), re: /x(\\d+)/.exec('ax42')[1] }));
    `;
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(out.signal).toBeNull();
    expect(out.status).toBe(0);
    const res = JSON.parse(out.stdout) as { r: { mappings: number; rssKiB: number; failed: number }; before: number; after: number; hash: string; ok: boolean; z: number; json: unknown; re: string };
    expect(res.hash).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // FIPS 180-2 test vector "abc"
    expect(res).toMatchObject({ ok: true, z: 100_000, json: [1, { a: 2 }], re: '42' });
    expect(res.r.failed).toBe(0);
    expect(res.r.mappings).toBeGreaterThan(0);
    // What was dropped left RssFile (other files' pages stay): by at least most of what the plan counted.
    expect(res.before - res.after).toBeGreaterThan(res.r.rssKiB / 2);
  });
});
