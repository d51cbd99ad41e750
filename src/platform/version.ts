import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The version of this installation: package.json's, read at run time so there is one number to change. The file is
 * the nearest one above this module, wherever it was compiled to: src/platform/ run from source, dist/platform/ as
 * tsc writes it, dist/index.js as scripts/bundle.cjs bundles it; the container image copies it beside dist/.
 */
export function packageVersion(): string {
  const file = nearestPackageJson(__dirname);
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${file} has no version`);
  return version;
}

function nearestPackageJson(from: string): string {
  for (let folder = from; ; folder = path.dirname(folder)) {
    const file = path.join(folder, 'package.json');
    if (existsSync(file)) return file;
    if (path.dirname(folder) === folder) throw new Error(`no package.json in ${from} or any folder above it`);
  }
}
