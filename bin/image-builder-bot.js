#!/usr/bin/env node
'use strict';

/*
 * The `image-builder-bot` command in a checkout. npm links a package's bin when it installs the package (npx
 * included, which also remembers the link it could not make), and only if the file is there: dist/cli.js is not
 * until a build, so the bin is this file, which always is. It builds dist/ when it is missing or older than src/
 * with `tsc -p tsconfig.build.json` (the first step of `npm run build`; the second, the bot's bundle, the command
 * does not need), its output on standard error so that standard output stays the command's, then runs dist/cli.js.
 * Plain JavaScript of any Node: dist/cli.js names the Node it needs.
 */

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');
const sources = path.join(root, 'src');

/** The newest modification time under a folder, in milliseconds. */
function newestUnder(folder) {
  let newest = 0;
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function needsBuild() {
  if (!fs.existsSync(cli)) return true;
  // An installed package has dist/ and no src/: nothing to compare.
  return fs.existsSync(sources) && newestUnder(sources) > fs.statSync(cli).mtimeMs;
}

function build() {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    process.stderr.write('image-builder-bot: dist/ is not built and TypeScript is not installed: run npm ci first\n');
    process.exit(2);
  }
  process.stderr.write('image-builder-bot: building dist/ from src/ first (npm run build)…\n');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (result.status !== 0) {
    process.stderr.write('image-builder-bot: the build failed (above); fix it or run npm run build\n');
    process.exit(2);
  }
}

if (needsBuild()) build();
require(cli);
