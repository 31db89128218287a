// Starts a worker_threads Worker from a module that may be TypeScript source (jest, ts-node,
// bench scripts) or compiled JavaScript (node dist/...). For a .ts file the worker first
// registers ts-node (transpile only) and then requires the module.
import * as fs from 'fs';
import * as path from 'path';
import { Worker, WorkerOptions } from 'worker_threads';

/**
 * `baseWithoutExt` is the module path without extension; the sibling with the same extension as
 * `callerFile` (the caller's __filename) is used, falling back to whichever exists.
 */
export function resolveWorkerModule(baseWithoutExt: string, callerFile: string): string {
  const preferred = path.extname(callerFile) === '.ts' ? ['.ts', '.js'] : ['.js', '.ts'];
  for (const ext of preferred) {
    const p = baseWithoutExt + ext;
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`worker module not found: ${baseWithoutExt}.{js,ts}`);
}

/**
 * Young generation of each Worker isolate, in MiB (V8: three semi-spaces' worth, so 1 MiB
 * semi-spaces). V8 otherwise lets a Worker's young generation grow to 48 MiB like the main
 * thread's, each one paid in RSS, while our workers allocate little (docs/footprint.md).
 */
export const WORKER_YOUNG_GENERATION_MB = 3;

export function startWorker(file: string, workerOptions: WorkerOptions = {}): Worker {
  const options: WorkerOptions = { ...workerOptions, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB, ...workerOptions.resourceLimits } };
  if (!file.endsWith('.ts')) return new Worker(file, options);
  let tsNode: string;
  try {
    tsNode = require.resolve('ts-node', { paths: [path.dirname(file), process.cwd()] });
  } catch {
    throw new Error(`cannot run ${file}: ts-node is needed to start a TypeScript worker (build with npm run build and use dist/)`);
  }
  const code = [
    `const tsNode = require(${JSON.stringify(tsNode)});`,
    `if (!process[Symbol.for('ts-node.register.instance')]) tsNode.register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });`,
    `require(${JSON.stringify(file)});`,
  ].join('\n');
  return new Worker(code, { ...options, eval: true });
}
