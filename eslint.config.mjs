import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Configuration comes from config.ts only; everything else receives it as a parameter.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read the environment in src/config/config.ts only.' }],
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
