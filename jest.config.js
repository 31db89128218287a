/** @type {import('jest').Config} */
// @kubernetes/client-node 1.x and some of its dependencies ship only ES modules; jest's
// CommonJS runtime on Node 20 cannot require() them, so they are transpiled like our sources.
const esmPackages = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', 'jsonpath-plus', 'jsep'];
const tsJest = ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true }, diagnostics: false }];
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.(ts|js|mjs)$': tsJest },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json', 'node'],
};
const cluster = {
  globalSetup: '<rootDir>/test/integration/global-setup.ts',
  globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
};
module.exports = {
  reporters: ['default', '<rootDir>/test/harness/summary-reporter.js'],
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, ...cluster, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], setupFilesAfterEnv: ['<rootDir>/test/integration/isolation.ts'] },
    // End-to-end suites build their own LAN and start an API server on it.
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
