/*
 * Four tiers, each a jest project (`npm test` runs them all; `npm run test:unit` is the inner loop):
 *   unit         in-process tests: no PostgreSQL, no child processes, no end-to-end app;
 *   integration  the app end to end against the fakes, the store contract on SQLite and PostgreSQL;
 *   processes    the bot (from source and bundled) and the CLI started as processes on the Node running the tests;
 *   slow         kill -9 runs and injected faults.
 * CI runs them all on the image's Node 24, and unit and processes on Node 22 as well (.ci/run).
 * The tiers that need PostgreSQL start one for the run unless TEST_DATABASE_URL names one (test/support/postgresServer.ts);
 * jest runs a project's globalSetup only when a test of that project runs, so the unit tier starts none.
 */
const integration = [
  '**/test/e2e/**/*.test.ts',
  '**/test/demo/demo.test.ts',
  '**/test/fakes/**/*.test.ts',
  '**/test/tracking/{store.postgres,store.sqlite,replicas}.test.ts',
];
const processes = ['**/test/{backup,bundle,bytecodeAge,cli,npx,startup,startupPolicy,nodeVersion}.test.ts'];
const slow = ['**/test/{crash,faults}/**/*.test.ts'];

/** @type {import('jest').Config} */
const shared = {
  rootDir: __dirname,
  testEnvironment: '<rootDir>/test/support/secretSentinelEnvironment.ts',
  roots: ['<rootDir>/test'],
  // Type checking is `npm run typecheck`; jest only transpiles, which keeps the suite fast on two cores.
  transform: { '^.+\\.(ts|js)$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // ESM-only dependencies, which jest's CommonJS runtime cannot load as they are (Node itself requires them natively).
  transformIgnorePatterns: ['/node_modules/(?!(p-retry|is-network-error|json-schema-faker|kysely)/)'],
  // json-schema-faker exports itself for `import` only, a condition jest's CommonJS resolver does not ask for.
  moduleNameMapper: { '^json-schema-faker$': '<rootDir>/node_modules/json-schema-faker/dist/index.js' },
  // Every test runs with the secret sentinel: no known secret may appear in a log line, a Slack call, an answer or an
  // error (test/support/secretSentinel.ts).
  setupFilesAfterEnv: ['<rootDir>/test/support/secretSentinelSetup.ts'],
};
const withPostgres = {
  globalSetup: '<rootDir>/test/support/postgresGlobalSetup.ts',
  globalTeardown: '<rootDir>/test/support/postgresGlobalTeardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 20000,
  // A worker per core, not jest's cores − 1: most tests wait on sockets, child processes and timers. On 2 cores the
  // unit tier takes 40 s so, 67 s in one worker (2026-12-02).
  maxWorkers: '100%',
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['**/*.test.ts', ...[...integration, ...processes, ...slow].map((glob) => `!${glob}`)],
    },
    { ...shared, ...withPostgres, displayName: 'integration', testMatch: integration },
    { ...shared, ...withPostgres, displayName: 'processes', testMatch: processes },
    { ...shared, ...withPostgres, displayName: 'slow', testMatch: slow },
  ],
};
