import type { Config } from 'jest';

// Tests are TypeScript transpiled by swc (type checking is `npm run build`'s job).
// Worker threads load the compiled entry points from dist/, so `npm test` builds first.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/actors', '<rootDir>/schemas', '<rootDir>/test', '<rootDir>/bench'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', {}],
    // ESM-only parquet packages: Node 20 requires them natively, jest's module system needs CommonJS.
    '/node_modules/(hyparquet|hyparquet-compressors|hyparquet-writer|hysnappy)/.+\\.js$': ['@swc/jest', {}],
  },
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-compressors|hyparquet-writer|hysnappy)/)'],
  testTimeout: 120_000,
  setupFiles: ['<rootDir>/test/jest-setup.ts'],
  // Two cores: run test files two at a time at most.
  maxWorkers: 2,
  // On a fresh clone, the end-to-end files first (test/sequencer.js).
  testSequencer: '<rootDir>/test/sequencer.js',
};

export default config;
