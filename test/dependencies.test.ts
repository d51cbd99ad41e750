import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The container installs production dependencies only (npm ci --omit=dev), so every package the source imports must
 * be a runtime dependency, or the bot starts in development and crashes in production.
 */

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

it('lists every package src/ imports among the runtime dependencies', () => {
  const imported = new Set<string>();
  for (const file of sourceFiles(path.join(root, 'src'))) {
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/from '([^'.][^']*)'/g)) {
      if (specifier!.startsWith('node:')) continue;
      const parts = specifier!.split('/');
      imported.add(specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  expect(imported.size).toBeGreaterThan(5);
  expect([...imported].filter((name) => !pkg.dependencies[name])).toEqual([]);
});
