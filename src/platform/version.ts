import { readFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The version of this installation: package.json's, read at run time so there is one number to change. The file sits
 * one level above both src/ (run from source) and dist/ (built), and the container image copies it beside dist/.
 */
export function packageVersion(): string {
  const file = path.join(__dirname, '..', '..', 'package.json');
  const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${file} has no version`);
  return version;
}
