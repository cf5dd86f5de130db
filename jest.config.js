// One jest run for the whole repo. Tests start real PostgreSQL clusters and
// load real eBPF programs, so files run one at a time (maxWorkers: 1) to keep
// probes from one test out of another's measurements.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test', '<rootDir>/examples'],
  testMatch: ['**/test/**/*.test.ts', '<rootDir>/test/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  maxWorkers: 1,
  testTimeout: 120000,
  verbose: true,
};
