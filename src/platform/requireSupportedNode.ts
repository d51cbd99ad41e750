import { unsupportedNodeProblem } from './nodeVersion';

/*
 * The entry points' first import: it runs before anything loads better-sqlite3 (which crashes an older Node) and
 * stops the process with one line that says what to install.
 */
const problem = unsupportedNodeProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`image-builder-bot: ${problem}\n`);
  process.exit(1);
}
