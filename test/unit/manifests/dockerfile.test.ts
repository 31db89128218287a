// A structural lint of the Dockerfile, for machines without a Docker engine or hadolint
// (scripts/lint-dockerfile.sh runs it): multi-stage build, non-root runtime user, pinned base
// images, no remote ADD, the addon and dist copied from the build stage, a .dockerignore.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface Instruction {
  line: number;
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let l = lines[i].trim();
    if (l === '' || l.startsWith('#')) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i].trim();
      l = l.slice(0, -1).trimEnd() + (next.startsWith('#') ? '' : ' ' + next);
    }
    const m = /^(\S+)\s*(.*)$/.exec(l);
    if (m) out.push({ line: start, op: m[1].toUpperCase(), args: m[2] });
  }
  return out;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

export function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      out.push({ image: parts[0], name: parts[1]?.toUpperCase() === 'AS' ? parts[2] : undefined, instructions: [] });
    } else if (out.length > 0) {
      out[out.length - 1].instructions.push(ins);
    }
  }
  return out;
}

/** Problems found; empty when the Dockerfile passes. */
export function lintDockerfile(text: string, stageNames: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  const ins = parseDockerfile(text);
  const st = stages(ins);
  const names = new Set([...stageNames, ...st.map((s) => s.name).filter((n): n is string => !!n)]);
  if (st.length < 2) problems.push(`expected a multi-stage build, found ${st.length} stage(s)`);
  for (const s of st) {
    if (names.has(s.image) || s.image === 'scratch') continue;
    const digest = s.image.includes('@sha256:');
    const lastSlash = s.image.lastIndexOf('/');
    const colon = s.image.indexOf(':', lastSlash + 1);
    const tag = colon >= 0 ? s.image.slice(colon + 1).split('@')[0] : '';
    if (!digest && (tag === '' || tag === 'latest')) problems.push(`base image "${s.image}" is not pinned to a tag or digest`);
  }
  for (const i of ins) {
    if (i.op === 'ADD' && /(^|\s)(https?|ftp|git):\/\//i.test(i.args)) problems.push(`line ${i.line}: ADD of a URL (download in a RUN step, checked, instead)`);
    if (i.op === 'RUN' && /\bapt-get install\b/.test(i.args) && !/--no-install-recommends/.test(i.args)) {
      problems.push(`line ${i.line}: apt-get install without --no-install-recommends`);
    }
    if (i.op === 'RUN' && /\bsudo\b/.test(i.args)) problems.push(`line ${i.line}: sudo in RUN`);
  }
  const last = st[st.length - 1];
  if (last) {
    const users = last.instructions.filter((i) => i.op === 'USER');
    const user = users[users.length - 1]?.args.split(':')[0].trim();
    if (!user) problems.push('the final stage sets no USER (it would run as root)');
    else if (user === 'root' || user === '0') problems.push(`the final stage runs as ${user}`);
    if (!last.instructions.some((i) => i.op === 'ENTRYPOINT' && i.args.trim().startsWith('['))) problems.push('the final stage needs an exec-form ENTRYPOINT');
  }
  return problems;
}

describe('Dockerfile', () => {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const st = stages(parseDockerfile(text));

  it('passes the structural lint', () => {
    expect(lintDockerfile(text)).toEqual([]);
  });

  it('builds in node:20-bookworm-slim with the native toolchain and ships node:20-bookworm-slim', () => {
    expect(st.map((s) => s.image)).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    const build = st[0].instructions.map((i) => `${i.op} ${i.args}`).join('\n');
    expect(build).toMatch(/apt-get install .*python3.*make.*g\+\+/);
    expect(build).toMatch(/npm ci/);
    expect(build).toMatch(/npm run build:native/);
    expect(build).toMatch(/npm run build\b/);
  });

  it('ships only production dependencies, the addon and dist, as uid 65534', () => {
    const runtime = st[st.length - 1].instructions;
    const text = runtime.map((i) => `${i.op} ${i.args}`).join('\n');
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/COPY --from=build \S*native\/build\/Release\/ironlb_native\.node/);
    expect(text).toMatch(/COPY --from=build \S*\/dist\/src /);
    expect(runtime.filter((i) => i.op === 'USER').pop()?.args).toMatch(/^65534/);
    expect(runtime.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('["node", "/app/dist/src/cli/main.js"]');
    // Sources and dev tooling stay in the build stage.
    expect(runtime.some((i) => i.op === 'COPY' && /^(src|test|native)\b/.test(i.args))).toBe(false);
  });

  it('has a .dockerignore that keeps local builds and secrets out of the context', () => {
    const file = path.join(ROOT, '.dockerignore');
    expect(existsSync(file)).toBe(true);
    const entries = readFileSync(file, 'utf8').split('\n').map((l) => l.trim());
    for (const e of ['node_modules', 'dist', 'native/build', '.git', '.cluster']) expect(entries).toContain(e);
  });

  it('the lint catches what it is meant to catch', () => {
    expect(lintDockerfile('FROM node\nRUN x\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/multi-stage/), expect.stringMatching(/not pinned/), expect.stringMatching(/no USER/)]),
    );
    expect(lintDockerfile('FROM node:latest AS a\nFROM a\nADD https://example.com/x /x\nUSER root\nENTRYPOINT ["x"]\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/not pinned/), expect.stringMatching(/ADD of a URL/), expect.stringMatching(/runs as root/)]),
    );
    expect(lintDockerfile('FROM node:20@sha256:abc AS a\nFROM a\nUSER 1000\nENTRYPOINT ["x"]\n')).toEqual([]);
    expect(lintDockerfile('FROM registry:5000/node AS a\nFROM a\nUSER 1000\nENTRYPOINT ["x"]\n')).toEqual([expect.stringMatching(/not pinned/)]);
  });
});
