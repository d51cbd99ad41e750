import { parseDatabaseUrl } from '../config/databaseUrl';
import { openPostgresStore } from './postgres';
import type { StoreError } from './rows';
import { openSqliteStore } from './sqlite';
import type { Store } from './store';

/* DATABASE_URL → a store: the location config/databaseUrl.ts reads, opened with the dialect it names. */

export interface OpenStoreOptions {
  /** Where relative paths in DATABASE_URL start from (the process's working directory, passed in). */
  workingDirectory: string;
  now?: () => Date;
  /** SQLite: how long to wait for another connection's write lock. */
  busyTimeoutMs?: number;
  /** PostgreSQL: told when an idle pooled connection fails (a server restart), which no caller would see. */
  onIdleError?: (error: StoreError) => void;
}

/** Opens the store DATABASE_URL names. Throws DatabaseUrlError for a bad URL, StoreError when it cannot open. */
export async function openStore(databaseUrl: string, options: OpenStoreOptions): Promise<Store> {
  const location = parseDatabaseUrl(databaseUrl, options.workingDirectory);
  if (location.kind === 'postgres') {
    return openPostgresStore({
      connectionString: location.connectionString,
      ...(location.schema === undefined ? {} : { schema: location.schema }),
      now: options.now,
      onIdleError: options.onIdleError,
    });
  }
  return openSqliteStore({ path: location.path, now: options.now, busyTimeoutMs: options.busyTimeoutMs });
}
