import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules (floating promises, unsafe any, awaiting non-promises) where the product's code is.
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An async function without await implements a Promise-returning interface (the SQLite store, listeners): a
      // throw in it becomes a rejection, which dropping `async` would change.
      '@typescript-eslint/require-await': 'off',
      // Passing on what a catch caught, whatever it is, is the point where it happens.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // In the tests only the promise rules: a floating promise there is an assertion that may never run. The rest of
    // recommendedTypeChecked flags ~200 places in tests (jest's any-typed matchers, thrown non-Errors on purpose).
    files: ['test/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error', '@typescript-eslint/await-thenable': 'error' },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Configuration comes from config.ts only; everything else receives it as a parameter.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read the environment in src/config/config.ts only.' },
      ],
      // esbuild drops what the bot does not use of a namespace import, not of zod's re-exported `z` object: with
      // `{ z }` the bundle held all of zod (570 kB of 3.2 MB, every byte of it kept in memory), with `* as z` 150 kB.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[source.value='zod'] > :matches(ImportSpecifier[imported.name='z'], ImportDefaultSpecifier)",
          message: "Write `import * as z from 'zod'` (bundle size).",
        },
      ],
    },
  },
  {
    // A function that does not fit on a couple of screens does several things: split it by what they are.
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 120 }] },
  },
  {
    // The entry points hand the environment to config.ts; nothing else sees it.
    files: ['src/config/config.ts', 'src/index.ts', 'src/cli.ts', 'test/**', 'scripts/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
