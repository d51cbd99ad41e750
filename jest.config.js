/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/support/secretSentinelEnvironment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is `npm run typecheck`; jest only transpiles, which keeps the suite fast on two cores.
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Every test runs with the secret sentinel: no known secret may appear in a log line, a Slack call, an answer or an
  // error (test/support/secretSentinel.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/secretSentinelSetup.ts'],
  testTimeout: 20000,
};
