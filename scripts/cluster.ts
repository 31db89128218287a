// `npm run cluster -- up|down|status|install [--netns NS] [--bind ADDR] [--port N] [--dir DIR]`
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { destroyCluster, ensureBinaries, isClusterUp, kubeBinDir, startCluster } from './lib/kube-cluster';

interface Args {
  cmd: string;
  dir: string;
  netns?: string;
  bind?: string;
  port?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { cmd: argv[0] ?? 'status', dir: path.resolve(__dirname, '..', '.cluster') };
  for (let i = 1; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--netns':
        args.netns = v;
        i++;
        break;
      case '--bind':
        args.bind = v;
        i++;
        break;
      case '--port':
        args.port = Number(v);
        i++;
        break;
      case '--dir':
        args.dir = path.resolve(v);
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return args;
}

const log = (s: string): void => {
  process.stderr.write(`[cluster] ${s}\n`);
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  switch (args.cmd) {
    case 'install': {
      const t0 = Date.now();
      const bin = await ensureBinaries(log);
      log(`binaries in ${bin} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return 0;
    }
    case 'up': {
      const running = await isClusterUp(args.dir);
      if (running) {
        log(`already up at ${running.server}; kubeconfig ${running.kubeconfig}`);
        return 0;
      }
      const t0 = Date.now();
      const info = await startCluster({ dir: args.dir, netns: args.netns, bindAddress: args.bind, port: args.port, log });
      await fs.mkdir(path.join(args.dir, 'bin'), { recursive: true });
      await fs.symlink(path.join(kubeBinDir(), 'kubectl'), path.join(args.dir, 'bin', 'kubectl')).catch(() => undefined);
      log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${info.server} (etcd pid ${info.pids.etcd}, kube-apiserver pid ${info.pids.apiserver})`);
      log(`kubectl --kubeconfig ${path.relative(process.cwd(), info.kubeconfig)} get ns   (a v1.20 kubectl is at ${path.relative(process.cwd(), path.join(args.dir, 'bin', 'kubectl'))})`);
      return 0;
    }
    case 'down':
      await destroyCluster(args.dir);
      log('down: processes stopped and data removed');
      return 0;
    case 'status': {
      const running = await isClusterUp(args.dir);
      if (running) log(`up at ${running.server}; kubeconfig ${running.kubeconfig}`);
      else log('not running');
      return running ? 0 : 1;
    }
    default:
      log(`unknown command "${args.cmd}"; use up, down, status or install`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`ERROR: ${err.message}`);
    process.exit(1);
  },
);
