import path from 'node:path';
import { openSqliteStore } from './sqlite';
import type { Store } from './store';

/*
 * DATABASE_URL → a store. The caller supplies the default (a file under the data folder) when the variable is
 * unset; this module only reads what was given.
 */

export type DatabaseLocation = { kind: 'sqlite'; path: string };

/** A DATABASE_URL that names no usable database. `reason` has no variable name, for callers that add their own. */
export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';

  constructor(readonly reason: string) {
    super(`DATABASE_URL: ${reason}`);
  }
}

const SUPPORTED_FORMS =
  'use sqlite:///absolute/path.sqlite, sqlite:relative/path.sqlite, or a plain file path';

/**
 * Reads DATABASE_URL. Accepted:
 * - `sqlite:///abs/path.sqlite` (empty host, absolute path), `sqlite://relative/path`, `sqlite:relative/path`,
 *   `sqlite:/abs/path`;
 * - a plain file path, absolute or relative.
 * Relative paths are resolved against `workingDirectory`, which must be absolute. The rest of a sqlite: URL is
 * taken literally (no percent-decoding, no query string), as a path would be.
 * PostgreSQL URLs are recognised and refused for now. Pure: no file is touched.
 * Messages never repeat the URL itself, which may carry a password.
 */
export function parseDatabaseUrl(databaseUrl: string, workingDirectory: string): DatabaseLocation {
  const value = databaseUrl.trim();
  if (value === '') throw new DatabaseUrlError(`is empty; ${SUPPORTED_FORMS}`);

  // A one-letter "scheme" is a Windows drive (C:\data\bot.sqlite), so a scheme needs two letters or more.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return sqliteFile(value, workingDirectory);

  if (scheme === 'postgres' || scheme === 'postgresql') {
    throw new DatabaseUrlError(`PostgreSQL support is not available yet; ${SUPPORTED_FORMS}`);
  }
  if (scheme !== 'sqlite') {
    throw new DatabaseUrlError(`the scheme "${scheme}:" is not supported; ${SUPPORTED_FORMS}`);
  }

  const rest = value.slice('sqlite:'.length);
  // `sqlite://x` has an authority part in URL terms; with no host it is the path, so `sqlite:///abs` is absolute.
  return sqliteFile(rest.startsWith('//') ? rest.slice(2) : rest, workingDirectory);
}

function sqliteFile(filePath: string, workingDirectory: string): DatabaseLocation {
  if (filePath === '' || filePath.endsWith('/')) {
    throw new DatabaseUrlError(`names a folder or nothing, not a database file; ${SUPPORTED_FORMS}`);
  }
  return { kind: 'sqlite', path: path.resolve(workingDirectory, filePath) };
}

export interface OpenStoreOptions {
  /** Where relative paths in DATABASE_URL start from (the process's working directory, passed in). */
  workingDirectory: string;
  now?: () => Date;
  busyTimeoutMs?: number;
}

/** Opens the store DATABASE_URL names. Throws DatabaseUrlError for a bad URL, StoreError when it cannot open. */
export async function openStore(databaseUrl: string, options: OpenStoreOptions): Promise<Store> {
  const location = parseDatabaseUrl(databaseUrl, options.workingDirectory);
  return openSqliteStore({ path: location.path, now: options.now, busyTimeoutMs: options.busyTimeoutMs });
}
