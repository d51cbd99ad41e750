#!/usr/bin/env node
// First: stops an older Node with a clear message before better-sqlite3 loads.
import './platform/requireSupportedNode';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from './clock';
import { runCli } from './cli/program';

/* Entry point of the `image-builder-bot` command: the process's real environment and streams. */
runCli(process.argv.slice(2), {
  env: process.env,
  workingDirectory: process.cwd(),
  io: { stdout: process.stdout, stderr: process.stderr },
  clock: systemClock,
  sleep: (ms) => sleep(ms),
}).then((code) => {
  process.exitCode = code;
});
