import { readFileSync } from 'node:fs';
import path from 'node:path';

/* The README's table and .env.example must name every variable config.ts reads, so nothing is undocumented. */

const root = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

const variables = [...read('src/config/config.ts').matchAll(/^ {2}([A-Z][A-Z0-9_]+): optional\(/gm)].map((m) => m[1]!);

it('finds the variables config.ts reads', () => {
  expect(variables).toEqual(expect.arrayContaining(['SLACK_BOT_TOKEN', 'IMAGE_BUILDER_URL', 'DATABASE_URL', 'NO_PROXY']));
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
