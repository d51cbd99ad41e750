import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The import rules docs/architecture.md states, checked on the source text so that a change that breaks one fails
 * here, naming the file and the import, rather than slowly turning the layers into a tangle.
 */

const SRC = path.resolve(__dirname, '../src');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });

/** Every module of src/ with the src/ modules it imports (relative specifiers resolved, as `concern/module`). */
const modules = sourceFiles(SRC).map((file) => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']*)'/g)].map((m) => m[1]!);
  return {
    file: path.relative(SRC, file).split(path.sep).join('/'),
    imports: specifiers.map((s) =>
      path
        .relative(SRC, path.resolve(path.dirname(file), s))
        .split(path.sep)
        .join('/'),
    ),
  };
});

const within = (folder: string) => (name: string) => name === folder || name.startsWith(`${folder}/`);

/** `imports` of the modules under `from` that fall under any of `forbidden`, as "file → import". */
function offending(from: string, forbidden: (target: string) => boolean): string[] {
  return modules
    .filter((m) => within(from)(m.file))
    .flatMap((m) => m.imports.filter(forbidden).map((target) => `${m.file} → ${target}`));
}

const anyOf =
  (...folders: string[]) =>
  (target: string) =>
    folders.some((folder) => within(folder)(target));

it('keeps only the entry points and the composition root at the top of src/', () => {
  const topLevel = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
  expect(topLevel.sort()).toEqual(['app.ts', 'cli.ts', 'index.ts']);
});

it('keeps configuration free of the store, the workflow, Slack and the platform', () => {
  expect(offending('config', anyOf('store', 'tracking', 'slack', 'platform', 'audit', 'compose'))).toEqual([]);
});

it('keeps the health and metrics routes out of the Slack code', () => {
  expect(offending('slack', anyOf('platform/operations'))).toEqual([]);
});

it('lets the policy see what a target is and what the targets accept, never a concrete target', () => {
  const allowed = new Set(['providers/types', 'providers/gcpPrincipals']);
  expect(offending('policy', (target) => within('providers')(target) && !allowed.has(target))).toEqual([]);
});

it('keeps the providers and the Block Kit views pure: no service client, store or workflow', () => {
  const impure = anyOf('imageBuilder', 'store', 'tracking', 'slack/thread', 'platform/operations');
  expect([...offending('providers', impure), ...offending('slack/views', impure)]).toEqual([]);
});

it('keeps the Image Builder client and the store unaware of Slack and of the workflow', () => {
  expect([
    ...offending('imageBuilder', anyOf('slack', 'tracking', 'store')),
    ...offending('store', anyOf('slack', 'tracking')),
  ]).toEqual([]);
});

it('keeps the shared helpers at the bottom: they import nothing else of src/', () => {
  expect(offending('shared', (target) => !within('shared')(target))).toEqual([]);
});

it('gives the policy and the views their text helpers from shared/, not from a provider', () => {
  expect([
    ...offending('policy', anyOf('providers/common')),
    ...offending('slack/views', anyOf('providers/common')),
  ]).toEqual([]);
});

it('keeps the demo and its stand-in Slack and Image Builder out of every production module', () => {
  expect(
    modules
      .filter((m) => !within('demo')(m.file))
      .flatMap((m) => m.imports.filter(within('demo')).map((t) => `${m.file} → ${t}`)),
  ).toEqual([]);
});

it('reads every import it checks (the rules are not vacuous)', () => {
  expect(modules.find((m) => m.file === 'store/openStore.ts')?.imports).toContain('config/databaseUrl');
  expect(modules.find((m) => m.file === 'policy/schema.ts')?.imports).toContain('providers/gcpPrincipals');
  expect(modules.find((m) => m.file === 'policy/schema.ts')?.imports).toContain('shared/text');
  expect(modules.find((m) => m.file === 'demo/slackRequests.ts')?.imports).toContain('demo/fakes/blockKit');
});
