'use strict';

/*
 * The bot's entry, dist/index.js, as one file: src/index.ts and every dependency it imports, bundled by esbuild over
 * what `tsc -p tsconfig.build.json` wrote there (the CLI and the rest of dist/ stay tsc's, one file per module).
 * Node.js spends most of a start finding, reading and compiling some 900 module files one by one; as one file the
 * bot is ready in about 0.6 s instead of 1.1, and idles about 9 MB lower, with ESM dependencies reduced to what it
 * imports, and undici and Bolt taken from entries that name only what it uses (TRIMMED_ENTRIES; npm run bench,
 * docs/benchmarks.md). Names and the code's shape are kept, only whitespace and syntax are
 * minified, so a stack trace still names its functions; dist/index.js.map maps it back to src/ (node
 * --enable-source-maps). better-sqlite3 loads a native binary from its own folder, so it stays in node_modules, as
 * do the parts the bot loads only on demand (ON_DEMAND).
 *
 *   node scripts/bundle.cjs            # dist/index.js (npm run build does this after tsc)
 *   await bundle({ outfile })          # elsewhere: test/bundle.test.ts and the bench bundle their own copy
 */

const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '..');

/** The oldest Node.js the bot supports (package.json engines), as esbuild names a target. */
function nodeTarget() {
  const { engines } = require(path.join(ROOT, 'package.json'));
  const version = /^>=\s*(\d+\.\d+\.\d+)$/.exec(engines.node)?.[1];
  if (!version) throw new Error(`package.json engines.node is ${engines.node}, not ">=x.y.z"`);
  return `node${version}`;
}

/**
 * Why `code` would cost twice its size in memory, or undefined. V8 keeps a script's source for as long as it runs, as
 * one byte per character while every character is Latin-1 and two bytes per character as soon as one is not: one '…'
 * made the 4 MB bundle an 8 MB string. esbuild writes such characters as \u escapes in strings, not in regular
 * expression literals, hence this check.
 */
function wideCharacterProblem(code, file) {
  const wide = /[\u0100-\u{10ffff}]/u.exec(code);
  if (!wide) return undefined;
  const lineStart = code.lastIndexOf('\n', wide.index) + 1;
  const line = code.slice(0, lineStart).split('\n').length;
  const column = wide.index - lineStart + 1;
  const point = wide[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
  const context = code.slice(Math.max(lineStart, wide.index - 30), wide.index + 10);
  return (
    `${file}:${line}:${column} has U+${point} in ${JSON.stringify(context)}: one character beyond Latin-1 makes V8 ` +
    'hold the whole bundle as a two-byte string, twice its size; write it as a \\u escape in the source'
  );
}

/**
 * What stays in node_modules, required from there only when the bot needs it. V8 holds the bundle's whole source for
 * as long as the bot runs, whether its code runs or not, and these were 0.9 MB of 4.1 (npm run bench, idle RSS):
 *   - pg and its dependencies: the store requires them only for a postgres:// DATABASE_URL (src/store/openStore.ts);
 *   - iconv-lite's encoding tables: body parsing reads them only for a request in a charset other than UTF-8;
 *   - undici's HTTP/1.1 parser, in four WebAssembly builds (two parsers, with and without SIMD), of which it loads
 *     one at its first connection.
 * `files` are paths in the package that its own code requires lazily: each is written as `package/file`, which Node
 * finds from dist/ as it finds better-sqlite3.
 */
const ON_DEMAND = {
  packages: ['pg'],
  files: {
    undici: ['lib/llhttp/llhttp-wasm.js', 'lib/llhttp/llhttp_simd-wasm.js', 'lib/milo/simd.js', 'lib/milo/no-simd.js'],
    'iconv-lite': ['encodings'],
  },
};

/** An esbuild plugin that leaves ON_DEMAND's files out, failing the build where one of them no longer exists. */
function onDemandFiles() {
  const roots = Object.entries(ON_DEMAND.files).map(([name, files]) => {
    const root = path.join(ROOT, 'node_modules', name);
    for (const file of files) {
      if (!existsSync(path.join(root, file)) && !existsSync(path.join(root, `${file}.js`)))
        throw new Error(`${name} has no ${file} any more: update ON_DEMAND in scripts/bundle.cjs`);
    }
    return { name, root, files };
  });
  return {
    name: 'on-demand-files',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, ({ path: request, importer }) => {
        const owner = roots.find(({ root }) => importer.startsWith(root + path.sep));
        if (!owner) return undefined;
        const file = path
          .relative(owner.root, path.resolve(path.dirname(importer), request))
          .split(path.sep)
          .join('/');
        return owner.files.includes(file) ? { path: `${owner.name}/${file}`, external: true } : undefined;
      });
    },
  };
}

/**
 * What the bot and its dependencies take from undici (src/, @slack/socket-mode), by name: the file of undici that
 * defines it, and the property of that file's exports, if not the whole. undici's index requires every part of undici
 * (mock agents, caches, cookies, interceptors, EventSource, SOCKS) to export it; bundled, all of that is source V8
 * holds for good, 0.25 MB of the 2.7 MB bundle, and code it compiles at start. The entry built from this table
 * (undiciEntry) does what the index does first (undici's global dispatcher, the request methods on Dispatcher) and
 * loads each part the first time it is used, so Socket Mode's WebSocket loads only in Socket Mode. Any other name
 * comes from the whole of undici in node_modules, with a warning to add it here: a second copy, whose classes are
 * not the bundle's (an `instanceof` across the two fails), so the bundle tests fail on that warning.
 */
const UNDICI_EXPORTS = {
  Agent: ['lib/dispatcher/agent'],
  ProxyAgent: ['lib/dispatcher/proxy-agent'],
  EnvHttpProxyAgent: ['lib/dispatcher/env-http-proxy-agent'],
  buildConnector: ['lib/core/connect'],
  getGlobalDispatcher: ['lib/global', 'getGlobalDispatcher'],
  fetch: ['lib/web/fetch', 'fetch'],
  Headers: ['lib/web/fetch/headers', 'Headers'],
  Response: ['lib/web/fetch/response', 'Response'],
  FormData: ['lib/web/fetch/formdata', 'FormData'],
  WebSocket: ['lib/web/websocket/websocket', 'WebSocket'],
  ping: ['lib/web/websocket/websocket', 'ping'],
  CloseEvent: ['lib/web/websocket/events', 'CloseEvent'],
  ErrorEvent: ['lib/web/websocket/events', 'ErrorEvent'],
  MessageEvent: ['lib/web/websocket/events', 'MessageEvent'],
};

/** The warning a name missing from UNDICI_EXPORTS gives where it is used (test/bundle.test.ts looks for it). */
const UNDICI_FALLBACK_WARNING = 'the bundle took undici.%s from node_modules: add it to UNDICI_EXPORTS';

/** The source of the bundle's undici entry: lazy getters for UNDICI_EXPORTS, and the rest from node_modules. */
function undiciEntry() {
  const root = path.join(ROOT, 'node_modules', 'undici');
  // Every name undici's index exports, read from its source: loading it would need the Node.js undici needs, which
  // need not be the one building.
  const index = readFileSync(path.join(root, 'index.js'), 'utf8');
  const names = [...index.matchAll(/^module\.exports\.(\w+) =/gm)].map((match) => match[1]);
  const missing = Object.keys(UNDICI_EXPORTS).filter((name) => !names.includes(name));
  if (missing.length > 0) throw new Error(`undici no longer exports ${missing.join(', ')}: update UNDICI_EXPORTS`);
  const getter = (name) => {
    if (!Object.hasOwn(UNDICI_EXPORTS, name)) return `get: () => fromNodeModules(${JSON.stringify(name)})`;
    const [file, property] = UNDICI_EXPORTS[name];
    if (![`${file}.js`, `${file}/index.js`].some((candidate) => existsSync(path.join(root, candidate))))
      throw new Error(`undici has no ${file} any more: update UNDICI_EXPORTS`);
    return `get: () => require(${JSON.stringify(`./${file}`)})${property ? `.${property}` : ''}`;
  };
  return [
    "'use strict';",
    // As undici's index does before anything else: the global dispatcher, and request() and the rest on Dispatcher.
    "require('./lib/global');",
    "Object.assign(require('./lib/dispatcher/dispatcher').prototype, require('./lib/api'));",
    'const warned = new Set();',
    'function fromNodeModules(name) {',
    '  if (!warned.has(name)) {',
    '    warned.add(name);',
    `    process.emitWarning(${JSON.stringify(UNDICI_FALLBACK_WARNING)}.replace('%s', name));`,
    '  }',
    "  return require('undici')[name];",
    '}',
    'Object.defineProperties(exports, {',
    ...names.map((name) => `  ${JSON.stringify(name)}: { enumerable: true, ${getter(name)} },`),
    '});',
  ].join('\n');
}

/**
 * What the bot takes from Bolt (src/slack/), as an ES module, so that esbuild fails the build on an import from Bolt
 * it lacks ("No matching export"): only src/ imports Bolt. Bolt's index requires every receiver, and its
 * ExpressReceiver brings Express and all it depends on, mime-db's table among them: 0.4 MB of a 2.4 MB bundle and
 * 2.4 MB of an idle bot's resident memory on Node 24 (3 starts with and without), for a receiver it never uses.
 */
function boltEntry() {
  return [
    "export { default as App } from './dist/App';",
    "export { default as HTTPReceiver } from './dist/receivers/HTTPReceiver';",
    "export { default as SocketModeReceiver } from './dist/receivers/SocketModeReceiver';",
    "export * as HTTPModuleFunctions from './dist/receivers/HTTPModuleFunctions';",
    "export { LogLevel } from '@slack/logger';",
  ].join('\n');
}

/** Packages bundled from an entry of the bot's own in place of their index, and the source of that entry. */
const TRIMMED_ENTRIES = { undici: undiciEntry, '@slack/bolt': boltEntry };

/**
 * An esbuild plugin that bundles TRIMMED_ENTRIES wherever the bot or a dependency imports one of those packages by
 * name. Within an entry, the package's own files resolve from its folder as usual, and its name (undici's fallback to
 * its whole self) from node_modules at run time.
 */
function trimmedEntries() {
  const namespace = 'trimmed-entry';
  const names = Object.keys(TRIMMED_ENTRIES).map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return {
    name: namespace,
    setup(build) {
      build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, ({ path: name, namespace: from }) =>
        from === namespace ? { path: name, external: true } : { path: name, namespace },
      );
      build.onLoad({ filter: /.*/, namespace }, ({ path: name }) => ({
        contents: TRIMMED_ENTRIES[name](),
        resolveDir: path.join(ROOT, 'node_modules', name),
        loader: 'js',
      }));
    },
  };
}

/** Bundles src/index.ts into `outfile`, and its source map beside it. */
async function bundle({ outfile }) {
  // esbuild takes plugins only in its asynchronous build.
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['src/index.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: nodeTarget(),
    external: ['better-sqlite3', ...ON_DEMAND.packages],
    plugins: [onDemandFiles(), trimmedEntries()],
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const problem = wideCharacterProblem(readFileSync(outfile, 'utf8'), path.relative(ROOT, outfile));
  if (problem) throw new Error(problem);
}

module.exports = { bundle, wideCharacterProblem, UNDICI_FALLBACK_WARNING };

if (require.main === module) {
  bundle({ outfile: path.join(ROOT, 'dist', 'index.js') }).catch((error) => {
    // esbuild has printed each error with its place in the sources already.
    console.error(`scripts/bundle.cjs: ${error instanceof Error ? error.message.split('\n')[0] : error}`);
    process.exit(1);
  });
}
