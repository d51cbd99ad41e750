import type { CliDeps } from '../../src/cli/program';
import type { LoggerOptions } from '../../src/platform/logger';
import { activeSecretSentinel, type ScanChannel } from './secretSentinel';

/*
 * Runs before every test file (jest.config.js: setupFilesAfterEnv) and hands the file's secret sentinel what the app
 * writes in this process:
 *   - every line of every logger made with createLogger, whoever made it (the e2e harness, the replicas test, the
 *     CLI), after the logger's own redaction: the line as it leaves the app;
 *   - everything the CLI (runCli) writes to its standard output and error;
 *   - the answers to fetch() calls (the app's /readyz, /metrics, … to the tests), except the fakes' answers.
 * The fakes scan what the app sends them, slackRequests.ts the app's answers to Slack, and the environment the
 * process's own output and its child processes'.
 */

const sentinel = activeSecretSentinel();
if (!sentinel) {
  throw new Error(
    'The secret sentinel is missing: the tests run in test/support/secretSentinelEnvironment.ts (see jest.config.js).',
  );
}

interface Writable {
  write(text: string): unknown;
}

/** A writer that lets the sentinel read each write first. */
function watched<T extends Writable>(target: T, channel: ScanChannel, where: string): Writable {
  return {
    write(text: string) {
      activeSecretSentinel()?.scan(channel, String(text), where);
      return target.write(text);
    },
  };
}

jest.mock('../../src/platform/logger', () => {
  const actual = jest.requireActual<typeof import('../../src/platform/logger')>('../../src/platform/logger');
  return {
    ...actual,
    createLogger: (options: LoggerOptions) =>
      actual.createLogger({
        ...options,
        destination: watched(options.destination ?? process.stderr, 'log line', 'a log line of the app'),
      }),
  };
});

jest.mock('../../src/cli/program', () => {
  const actual = jest.requireActual<typeof import('../../src/cli/program')>('../../src/cli/program');
  return {
    ...actual,
    runCli: (argv: readonly string[], deps: CliDeps) =>
      actual.runCli(argv, {
        ...deps,
        io: {
          stdout: watched(deps.io.stdout, 'CLI output', 'the CLI’s standard output'),
          stderr: watched(deps.io.stderr, 'CLI output', 'the CLI’s standard error'),
        },
      }),
  };
});

const realFetch = globalThis.fetch;
globalThis.fetch = async function fetch(
  input: Parameters<typeof realFetch>[0],
  init?: Parameters<typeof realFetch>[1],
) {
  const response = await realFetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  // The fakes' answers to the app's own calls (the Slack client uses fetch) are not the app's output.
  if (activeSecretSentinel()?.isFakeOrigin(url) !== false) return response;
  const where = `the answer to ${init?.method ?? 'GET'} ${url}`;
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  // Read from a copy, so the test reads the body as if nothing had.
  response
    .clone()
    .text()
    .then(
      (body) => activeSecretSentinel()?.scan('HTTP answer', `${response.status}\n${headers}\n\n${body}`, where),
      () => undefined,
    );
  return response;
};
