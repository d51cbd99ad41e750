#!/usr/bin/env node
// First: stops an older Node with a clear message before better-sqlite3 loads.
import './platform/requireSupportedNode';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock } from './platform/clock';
import { runCli } from './cli/program';
import { cliCacheDirectory, ConfigError } from './config/config';
import { loadEnvFile } from './config/envFile';

/*
 * Entry point of the `image-builder-bot` command: the process's real environment and streams. A `.env` in the working
 * directory is read as the bot reads it, without a word: standard output is for the command's answer and scripts.
 */
function loadEnvFileOrExit(): void {
  try {
    loadEnvFile(process.cwd());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`image-builder-bot: ${error.message}\n`);
    process.exit(2);
  }
}

loadEnvFileOrExit();
runCli(process.argv.slice(2), {
  env: process.env,
  workingDirectory: process.cwd(),
  io: { stdout: process.stdout, stderr: process.stderr },
  clock: systemClock,
  sleep: (ms) => sleep(ms),
  cacheDirectory: cliCacheDirectory(process.env, os.homedir()),
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
