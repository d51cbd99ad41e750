import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/* The README's table and .env.example must name every variable config/config.ts reads, so nothing is undocumented. */

const root = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

const variables = [...read('src/config/config.ts').matchAll(/^ {2}([A-Z][A-Z0-9_]+): optional\(/gm)].map((m) => m[1]!);

it('finds the variables config/config.ts reads', () => {
  expect(variables).toEqual(
    expect.arrayContaining(['SLACK_BOT_TOKEN', 'IMAGE_BUILDER_URL', 'DATABASE_URL', 'NO_PROXY']),
  );
});

it.each(variables)('documents %s in the README and in .env.example', (name) => {
  const readme = read('README.md');
  // The table writes a pair as "`LAUNCH_AWS_INSTANCE_TYPE_X86_64`, `…_AARCH64`": the second on the first's line.
  const pairedWith = /_AARCH64$/.test(name) ? name.replace(/_AARCH64$/, '_X86_64') : undefined;
  const documented = pairedWith
    ? readme.split('\n').some((line) => line.includes(`\`${pairedWith}\``) && line.includes('`…_AARCH64`'))
    : readme.includes(`\`${name}\``);
  expect(documented).toBe(true);
  expect(read('.env.example')).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
});

/* The layout the README and docs/architecture.md describe must be the tree as it is. */

const exists = (file: string) => existsSync(path.join(root, file));

it.each(['README.md', 'docs/architecture.md'])('links %s only to files that exist', (doc) => {
  const links = [...read(doc).matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/.test(href));
  const base = path.dirname(doc);
  expect(links.filter((href) => !exists(path.join(base, href)))).toEqual([]);
});

it('names in docs/architecture.md only source files that exist', () => {
  // `src/x/y.ts`, `test/x.ts` and, in the flow, `x/y.ts` relative to src/.
  const named = [
    ...read('docs/architecture.md').matchAll(/`((?:src\/)?[a-zA-Z]+(?:\/[a-zA-Z]+)*\/[a-zA-Z.]+\.ts)`/g),
  ].map((m) => m[1]!);
  expect(named.length).toBeGreaterThan(20);
  expect(named.filter((file) => !exists(file) && !exists(`src/${file}`))).toEqual([]);
});

it('shows in the README every folder and file at the top of src/, and nothing that is not there', () => {
  const readme = read('README.md');
  const block = /\n```\nsrc\/\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const listed = block!
    .split('\n')
    .map((line) => /^ {2}([^\s,]+(?:, [^\s,]+)*)/.exec(line)?.[1])
    .filter((entry): entry is string => entry !== undefined)
    .flatMap((entry) => entry.split(', '))
    .map((name) => name.replace(/\/$/, ''));
  const actual = readdirSync(path.join(root, 'src'));
  expect([...listed].sort()).toEqual([...actual].sort());
});
