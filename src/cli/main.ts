#!/usr/bin/env node
// The `ironlb` command: one binary for every role and the operator's tools.
import { FlagError } from './flags';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { help: string; load: () => Promise<Command> }> = {
  controller: { help: 'run the address allocation controller', load: async () => (await import('./controller-command')).controllerCommand },
  speaker: { help: 'run the per-node announcer (ARP/NDP, BGP)', load: async () => (await import('./speaker-command')).speakerCommand },
  'validate-config': {
    help: 'check a ConfigMap manifest or config text: ironlb validate-config FILE [-o json]',
    load: async () => {
      const { validateConfigCommand } = await import('./validate-config');
      return (argv) => validateConfigCommand(argv, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
    },
  },
  migrate: {
    help: 'a MetalLB v0.12 ConfigMap as metallb.io objects (YAML): ironlb migrate FILE [--namespace NS]',
    load: async () => {
      const { migrateCommand } = await import('./migrate-command');
      return (argv) => migrateCommand(argv, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
    },
  },
  status: {
    help: 'pools, speakers and who announces each address: ironlb status [--kubeconfig F] [-o json]',
    load: async () => (await import('./status-command')).statusCommand,
  },
  explain: {
    help: 'why a Service has/has no address and is/is not announced: ironlb explain NS/NAME [-o json]',
    load: async () => (await import('./explain-command')).explainCommand,
  },
  'dry-run': {
    help: 'which pool and address a Service would get now, changing nothing: ironlb dry-run FILE [-o json]',
    load: async () => (await import('./dry-run-command')).dryRunCommand,
  },
};

function help(): string {
  return `usage: ironlb COMMAND [flags]\n\ncommands:\n${Object.entries(COMMANDS)
    .map(([n, c]) => `  ${n.padEnd(18)}${c.help}`)
    .join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`ironlb: unknown command "${name}"\n${help()}`);
    return 2;
  }
  try {
    return await (await cmd.load())(rest);
  } catch (e) {
    process.stderr.write(`ironlb ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof FlagError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
