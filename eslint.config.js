const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

// Node modules that reach outside the process (files, sockets, processes, threads, the host).
const IO_MODULES = ['fs', 'fs/promises', 'net', 'dgram', 'child_process', 'http', 'https', 'http2', 'tls', 'dns', 'os', 'cluster', 'worker_threads', 'readline'];

// The pure core (GUIDE "Architecture"): parse/validate, address arithmetic and the allocator,
// codecs, IP addresses. No I/O, and none of the shells that do it.
const PURE_CORE = ['src/config/**/*.ts', 'src/ipam/**/*.ts', 'src/protocol/**/*.ts', 'src/ip/**/*.ts'];
const pureCoreImports = {
  paths: [
    ...IO_MODULES.flatMap((name) => [name, `node:${name}`]).map((name) => ({ name, message: 'the pure core does no I/O: take the data as an argument, and let a shell read or send it' })),
    { name: '@kubernetes/client-node', allowTypeImports: true, message: 'the pure core talks to no API server (type imports are fine)' },
    { name: 'prom-client', message: 'metrics belong to the shells (src/metrics)' },
    { name: 'raw-socket', message: 'sockets belong to src/net' },
  ],
  patterns: [
    {
      group: ['**/k8s/*', '**/net/*', '**/metrics/*', '**/speaker/**', '**/controller/*', '**/cli/*', '**/util/log'],
      message: 'the pure core imports no shell (k8s, net, metrics, speaker, controller, cli, logging)',
    },
  ],
};

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', '.cluster/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: PURE_CORE,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', pureCoreImports] },
  },
  {
    // GUIDE: "scripts/ may use src/ but not test/".
    files: ['scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['**/test/**', '../test', '../test/*'], message: 'scripts/ may use src/ but not test/ (GUIDE "Architecture")' }] }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
