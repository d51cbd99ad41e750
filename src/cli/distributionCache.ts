import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import type { Distribution } from '../imageBuilder';

/*
 * The distributions the service last offered this account, kept by the CLI between runs so that `compose --dry-run`
 * can check a distribution without credentials or network. Only names and descriptions: nothing secret.
 */

const FILE_NAME = 'distributions.json';

const cacheSchema = z.strictObject({
  savedAt: z.iso.datetime(),
  distributions: z.array(z.strictObject({ name: z.string().min(1), description: z.string() })).min(1),
});

export type CachedDistributions = z.infer<typeof cacheSchema>;

/** What the last answer said, or undefined when there is none or it cannot be read (a cache is never an error). */
export function readCachedDistributions(directory: string): CachedDistributions | undefined {
  try {
    const parsed = cacheSchema.safeParse(JSON.parse(readFileSync(path.join(directory, FILE_NAME), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the service's answer; a cache that cannot be written costs only the next dry run's precision. */
export function saveCachedDistributions(directory: string, distributions: readonly Distribution[], now: Date): void {
  if (distributions.length === 0) return;
  const body: CachedDistributions = {
    savedAt: now.toISOString(),
    distributions: distributions.map((d) => ({ name: d.name, description: d.description })),
  };
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    // Written aside and renamed, so a dry run never reads half a file.
    const partial = path.join(directory, `${FILE_NAME}.${process.pid}.tmp`);
    writeFileSync(partial, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(partial, path.join(directory, FILE_NAME));
  } catch {
    // Nothing to do: the dry run says which list it checked against.
  }
}
