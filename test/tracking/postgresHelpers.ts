import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres';
import type { Store } from '../../src/store/store';

/**
 * The PostgreSQL the tests use: TEST_DATABASE_URL, which names CI's server or else the throwaway one the integration
 * and slow tiers start for the run (test/support/postgresServer.ts). Every test works in a schema of its own, dropped
 * after it, so runs and test files never collide.
 */
export const TEST_DATABASE_URL = testDatabaseUrl();

function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'TEST_DATABASE_URL is not set: PostgreSQL tests belong in the integration or slow jest project (jest.config.js), ' +
        'whose globalSetup starts a server unless TEST_DATABASE_URL names one',
    );
  }
  return url;
}

/** Runs one statement on the test database through a connection of its own. */
export async function adminQuery<R extends Record<string, unknown> = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh schema name per test, and after the test every store it opened closed and every schema dropped.
 * `open` opens a store on the test's schema (again and again: a restart, a second replica).
 */
export function usePostgresSchema() {
  let schema = '';
  const schemas: string[] = [];
  const stores: Store[] = [];
  const dropping: Promise<unknown>[] = [];
  const newSchema = () => {
    const name = `ibb_test_${randomBytes(6).toString('hex')}`;
    schemas.push(name);
    return name;
  };
  beforeEach(() => {
    schema = newSchema();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    // Dropped while the next test runs (its schema is another), and waited for at the end of the file.
    const names = schemas.splice(0);
    dropping.push(adminQuery(`DROP SCHEMA IF EXISTS ${names.join(', ')} CASCADE`));
  });
  afterAll(async () => {
    await Promise.all(dropping);
  });
  return {
    schema: () => schema,
    /** Another schema, also dropped after the test. */
    newSchema,
    open: async (options: Partial<PostgresStoreOptions> = {}): Promise<Store> => {
      const store = await openPostgresStore({ connectionString: TEST_DATABASE_URL, schema, ...options });
      stores.push(store);
      return store;
    },
    /** Closes the store after the test, whatever happens in it. */
    closeLater: <T extends Store>(store: T): T => {
      stores.push(store);
      return store;
    },
  };
}
