/*
 * Lets a child process run the TypeScript sources directly, transpiled as jest transpiles them:
 *   node --require ./test/support/registerTs.cjs src/index.ts
 * Tests that spawn the bot or the CLI use it, so they need no build step.
 */
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = transformSync(source, {
    filename,
    module: { type: 'commonjs' },
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  });
  module._compile(code, filename);
};
