/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { isolatedModules: true, diagnostics: false }];
const base = { testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest }, moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts', globalTeardown: '<rootDir>/test/integration/global-teardown.ts' },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts', globalTeardown: '<rootDir>/test/integration/global-teardown.ts' },
  ],
};
