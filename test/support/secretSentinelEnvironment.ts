import childProcess, { type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import NodeEnvironment from 'jest-environment-node';
import { SECRET_SCAN_REPORT_VARIABLE, type SecretScanRecord } from './secretScanReport';
import {
  describeLeaks,
  lineSplitter,
  SecretSentinel,
  SENTINEL_GLOBAL,
  type LeakHit,
  type ScanChannel,
} from './secretSentinel';

/*
 * jest's node environment with a secret sentinel per test file (jest.config.js: testEnvironment). The environment
 * rather than a setup file, because only it sees a test end after its own afterEach hooks (where harnesses close
 * and write their last log lines), and can still fail that test; hits outside any test fail the file.
 *
 * It also watches what leaves this process outside the app's objects: the worker's standard output and error, and
 * the output of every child process the tests spawn (the bot started as `npm start` would, the CLI). The rest (log
 * lines, Slack calls, answers, console) is handed to the sentinel from inside the test file: ./secretSentinelSetup.ts,
 * the fakes, ../support/slackRequests.ts.
 */

type SpawnArgs = Parameters<typeof childProcess.spawn>;
type SpawnSyncArgs = Parameters<typeof childProcess.spawnSync>;

export default class SecretSentinelEnvironment extends NodeEnvironment {
  private readonly sentinel = new SecretSentinel();
  private readonly testFile: string;
  private readonly undo: (() => void)[] = [];

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.testFile = path.relative(config.projectConfig.rootDir, context.testPath);
    (this.global as Record<string, unknown>)[SENTINEL_GLOBAL] = this.sentinel;
  }

  override async setup(): Promise<void> {
    await super.setup();
    this.watchWorkerOutput();
    this.watchChildProcesses();
  }

  override async teardown(): Promise<void> {
    for (const step of this.undo.splice(0).reverse()) step();
    // Too late to fail anything (the results are out): say so loudly, and count it in the report.
    const late = this.sentinel.takeAllHits();
    if (late.length > 0) process.stderr.write(`\n${this.testFile}, after its last test:\n${describeLeaks(late)}\n`);
    this.writeReport();
    await super.teardown();
  }

  handleTestEvent(event: Circus.Event, state: Circus.State): void {
    switch (event.name) {
      case 'test_start':
        this.sentinel.currentTest = testName(event.test);
        break;
      case 'test_done': {
        const name = this.sentinel.currentTest;
        this.scanErrors(event.test.errors, `the failure message of "${name}"`);
        const hits = this.sentinel.takeHits(name);
        if (hits.length > 0) event.test.errors.push(leakError(hits));
        this.sentinel.currentTest = undefined;
        break;
      }
      case 'run_finish': {
        this.scanErrors(state.unhandledErrors, 'an error outside the tests');
        const hits = this.sentinel.takeAllHits();
        if (hits.length > 0)
          state.unhandledErrors.push(leakError(hits, 'outside a test (in a beforeAll/afterAll hook or between tests)'));
        break;
      }
    }
  }

  /** A failure message printing a secret is a leak too (into CI logs): counted, reported, and redacted in place. */
  private scanErrors(errors: unknown[], where: string) {
    for (const error of errors.flatMap((e) => (Array.isArray(e) ? e : [e]))) {
      // Errors come from the test file's realm, where `instanceof Error` does not hold here: read their strings.
      const text = typeof error === 'object' && error !== null ? stringsIn(error).join('\n') : String(error);
      if (this.sentinel.scan('error', text, where).length > 0) this.sentinel.redactInPlace(error);
    }
  }

  private watchWorkerOutput() {
    for (const [stream, name] of [
      [process.stdout, 'standard output'],
      [process.stderr, 'standard error'],
    ] as const) {
      const realWrite = stream.write;
      const lines = lineSplitter((line) => this.sentinel.scan('worker output', line, `the test process's ${name}`));
      stream.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) lines.push(chunk);
        return (realWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof stream.write;
      this.undo.push(() => {
        stream.write = realWrite;
        lines.end();
      });
    }
  }

  private watchChildProcesses() {
    const { spawn: realSpawn, spawnSync: realSpawnSync } = childProcess;
    const sentinel = this.sentinel;
    const scanLines = (channel: ScanChannel, where: string) =>
      lineSplitter((line) => sentinel.scan(channel, line, where));

    const spawn = function spawn(this: unknown, ...args: SpawnArgs) {
      const child = (realSpawn as (...a: SpawnArgs) => childProcess.ChildProcess).apply(this, args);
      const command = describeCommand(args[0], args[1]);
      for (const [stream, name] of [
        [child.stdout, 'standard output'],
        [child.stderr, 'standard error'],
      ] as const) {
        if (!stream) continue;
        const lines = scanLines('child process output', `${name} of ${command}`);
        stream.on('data', (chunk: Buffer | string) => lines.push(chunk));
        stream.on('end', () => lines.end());
      }
      return child;
    };
    const spawnSync = function spawnSync(this: unknown, ...args: SpawnSyncArgs) {
      const result = (realSpawnSync as (...a: SpawnSyncArgs) => SpawnSyncReturns<Buffer | string>).apply(this, args);
      const command = describeCommand(args[0], args[1]);
      for (const [output, name] of [
        [result.stdout, 'standard output'],
        [result.stderr, 'standard error'],
      ] as const) {
        if (output === null || output === undefined) continue;
        const lines = scanLines('child process output', `${name} of ${command}`);
        lines.push(output);
        lines.end();
      }
      return result;
    };
    // The module object is node's own, shared with the test file (jest does not sandbox core modules).
    Reflect.set(childProcess, 'spawn', spawn);
    Reflect.set(childProcess, 'spawnSync', spawnSync);
    this.undo.push(() => {
      Reflect.set(childProcess, 'spawn', realSpawn);
      Reflect.set(childProcess, 'spawnSync', realSpawnSync);
    });
  }

  private writeReport() {
    const file = process.env[SECRET_SCAN_REPORT_VARIABLE];
    if (!file) return;
    const { scanned, leaks } = this.sentinel.totals();
    const record: SecretScanRecord = { file: this.testFile, scanned, leaks };
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  }
}

/** The string properties of an error and of what hangs off it (a matcher's actual and expected values, a cause). */
function stringsIn(value: object, depth = 4, seen = new WeakSet<object>()): string[] {
  if (depth < 0 || seen.has(value)) return [];
  seen.add(value);
  return Object.getOwnPropertyNames(value).flatMap((key) => {
    const item: unknown = Object.getOwnPropertyDescriptor(value, key)?.value;
    if (typeof item === 'string') return [item];
    return typeof item === 'object' && item !== null ? stringsIn(item, depth - 1, seen) : [];
  });
}

function testName(test: Circus.TestEntry): string {
  const names = [test.name];
  for (let block: Circus.DescribeBlock | undefined = test.parent; block?.parent; block = block.parent)
    names.unshift(block.name);
  return names.join(' › ');
}

function leakError(hits: readonly LeakHit[], when?: string): Error {
  const error = new Error(when ? `${describeLeaks(hits)}\n  (${when})` : describeLeaks(hits));
  error.name = 'SecretLeak';
  // The stack would only point into the sentinel; the message says where the secret was.
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

function describeCommand(command: unknown, args: unknown): string {
  const words = [path.basename(String(command)), ...(Array.isArray(args) ? args.map(String) : [])];
  // `node --require ./test/support/registerTs.cjs src/index.ts` reads better as `node src/index.ts`.
  const shown = words.filter((word, i) => word !== '--require' && words[i - 1] !== '--require').join(' ');
  return shown.length > 100 ? `${shown.slice(0, 99)}…` : shown;
}
