// A small flag parser: `--name value`, `--name=value`, boolean `--flag` / `--flag=false`.
export interface FlagSpec {
  [name: string]: { kind: 'string' | 'boolean'; default?: string | boolean; help: string; env?: string };
}

export type Parsed<S extends FlagSpec> = { [K in keyof S]: S[K]['kind'] extends 'boolean' ? boolean : string | undefined } & { _: string[] };

export class FlagError extends Error {}

export function parseFlags<S extends FlagSpec>(spec: S, argv: string[]): Parsed<S> {
  const out: Record<string, unknown> = { _: [] as string[] };
  for (const [name, s] of Object.entries(spec)) {
    const fromEnv = s.env ? process.env[s.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') out[name] = s.kind === 'boolean' ? fromEnv !== 'false' : fromEnv;
    else out[name] = s.default ?? (s.kind === 'boolean' ? false : undefined);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      (out._ as string[]).push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new FlagError(`unknown flag --${name}`);
    if (s.kind === 'boolean') {
      out[name] = eq < 0 ? true : arg.slice(eq + 1) !== 'false';
    } else {
      const v = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (v === undefined) throw new FlagError(`flag --${name} needs a value`);
      out[name] = v;
    }
  }
  return out as Parsed<S>;
}

export function usage(spec: FlagSpec): string {
  return Object.entries(spec)
    .map(([name, s]) => `  --${name}${s.kind === 'string' ? ' VALUE' : ''}\t${s.help}${s.default !== undefined ? ` (default ${String(s.default)})` : ''}${s.env ? ` [env ${s.env}]` : ''}`)
    .join('\n');
}
