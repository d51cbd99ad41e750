/**
 * The oldest Node.js the bot and the CLI run on; package.json's `engines` says the same (test/nodeVersion.test.ts).
 * better-sqlite3 13 and undici 8 need it: on an older Node the process would die in native code or on a missing API
 * instead of saying why.
 */
export const MINIMUM_NODE_VERSION = '22.19.0';

/** Why `version` (process.versions.node, e.g. "20.19.5") cannot run the bot, or undefined when it can. */
export function unsupportedNodeProblem(version: string, minimum: string = MINIMUM_NODE_VERSION): string | undefined {
  const parts = (text: string) => text.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const have = parts(version);
  const need = parts(minimum);
  for (let i = 0; i < need.length; i++) {
    const difference = (have[i] ?? 0) - (need[i] ?? 0);
    if (difference > 0) return undefined;
    if (difference < 0) return `Node.js ${minimum} or newer is required, this is Node.js ${version}`;
  }
  return undefined;
}
