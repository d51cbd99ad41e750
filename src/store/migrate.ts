import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration as KyselyMigration } from 'kysely/migration';
import { MIGRATIONS, type Migration, type SqlDialect } from './migrations';
import { StoreError } from './rows';

/*
 * Applying the schema's migrations with Kysely's Migrator, on either database.
 *
 * Releases before the Migrator kept their own ledger, `schema_migrations(version, applied_at)`. A database they made
 * is recognised by it: the migrations it records are taken into the Migrator's ledger as done (their `up` does
 * nothing) rather than run again, so it upgrades in place. That ledger is kept up to date beside the Migrator's, for
 * those releases: one rolled back to refuses a newer database by name ("migrated to version 6 by a newer release")
 * instead of failing half-way through its own migrations.
 */

/** What the runner needs to know of the database it migrates. */
export interface MigrationTarget {
  dialect: SqlDialect;
  /** The database as messages name it (never with a password). */
  name: string;
  /** Where to point DATABASE_URL instead, in the message refusing a newer database. */
  elsewhere: string;
  /** The schema holding the tables (PostgreSQL), for the Migrator's ledger to live beside them. */
  schema?: string | undefined;
  /** Whether a table of that name exists where the store's tables live. */
  tableExists(db: Kysely<unknown>, table: string): Promise<boolean>;
  /** Runs a migration's SQL, which may hold several statements. */
  runScript(db: Kysely<unknown>, script: string): Promise<void>;
  /**
   * Called first in the migrations' transaction: makes a second opener wait until it ends (PostgreSQL: an advisory
   * lock, then the schema created; SQLite's BEGIN IMMEDIATE already holds the write lock).
   */
  lock(db: Kysely<unknown>): Promise<void>;
}

/** The Migrator's name for a migration: its number, zero-padded so that names sort as numbers do. */
export const migrationName = (version: number) => String(version).padStart(4, '0');

const LEGACY_LEDGER = 'schema_migrations';
const LEDGER = 'kysely_migration';

const LEGACY_LEDGER_DDL: Record<SqlDialect, string> = {
  sqlite: 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
  postgres:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)',
};

interface Ledgers {
  /** Versions the earlier releases' ledger records. */
  legacy: Set<number>;
  /** Versions the Migrator's ledger records. */
  executed: Set<number>;
}

/**
 * Applies the migrations the database lacks, in order, in one transaction, and returns the versions it applied.
 * Most opens find nothing to do: they look first, without the lock (so a read-only connection can open an
 * up-to-date database), and the answer is checked again under the lock before anything is applied.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  target: MigrationTarget,
  options: { migrations?: readonly Migration[]; now?: (() => Date) | undefined } = {},
): Promise<number[]> {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  if (pending(await readLedgers(db, target, migrations), migrations).length === 0) return [];

  return db.connection().execute(async (connection) => {
    // The SQLite connection begins every transaction IMMEDIATE (sqlite.ts), taking the write lock here.
    await sql`begin`.execute(connection);
    try {
      await target.lock(connection);
      const applied = await migrateLocked(connection, target, migrations, now);
      await sql`commit`.execute(connection);
      return applied;
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => undefined);
      throw error;
    }
  });
}

async function migrateLocked(
  db: Kysely<unknown>,
  target: MigrationTarget,
  migrations: readonly Migration[],
  now: () => Date,
): Promise<number[]> {
  const ledgers = await readLedgers(db, target, migrations);
  const toApply = pending(ledgers, migrations).filter((m) => !ledgers.legacy.has(m.version));
  const provider = {
    getMigrations: async () =>
      Object.fromEntries(
        migrations.map((m): [string, KyselyMigration] => [
          migrationName(m.version),
          {
            // Applied by an earlier release, which recorded it in its own ledger: taken over as done.
            up: ledgers.legacy.has(m.version)
              ? async () => undefined
              : (trx) => target.runScript(trx, m.sql[target.dialect]),
          },
        ]),
      ),
  };
  // The transaction is this runner's (it holds the lock); the Migrator must not open its own.
  const migrator = new Migrator({ db, provider, disableTransactions: true, migrationTableSchema: target.schema });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error');
    const migration = migrations.find((m) => failed && migrationName(m.version) === failed.migrationName);
    const { message } = error as { message?: unknown };
    const what = migration ? `migration ${migration.version} (${migration.description})` : 'the migrations';
    const detail = typeof message === 'string' ? message : JSON.stringify(error);
    throw new Error(`${what} failed: ${detail}`, { cause: error });
  }
  await target.runScript(db, LEGACY_LEDGER_DDL[target.dialect]);
  const stamp = now().toISOString();
  for (const migration of toApply) {
    await sql`INSERT INTO schema_migrations (version, applied_at) VALUES (${migration.version}, ${stamp})`.execute(db);
  }
  return toApply.map((m) => m.version);
}

function pending(ledgers: Ledgers, migrations: readonly Migration[]): Migration[] {
  return migrations.filter((m) => !ledgers.executed.has(m.version)).sort((a, b) => a.version - b.version);
}

/** Both ledgers; refuses a database that records a migration this release does not know (a newer one made it). */
async function readLedgers(db: Kysely<unknown>, target: MigrationTarget, migrations: readonly Migration[]) {
  const legacy = (await target.tableExists(db, LEGACY_LEDGER))
    ? (await sql<{ version: number }>`SELECT version FROM schema_migrations`.execute(db)).rows.map((r) =>
        Number(r.version),
      )
    : [];
  const ledger = target.schema ? sql.id(target.schema, LEDGER) : sql.id(LEDGER);
  const executed = (await target.tableExists(db, LEDGER))
    ? (await sql<{ name: string }>`SELECT name FROM ${ledger}`.execute(db)).rows.map((r) => Number(r.name))
    : [];
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...legacy, ...executed].filter((version) => !known.has(version));
  if (unknown.length > 0) {
    const newest = Math.max(...known, 0);
    throw new StoreError(
      'incompatible',
      `Build-request database ${target.name} was migrated to version ${Math.max(...unknown)} by a newer release of ` +
        `image-builder-bot; this release knows versions up to ${newest}. Run the newer release, or point ` +
        `DATABASE_URL at ${target.elsewhere}.`,
    );
  }
  return { legacy: new Set(legacy), executed: new Set(executed) };
}
