// `ironlb validate-config FILE [-o json]`: checks a ConfigMap manifest or bare config text offline.
// Exit codes: 0 valid, 1 invalid config (every problem listed), 2 unreadable file, bad YAML or bad usage.
import { readFile } from 'node:fs/promises';
import { extractConfigText, formatIssue, parseConfigText, toFileLines, type ConfigSource } from '../config/parse';
import { poolAddressCount } from '../config/summary';
import type { AddressPool, Config, ConfigIssue } from '../config/types';
import { FlagError, parseFlags, usage } from './flags';

export interface CommandIO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const FLAGS = {
  output: { kind: 'string', default: 'text', help: 'output format: text or json (short: -o)' },
  help: { kind: 'boolean', help: 'show this help (short: -h)' },
} as const;

const USAGE = `usage: ironlb validate-config FILE [-o text|json]

FILE is a ConfigMap manifest (one or more YAML documents; the ConfigMap with data.config is used)
or bare config text. Exit status: 0 valid, 1 invalid, 2 unreadable file or not YAML.

flags:
${usage(FLAGS)}
`;

type Format = 'text' | 'json';

/** Short flags are spelled out so the shared long-flag parser can read them. */
function expandShortFlags(args: readonly string[]): string[] {
  return args.flatMap((a) => {
    if (a === '-o') return ['--output'];
    if (a.startsWith('-o') && a.length > 2) return [`--output=${a.slice(2).replace(/^=/, '')}`];
    if (a === '-h') return ['--help'];
    return [a];
  });
}

function describeSource(source: ConfigSource): string {
  const cm = source.configMap;
  if (!cm) return 'bare config text';
  const name = [cm.namespace, cm.name].filter((p) => p !== undefined).join('/');
  return name === '' ? 'ConfigMap' : `ConfigMap ${name}`;
}

function poolLine(pool: AddressPool): string {
  const count = poolAddressCount(pool);
  const notes = [
    !pool.autoAssign && 'auto-assign off',
    pool.avoidBuggyIPs && 'avoiding .0 and .255',
    pool.priority !== 0 && `priority ${pool.priority}`,
    pool.protocol === 'bgp' && `${pool.bgpAdvertisements.length} advertisement(s)`,
    pool.interfaces.length > 0 && `interfaces ${pool.interfaces.join(',')}`,
    pool.nodeSelectors.length > 0 && `${pool.nodeSelectors.length} node selector(s)`,
  ].filter((n): n is string => typeof n === 'string');
  const extra = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  return `  ${pool.name}: ${pool.protocol}, ${count.v4} IPv4 + ${count.v6} IPv6 addresses${extra}\n`;
}

function textReport(file: string, source: ConfigSource, config: Config): string {
  const lines = [`${file}: valid (${describeSource(source)})\n`, `address pools: ${config.pools.length}\n`];
  lines.push(...config.pools.map(poolLine));
  lines.push(`peers: ${config.peers.length}\n`);
  for (const p of config.peers) lines.push(`  ${p.peerAddress} AS${p.peerASN} (local AS${p.myASN}, port ${p.peerPort})\n`);
  if (Object.keys(config.bgpCommunities).length > 0) lines.push(`bgp community aliases: ${Object.keys(config.bgpCommunities).length}\n`);
  if (config.bfdProfiles.length > 0) lines.push(`bfd profiles: ${config.bfdProfiles.length}\n`);
  return lines.join('');
}

function jsonReport(file: string, source: ConfigSource, config: Config): unknown {
  return {
    file,
    valid: true,
    configMap: source.configMap ?? null,
    pools: config.pools.map((pool) => {
      const count = poolAddressCount(pool);
      return {
        name: pool.name,
        protocol: pool.protocol,
        addresses: pool.addresses.map((a) => a.text),
        // Strings: IPv6 counts exceed the range JSON numbers hold exactly.
        ipv4Addresses: count.v4.toString(),
        ipv6Addresses: count.v6.toString(),
        autoAssign: pool.autoAssign,
        avoidBuggyIPs: pool.avoidBuggyIPs,
        priority: pool.priority,
      };
    }),
    peers: config.peers.length,
    bgpCommunities: Object.keys(config.bgpCommunities).length,
    bfdProfiles: config.bfdProfiles.length,
  };
}

function problemsHeader(file: string, source: ConfigSource, count: number): string {
  const where = source.lineOffset === undefined ? '; line numbers count from the first line of data.config' : '';
  return `${file}: ${count} problem${count === 1 ? '' : 's'} in the config (${describeSource(source)}${where}):\n`;
}

export async function validateConfigCommand(args: string[], io: CommandIO): Promise<number> {
  let format: Format;
  let file: string;
  try {
    const flags = parseFlags(FLAGS, expandShortFlags(args));
    if (flags.help) {
      io.stdout(USAGE);
      return 0;
    }
    if (flags.output !== 'text' && flags.output !== 'json') throw new FlagError(`unknown output format "${flags.output}" (use text or json)`);
    if (flags._.length !== 1) throw new FlagError(flags._.length === 0 ? 'missing FILE' : `expected one FILE, got ${flags._.length}`);
    format = flags.output;
    file = flags._[0];
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    io.stderr(`ironlb validate-config: ${e.message}\n${USAGE}`);
    return 2;
  }

  const fatal = (message: string): number => {
    if (format === 'json') io.stdout(`${JSON.stringify({ file, valid: false, error: message }, null, 2)}\n`);
    else io.stderr(`${file}: ${message}\n`);
    return 2;
  };

  let fileText: string;
  try {
    fileText = await readFile(file, 'utf8');
  } catch (e) {
    // Not `instanceof Error`: errors from another realm (a test VM, a worker) fail that check.
    const message = typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);
    return fatal(`cannot read the file: ${message}`);
  }
  const extracted = extractConfigText(fileText);
  if (!extracted.ok) return fatal(extracted.line === undefined ? extracted.message : `line ${extracted.line}: ${extracted.message}`);
  const source = extracted.source;
  const result = toFileLines(parseConfigText(source.text), source);
  if (!result.ok && result.syntax) {
    const where = source.configMap ? `data.config of the ${describeSource(source)}: ` : '';
    return fatal(where + result.errors.map(formatIssue).join('; '));
  }

  if (result.ok) {
    io.stdout(format === 'json' ? `${JSON.stringify(jsonReport(file, source, result.config), null, 2)}\n` : textReport(file, source, result.config));
    return 0;
  }
  const errors: readonly ConfigIssue[] = result.errors;
  if (format === 'json') io.stdout(`${JSON.stringify({ file, valid: false, configMap: source.configMap ?? null, errors }, null, 2)}\n`);
  else io.stderr(problemsHeader(file, source, errors.length) + errors.map((e) => `  ${formatIssue(e)}\n`).join(''));
  return 1;
}
