#!/usr/bin/env node
// First: stops an older Node with a clear message before better-sqlite3 loads.
import './platform/requireSupportedNode';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from './platform/clock';
import { runCli } from './cli/program';

/* Entry point of the `image-builder-bot` command: the process's real environment and streams. */
runCli(process.argv.slice(2), {
  env: process.env,
  workingDirectory: process.cwd(),
  io: { stdout: process.stdout, stderr: process.stderr },
  clock: systemClock,
  sleep: (ms) => sleep(ms),
}).then(
  (code) => {
    process.exitCode = code;
  },
  // runCli turns every failure into a message and an exit code; closing its client could still reject.
  (error: unknown) => {
    process.stderr.write(`image-builder-bot: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
